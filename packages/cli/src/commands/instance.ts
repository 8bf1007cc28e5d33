/**
 * `kumo instance create|list|describe|stop|start|reboot|delete`: containers and VMs. describe shows the
 * create flow as a timeline (each step, when, how long since the step before, and where it stopped).
 */
import type { Command } from "commander";
import { EventKind, type Instance, InstanceKind, type InstanceSpec, REBOOT_ANNOTATION, isNotFound, stepTimeline } from "@kumo/api";
import { sleep } from "@kumo/client";
import { CliContext } from "../context.js";
import { UserError } from "../errors.js";
import { alignColumns } from "../print/columns.js";
import type { EventLike } from "../print/describe.js";
import { age, formatDuration } from "../print/durations.js";
import { formatTable } from "../print/table.js";

interface CreateOptions {
  image: string;
  network: string[];
  kind: string;
  cpu?: string;
  memory?: string;
  flavor?: string;
  restart?: string;
  env: string[];
  stopped?: boolean;
  wait?: boolean;
  timeout: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];
const ms = (iso?: string) => (iso ? iso.replace("T", " ") : "");

/** Registers `instance` (alias `inst`) and its verbs. */
export function register(program: Command): void {
  const inst = program
    .command("instance")
    .alias("inst")
    .description("containers and VMs: create, list, describe, stop, start, reboot, delete");
  inst
    .command("create")
    .description("create a container (default) or a VM; words after -- are the container's command")
    .argument("<name>", "instance name")
    .argument("[command...]", "container command and arguments (after --)")
    .requiredOption("--image <image>", "image name (kumo image upload ...)")
    .option("--network <network>", "network to attach (repeatable; a port is created per network)", collect, [])
    .option("--kind <kind>", "container | vm", "container")
    .option("--cpu <millicores>", "cpu in millicores (1000 = one core)")
    .option("--memory <MiB>", "memory in MiB")
    .option("--flavor <flavor>", "a Flavor instead of --cpu/--memory")
    .option("--restart <policy>", "Always | OnFailure | Never")
    .option("--env <K=V>", "environment variable for the container (repeatable)", collect, [])
    .option("--stopped", "create it without starting it")
    .option("--wait", "wait until it is Running (or Failed) and print the timeline")
    .option("--timeout <seconds>", "how long --wait waits", "120")
    .action(async (name: string, command: string[], o: CreateOptions, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const spec = createSpec(o, command);
      const obj: Instance = { apiVersion: "compute.kumo.dev/v1", kind: "Instance", metadata: { name, namespace: ctx.namespace }, spec };
      await ctx.client.create(InstanceKind, obj, { fieldManager: "kumo-cli" });
      process.stdout.write(`instance/${name} created\n`);
      if (o.wait) await waitFor(ctx, name, Number(o.timeout) * 1000);
    });
  inst
    .command("list")
    .alias("ls")
    .description("list instances")
    .option("-A, --all-namespaces", "across all projects")
    .option("-o, --output <format>", "wide for more columns")
    .action(async (o: { allNamespaces?: boolean; output?: string }, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const ns = o.allNamespaces ? undefined : ctx.namespace;
      const t = await ctx.client.table(InstanceKind, ns, { includeObject: true });
      if (!t.rows.length) return void process.stderr.write(ns ? `No instances in ${ns}.\n` : "No instances.\n");
      process.stdout.write(formatTable(t, { wide: o.output === "wide", withNamespace: !ns }).join("\n") + "\n");
    });
  inst
    .command("describe")
    .description("one instance: placement, addresses and the create-flow timeline")
    .argument("<name>")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const obj = await ctx.client.get(InstanceKind, ctx.namespace, name);
      const events = await ctx.client
        .list<EventLike>(EventKind, obj.metadata.namespace, { fieldSelector: `involvedObject.uid=${obj.metadata.uid}` })
        .then(
          (l) => l.items,
          () => [],
        );
      process.stdout.write(instanceDescribeLines(obj, events).join("\n") + "\n");
    });
  inst
    .command("stop")
    .description("stop it (spec.running=false); the host keeps its place and address")
    .argument("<name>")
    .action((name: string, _o: unknown, cmd: Command) => setRunning(CliContext.from(cmd), name, false));
  inst
    .command("start")
    .description("start a stopped instance, or restart a Failed one")
    .argument("<name>")
    .action((name: string, _o: unknown, cmd: Command) => setRunning(CliContext.from(cmd), name, true));
  inst
    .command("reboot")
    .description("restart the container or VM in place")
    .argument("<name>")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      await ctx.client.patch(
        InstanceKind,
        ctx.namespace,
        name,
        "merge",
        { metadata: { annotations: { [REBOOT_ANNOTATION]: new Date().toISOString() } } },
        { fieldManager: "kumo-cli" },
      );
      process.stdout.write(`instance/${name} reboot requested\n`);
    });
  inst
    .command("delete")
    .alias("rm")
    .description("delete it (the host releases it, then its ports and addresses are freed)")
    .argument("<name>")
    .option("--wait", "wait until it is gone")
    .option("--timeout <seconds>", "how long --wait waits", "60")
    .action(async (name: string, o: { wait?: boolean; timeout: string }, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      await ctx.client.delete(InstanceKind, ctx.namespace, name);
      process.stdout.write(
        `instance/${name} deleted${o.wait ? "" : " (the host removes it; kumo instance list shows Terminating until done)"}\n`,
      );
      if (!o.wait) return;
      const deadline = Date.now() + Number(o.timeout) * 1000;
      for (;;) {
        try {
          await ctx.client.get(InstanceKind, ctx.namespace, name);
        } catch (e) {
          if (isNotFound(e)) return;
          throw e;
        }
        if (Date.now() > deadline)
          throw new UserError(`instance/${name} still exists after ${o.timeout}s: kumo instance describe ${name} says why`);
        await sleep(200);
      }
    });
}

