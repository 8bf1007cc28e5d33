/**
 * `kumo doctor`: walks from symptoms to causes. For every host it compares what the kernel holds (read
 * live by the host's agent, /debug/dataplane) with what the API says peers need, and explains each gap
 * by walking back through the API: a peer Host without VTEP annotations (and who removed them, from the
 * write history), a NotReady host, an agent that has not synced, a port without a host binding.
 */
import { AGENT_PORT, type Host, HostKind, NetworkKind, type Port, PortKind, VTEP_IP_ANNOTATION, findCondition } from "@kumo/api";
import type { KumoClient } from "@kumo/client";

/** One problem: a chain from what the user sees to why, and the command that shows the evidence. */
export interface Finding {
  severity: "error" | "warning";
  chain: string[];
  command: string;
}

/** What the agent reports from the kernel (subset of HostNetworkState). */
export interface ObservedDataplane {
  networks: {
    name: string;
    vni: number;
    bridge: string;
    vxlan: string;
    floodPeers: string[];
    fdb: { mac: string; dst: string }[];
    neighbours: { ip: string; mac: string }[];
  }[];
}

/** How doctor reaches agents and probes (injected so tests and remote use can differ). */
export interface DoctorIO {
  /** GET the agent's /debug/dataplane; throws when unreachable. */
  readDataplane(host: Host): Promise<ObservedDataplane>;
  /** Pings `ip` from a probe port's namespace if that namespace is on this machine; undefined when not local. */
  probePing?(netns: string, ip: string): Promise<boolean | undefined>;
}

const SYNC_STALE_MS = 30_000;

function underlayOf(h: Host): string | undefined {
  return h.spec?.underlayIP ?? h.status?.addresses?.find((a) => a.type === "Underlay")?.address;
}

/** Explains why a peer's entries are missing, newest evidence first. */
async function causeForPeer(client: KumoClient, peer: Host): Promise<{ chain: string[]; command: string }> {
  const name = peer.metadata.name!;
  const ready = findCondition(peer.status?.conditions, "Ready");
  if (!peer.metadata.annotations?.[VTEP_IP_ANNOTATION]) {
    const hist = await client.history(HostKind, undefined, name).catch(() => undefined);
    const path = `metadata.annotations[${VTEP_IP_ANNOTATION}]`;
    const removal = [...(hist?.items ?? [])].reverse().find((w) => w.changes.some((c) => c.path === path && c.op === "remove"));
    const chain = [`Host ${name} has no ${VTEP_IP_ANNOTATION} annotation`];
    if (removal)
      chain.push(
        `removed at ${removal.time} by manager "${removal.manager}" ` +
          `(user ${removal.user}${removal.force ? ", with force=true over kumo-agent's ownership" : ""})`,
      );
    return { chain, command: `kumo history host/${name} --field '${path}'` };
  }
  if (ready?.status === "False")
    return {
      chain: [`Host ${name} is NotReady since ${ready.lastTransitionTime} (${ready.message})`],
      command: `kumo describe host ${name}`,
    };
  return { chain: [], command: "" };
}

