/**
 * `kumo edit KIND NAME`: opens the object in $EDITOR and sends only the diff as a merge patch, so
 * fields other writers changed meanwhile are kept. On failure the file is reopened with the error
 * on top (as kubectl does); saving it unchanged gives up.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { CliContext } from "../context.js";
import { formatError, UserError } from "../errors.js";
import { kindRef, splitKindName } from "../kinds.js";
import { createMergePatch } from "@kumo/api";
import { forDisplay } from "../print/objects.js";

const HEADER = [
  "# Please edit the object below. Lines beginning with a '#' will be ignored,",
  "# and an empty file will abort the edit. If an error occurs while saving this file will be",
  "# reopened with the relevant failures.",
  "#",
];

/** The editor command: KUMO_EDITOR, EDITOR, VISUAL, else vi. */
export function editorCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.KUMO_EDITOR || env.EDITOR || env.VISUAL || "vi";
}

/** Registers `edit`. */
export function register(program: Command): void {
  program
    .command("edit")
    .description("edit an object in $EDITOR; the diff is sent as a merge patch")
    .argument("<kind>", "kind (hosts, host, hst) or KIND/NAME")
    .argument("[name]", "object name")
    .option("--field-manager <name>", "field manager recorded for this write", "kumo-edit")
    .action(async (kindArg: string, nameArg: string | undefined, o: { fieldManager: string }, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const { kind, names } = splitKindName(kindArg, nameArg ? [nameArg] : []);
      if (names.length !== 1) throw new UserError(`edit needs exactly one name: kumo edit ${kind} NAME`);
      const r = await ctx.kinds.byName(kind);
      const ns = ctx.namespaceFor(r);
      const name = names[0];
      const original = forDisplay(await ctx.client.get(r, ns, name));
      const dir = mkdtempSync(join(tmpdir(), "kumo-edit-"));
      const file = join(dir, `${r.plural}-${name}.yaml`);
      let keep = false;
      try {
        let text = toYaml(original, { lineWidth: 0 });
        let errorLines: string[] = [];
        for (;;) {
          const presented = [...HEADER, ...errorLines, text].join("\n");
          writeFileSync(file, presented);
          runEditor(file);
          const saved = readFileSync(file, "utf8");
          if (errorLines.length && saved === presented) {
            keep = true;
            throw new UserError(
              `edit cancelled, no valid changes were saved (last error: ${errorLines.join(" ").replace(/^# error: /, "")}; ` +
                `your version is in ${file})`,
            );
          }
          text = stripComments(saved);
          if (text.trim() === "") {
            process.stdout.write("Edit cancelled, saved file was empty.\n");
            return;
          }
          let edited: unknown;
          try {
            edited = parseYaml(text);
          } catch (e) {
            errorLines = [`# error: the file is not valid YAML: ${(e as Error).message.split("\n")[0]}`, "#"];
            continue;
          }
          const patch = createMergePatch(original, edited);
          if (Object.keys(patch).length === 0) {
            process.stdout.write("Edit cancelled, no changes made.\n");
            return;
          }
          try {
            await ctx.client.patch(r, ns, name, "merge", patch, { fieldManager: o.fieldManager });
            process.stdout.write(`${kindRef(r)}/${name} edited\n`);
            return;
          } catch (e) {
            if ((e as Error).name === "ConnectionError") throw e;
            errorLines = [`# error: ${formatError(e)}`, "#"];
          }
        }
      } finally {
        if (!keep) rmSync(dir, { recursive: true, force: true });
      }
    });
}

/** Runs the editor on `file` attached to the terminal; the shell allows editors with arguments ("code --wait"). */
function runEditor(file: string): void {
  const editor = editorCommand();
  const res = spawnSync("/bin/sh", ["-c", `${editor} "$1"`, "sh", file], { stdio: "inherit" });
  if (res.error) throw new UserError(`cannot run the editor "${editor}": ${res.error.message}`);
  if (res.status !== 0) throw new UserError(`the editor "${editor}" exited with code ${res.status}; nothing was changed`);
}

/** Drops `#` comment lines (the header and error notes). */
function stripComments(text: string): string {
  return text
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .join("\n");
}
