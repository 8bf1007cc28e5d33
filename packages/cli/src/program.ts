/** The `kumo` command tree: global flags, one file per verb under commands/, and error mapping. */
import { Command, CommanderError } from "commander";
import { AlreadyReported, formatError } from "./errors.js";
import { CLI_VERSION } from "./context.js";
import * as apply from "./commands/apply.js";
import * as create from "./commands/create.js";
import * as del from "./commands/delete.js";
import * as describe from "./commands/describe.js";
import * as down from "./commands/down.js";
import * as edit from "./commands/edit.js";
import * as get from "./commands/get.js";
import * as history from "./commands/history.js";
import * as host from "./commands/host.js";
import * as network from "./commands/network.js";
import * as port from "./commands/port.js";
import * as doctor from "./commands/doctor.js";
import * as instance from "./commands/instance.js";
import * as image from "./commands/image.js";
import * as logs from "./commands/logs.js";
import * as exec from "./commands/exec.js";
import * as patch from "./commands/patch.js";
import * as server from "./commands/server.js";
import * as up from "./commands/up.js";
import * as version from "./commands/version.js";
import * as watch from "./commands/watch.js";

/** Builds the program. Output goes through `io` so tests can capture it. */
export function buildProgram(): Command {
  const program = new Command("kumo")
    .description("kumo: a private cloud (VMs, containers, networks, load balancers) behind one Kubernetes-style API")
    .option("--kubeconfig <file>", "kumo config to use (default: $KUMO_CONFIG, else ~/.kumo/config)")
    .option("-n, --namespace <project>", "project (namespace) to work in")
    .option("--server <url>", "API server URL (overrides the config)")
    .option("--token <token>", "bearer token (overrides the config)")
    .option("--insecure-skip-tls-verify", "do not verify the server certificate (unsafe)")
    .version(CLI_VERSION, "--version", "print the CLI version")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: () => undefined });
  for (const cmd of [
    get,
    describe,
    create,
    apply,
    del,
    patch,
    edit,
    watch,
    history,
    host,
    network,
    port,
    instance,
    image,
    logs,
    exec,
    doctor,
    server,
    up,
    down,
    version,
  ])
    cmd.register(program);
  return program;
}

/** Runs the CLI on `argv` (without node and script); resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (["commander.helpDisplayed", "commander.help", "commander.version"].includes(e.code)) return 0;
      // `kumo` alone prints help (to stderr) like kubectl; that is not an error worth a second line.
      if (e.code === "commander.executeSubCommandAsync") return e.exitCode;
      process.stderr.write(`error: ${commanderMessage(e, argv, program)}\n`);
      return 1;
    }
    if (e instanceof AlreadyReported) return e.exitCode;
    process.stderr.write(`error: ${formatError(e)}\n`);
    if (process.env.KUMO_DEBUG && e instanceof Error && !("code" in e)) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

/** Rewrites commander's messages into kumo's one-line style with a pointer to the right help. */
export function commanderMessage(e: CommanderError, argv: string[], program: Command): string {
  const names = new Set(program.commands.flatMap((c) => [c.name(), ...c.aliases()]));
  const verb = argv.find((a) => names.has(a));
  const help = verb ? `kumo ${verb} --help` : "kumo --help";
  const msg = e.message.replace(/^error: /, "");
  const unknownOpt = msg.match(/^unknown option '([^']+)'(.*)$/s);
  if (unknownOpt) return `unknown flag ${unknownOpt[1]}${unknownOpt[2].replace(/\n/g, " ").trimEnd()} (see "${help}")`;
  const unknownCmd = msg.match(/^unknown command '([^']+)'(.*)$/s);
  if (unknownCmd) return `unknown command "${unknownCmd[1]}"${unknownCmd[2].replace(/\n/g, " ").trimEnd()} (see "kumo --help")`;
  return `${msg.replace(/\n/g, " ").trim()} (see "${help}")`;
}