/** Runs every check; findings are ordered errors first. */
export async function runDoctor(client: KumoClient, io: DoctorIO): Promise<Finding[]> {
  const [hosts, networks, ports] = await Promise.all([
    client.listAll(HostKind).then((l) => l.items),
    client.listAll(NetworkKind).then((l) => l.items),
    client.listAll(PortKind).then((l) => l.items),
  ]);
  const findings: Finding[] = [];
  const hostByName = new Map(hosts.map((h) => [h.metadata.name!, h]));
  const now = Date.now();

  for (const h of hosts) {
    const st = h.status ?? {};
    const ready = findCondition(st.conditions, "Ready");
    if (ready?.status === "False")
      findings.push({
        severity: "error",
        chain: [`host ${h.metadata.name} is NotReady since ${ready.lastTransitionTime}`, ready.message ?? ""],
        command: `kumo describe host ${h.metadata.name}`,
      });
    const last = st.dataplane?.lastSyncTime;
    if (ready?.status === "True" && last && now - Date.parse(last) > SYNC_STALE_MS)
      findings.push({
        severity: "warning",
        chain: [`agent on host ${h.metadata.name} has not synced its dataplane since ${last}`],
        command: `curl http://${underlayOf(h)}:${AGENT_PORT}/debug/state`,
      });
    for (const p of st.dataplane?.problems ?? [])
      findings.push({
        severity: "warning",
        chain: [`agent on host ${h.metadata.name} reports: ${p.message}`],
        command: `curl http://${underlayOf(h)}:${AGENT_PORT}/debug/state`,
      });
  }
  for (const p of ports) {
    if (!p.spec?.hostBinding && p.spec?.deviceOwner !== "network:dhcp")
      findings.push({
        severity: "warning",
        chain: [`port ${p.metadata.namespace}/${p.metadata.name} has no host binding: no host programs it, peers have no entries for it`],
        command: `kumo describe port ${p.metadata.name} -n ${p.metadata.namespace}`,
      });
  }

  for (const h of hosts) {
    const self = h.metadata.name!;
    if (findCondition(h.status?.conditions, "Ready")?.status === "False") continue; // already explained
    let observed: ObservedDataplane;
    try {
      observed = await io.readDataplane(h);
    } catch (e) {
      findings.push({
        severity: "error",
        chain: [`cannot read the dataplane of host ${self} from its agent`, (e as Error).message],
        command: `curl http://${underlayOf(h)}:${AGENT_PORT}/debug/dataplane`,
      });
      continue;
    }
    for (const net of networks) {
      const ns = net.metadata.namespace!;
      const netPorts = ports.filter(
        (p) => p.metadata.namespace === ns && p.spec?.network === net.metadata.name && !p.metadata.deletionTimestamp,
      );
      const local = netPorts.filter((p) => p.spec!.hostBinding === self && p.spec!.deviceOwner !== "network:dhcp");
      if (!local.length || !net.spec?.vni) continue;
      const obs = observed.networks.find((n) => n.vni === net.spec!.vni);
      const label = `${ns}/${net.metadata.name}`;
      if (!obs) {
        findings.push({
          severity: "error",
          chain: [
            `host ${self} has ports on network ${label} but no bridge/VXLAN for VNI ${net.spec.vni}`,
            "its agent has not programmed the network",
          ],
          command: `ip -n ${self} -d link show type vxlan`,
        });
        continue;
      }
      const byPeer = new Map<string, { missing: string[]; ports: Port[] }>();
      for (const p of netPorts) {
        const peerName = p.spec!.hostBinding;
        if (!peerName || peerName === self) continue;
        const peer = hostByName.get(peerName);
        const vtep = peer?.metadata.annotations?.[VTEP_IP_ANNOTATION] ?? (peer ? underlayOf(peer) : undefined);
        if (!peer || !vtep) continue;
        const mac = p.spec!.macAddress!;
        const ip = p.spec!.fixedIPs?.[0]?.ipAddress;
        const missing: string[] = [];
        if (!obs.floodPeers.includes(vtep)) missing.push(`flood → ${vtep}`);
        if (!obs.fdb.some((f) => f.mac === mac && f.dst === vtep)) missing.push(`fdb ${mac} → ${vtep}`);
        if (ip && !obs.neighbours.some((n) => n.ip === ip && n.mac === mac)) missing.push(`neigh ${ip} → ${mac}`);
        if (!missing.length) continue;
        const e = byPeer.get(peerName) ?? { missing: [], ports: [] };
        e.missing.push(...missing.filter((m) => !e.missing.includes(m)));
        e.ports.push(p);
        byPeer.set(peerName, e);
      }
      for (const [peerName, gap] of byPeer) {
        const symptom: string[] = [];
        if (io.probePing) {
          for (const lp of local.filter((x) => x.status?.device && x.spec!.plugged)) {
            // Prefer a plugged probe as the target: it answers pings; a DHCP port's dnsmasq address does too, but says less.
            const target = [...gap.ports].sort((a, b) => rank(a) - rank(b)).find((x) => x.spec!.fixedIPs?.length);
            if (!target) continue;
            const ok = await io.probePing(lp.status!.device!, target.spec!.fixedIPs![0].ipAddress);
            if (ok === false)
              symptom.push(
                `ping ${lp.metadata.name} (${self}) → ${target.metadata.name} ${target.spec!.fixedIPs![0].ipAddress} (${peerName}) fails`,
              );
            break;
          }
        }
        const cause = await causeForPeer(client, hostByName.get(peerName)!);
        const missing = gap.missing.slice(0, 3).join(", ") + (gap.missing.length > 3 ? ` (+${gap.missing.length - 3} more)` : "");
        const gapLine = `host ${self}'s overlay tables lack host ${peerName} on network ${label}: ${missing}`;
        const chain = [
          ...symptom,
          gapLine,
          ...(cause.chain.length
            ? cause.chain
            : ["the API has everything this host needs: drift in the kernel; the agent restores it at its next resync"]),
        ];
        findings.push({ severity: "error", chain, command: cause.command || `bridge -n ${self} fdb show dev ${obs.vxlan}` });
      }
    }
  }
  return findings.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
}

function rank(p: Port): number {
  if (p.spec!.plugged && p.status?.phase === "Active") return 0;
  return p.spec!.deviceOwner === "network:dhcp" ? 2 : 1;
}

/** One line per finding: symptom → … → cause   [command]. */
export function formatFindings(findings: Finding[]): string {
  if (!findings.length) return "✓ no problems found: every host's kernel holds what the API says it should\n";
  return (
    findings.map((f) => `${f.severity === "error" ? "✗" : "!"} ${f.chain.filter(Boolean).join(" → ")}\n    see: ${f.command}`).join("\n") +
    "\n"
  );
}
