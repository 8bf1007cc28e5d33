/** `kumo version`: the CLI's version and, when reachable, the server's. */
import type { Command } from "commander";
import { CliContext, CLI_VERSION } from "../context.js";
import { formatError } from "../errors.js";

/** Registers `version`. */
export function register(program: Command): void {
  program
    .command("version")
    .description("print the CLI and server versions")
    .option("--client", "only the CLI version (no request)")
    .action(async (o: { client?: boolean }, cmd: Command) => {
      process.stdout.write(`Client Version: v${CLI_VERSION}\n`);
      if (o.client) return;
      const ctx = CliContext.from(cmd);
      try {
        const v = await ctx.client.requestJson<{ gitVersion?: string }>("GET", "/version");
        process.stdout.write(`Server Version: ${v.gitVersion ?? "unknown"} (${ctx.connection.server})\n`);
      } catch (e) {
        process.stdout.write(`Server Version: unavailable (${formatError(e)})\n`);
      }
    });
}