/** The spec `create` sends. */
export function createSpec(o: CreateOptions, command: string[]): InstanceSpec {
  if (o.kind !== "container" && o.kind !== "vm") throw new UserError(`--kind must be container or vm, not "${o.kind}"`);
  if (o.kind === "vm" && command.length) throw new UserError("a VM runs its image's init: no command after -- (that is for containers)");
  const int = (v: string | undefined, flag: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new UserError(`${flag} must be a positive whole number, not "${v}"`);
    return n;
  };
  const env: Record<string, string> = {};
  for (const e of o.env) {
    const i = e.indexOf("=");
    if (i <= 0) throw new UserError(`--env takes K=V, not "${e}"`);
    env[e.slice(0, i)] = e.slice(i + 1);
  }
  if (o.restart && !["Always", "OnFailure", "Never"].includes(o.restart))
    throw new UserError(`--restart must be Always, OnFailure or Never, not "${o.restart}"`);
  const spec: InstanceSpec = {
    kind: o.kind,
    image: o.image,
    networks: o.network.map((network) => ({ network })),
    cpu: int(o.cpu, "--cpu"),
    memoryMiB: int(o.memory, "--memory"),
    flavor: o.flavor,
    command: command.length ? command : undefined,
    env: Object.keys(env).length ? env : undefined,
    running: !o.stopped,
    restartPolicy: o.restart as InstanceSpec["restartPolicy"],
  };
  for (const k of Object.keys(spec) as (keyof InstanceSpec)[]) if (spec[k] === undefined) delete spec[k];
  return spec;
}

async function setRunning(ctx: CliContext, name: string, running: boolean): Promise<void> {
  // start also asks for a reboot: it revives a Failed instance (dead, not restarted by its policy),
  // and is a no-op for a stopped one (its next run starts after the request).
  const reboot = running ? { metadata: { annotations: { [REBOOT_ANNOTATION]: new Date().toISOString() } } } : {};
  await ctx.client.patch(InstanceKind, ctx.namespace, name, "merge", { spec: { running }, ...reboot }, { fieldManager: "kumo-cli" });
  process.stdout.write(`instance/${name} ${running ? "start" : "stop"} requested\n`);
}

// Polls until Running/Failed (or the timeout), then prints the timeline.
async function waitFor(ctx: CliContext, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let obj: Instance;
  for (;;) {
    obj = await ctx.client.get(InstanceKind, ctx.namespace, name);
    const phase = obj.status?.phase;
    if (phase === "Running" || phase === "Failed" || Date.now() > deadline) break;
    await sleep(100);
  }
  process.stdout.write(timelineLines(obj).join("\n") + "\n");
  if (obj.status?.phase !== "Running")
    throw new UserError(`instance/${name} is ${obj.status?.phase ?? "Pending"}${obj.status?.message ? `: ${obj.status.message}` : ""}`);
}

/** The create-flow table: step, status, time, +since previous, reason, message; then where it stopped and the total. */
export function timelineLines(obj: Instance): string[] {
  const steps = stepTimeline(obj);
  const rows = [["STEP", "STATUS", "AT", "+SINCE PREV", "REASON", "MESSAGE"]];
  for (const s of steps)
    rows.push([
      s.step,
      s.status,
      ms(s.at),
      s.sincePreviousMs === undefined ? "" : `+${formatDuration(s.sincePreviousMs)}`,
      s.reason ?? "",
      (s.message ?? "").replace(/\s+/g, " "),
    ]);
  const out = alignColumns(rows).map((l) => `  ${l}`);
  const stuck = steps.find((s) => s.status !== "True");
  if (stuck) {
    const detail = stuck.message ? `: ${stuck.message}` : stuck.status === "Pending" ? ": not reached yet" : "";
    out.push(`  stopped at ${stuck.step}${stuck.reason ? ` (${stuck.reason})` : ""}${detail}`);
  }
  const running = steps.find((s) => s.step === "Running" && s.status === "True");
  // After a stop, reboot or restart this is the current run's Running, not the first one.
  if (running?.at && obj.metadata.creationTimestamp) {
    const after = formatDuration(Date.parse(running.at) - Date.parse(obj.metadata.creationTimestamp));
    const restarts = (obj.status?.restarts ?? 0) > 0 ? ` (${obj.status!.restarts} restarts)` : "";
    out.push(`  Running since ${ms(running.at)}: ${after} after creation${restarts}`);
  }
  return out;
}

/** `instance describe` output. */
export function instanceDescribeLines(obj: Instance, events: EventLike[], now = Date.now()): string[] {
  const s = obj.spec!;
  const st = obj.status ?? {};
  const kv: [string, string][] = [
    ["Name:", obj.metadata.name!],
    ["Namespace:", obj.metadata.namespace ?? ""],
    [
      "Kind:",
      `${s.kind}, image ${s.image}${s.flavor ? `, flavor ${s.flavor}` : ""}${s.cpu ? `, cpu ${s.cpu}m` : ""}` +
        (s.memoryMiB ? `, memory ${s.memoryMiB}Mi` : ""),
    ],
    ["Created:", `${ms(obj.metadata.creationTimestamp)} (${age(obj.metadata.creationTimestamp, now)} ago)`],
    ["Host:", st.host ?? "<not scheduled>"],
    ["Phase:", `${st.phase ?? "Pending"}${s.running === false ? " (spec.running=false)" : ""}`],
    ["Addresses:", st.addresses?.map((a) => `${a.network} ${a.ip}${a.mac ? ` (${a.mac})` : ""}`).join(", ") || "<none>"],
  ];
  if (s.kind === "vm") kv.push(["Acceleration:", st.acceleration ?? "<unknown>"]);
  if (s.command || s.args) kv.push(["Command:", [...(s.command ?? []), ...(s.args ?? [])].join(" ")]);
  kv.push(["Restarts:", `${st.restarts ?? 0} (policy ${s.restartPolicy ?? "Never"})`]);
  if (st.message) kv.push(["Message:", st.message]);
  if (obj.metadata.deletionTimestamp) kv.push(["Deleting:", `since ${ms(obj.metadata.deletionTimestamp)}`]);
  const out = alignColumns(
    kv.map(([k, v]) => [k, v]),
    1,
  );
  out.push("", "Timeline:", ...timelineLines(obj), "", "Events:");
  const recent = [...events].sort((a, b) => (a.lastTimestamp ?? "").localeCompare(b.lastTimestamp ?? "")).slice(-15);
  if (!recent.length) out.push("  <none>");
  else
    out.push(
      ...alignColumns(
        recent.map((e) => [
          age(e.lastTimestamp ?? undefined, now),
          e.type ?? "",
          e.reason ?? "",
          e.source?.host ?? e.source?.component ?? "",
          (e.message ?? "").replace(/\s+/g, " "),
        ]),
      ).map((l) => `  ${l}`),
    );
  return out;
}
