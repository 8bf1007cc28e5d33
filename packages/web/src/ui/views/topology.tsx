/**
 * Topology: hosts (with their instances and ports), networks as bars, each endpoint wired to its
 * networks, and per network the VXLAN tunnels between the hosts that carry it, arcs above the hosts.
 * Broken hosts and tunnels are drawn dashed red, and listed in text below the picture with the reason.
 */
import type { KObject } from "@kumo/api";
import { findKind, type KindModel } from "../../lib/kinds.js";
import { buildTopology, type TopoEndpoint } from "../../lib/topology.js";
import { ErrorBox, Loading } from "../components/error-box.js";
import { usePoll } from "../hooks.js";
import { useSession } from "../session.js";

const COL_W = 200;
const EP_H = 36;
const NET_COLORS = ["#2563eb", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777"];

/** The Topology view (polled every 3 s: four watches would use up the browser's connections). */
export function Topology() {
  const { client, kinds } = useSession();
  const models = (
    ["infra.kumo.dev/hosts", "network.kumo.dev/networks", "network.kumo.dev/ports", "compute.kumo.dev/instances"] as const
  ).map((gp) => {
    const [group, plural] = gp.split("/");
    return findKind(kinds, { group, plural });
  });
  const data = usePoll(
    async (signal) => {
      const load = (m: KindModel | undefined) =>
        m ? client.listAll(m, undefined, { signal }).then((l) => l.items) : Promise.resolve([] as KObject[]);
      const [h, n, p, i] = await Promise.all(models.map(load));
      return buildTopology(h, n, p, i);
    },
    [client, kinds],
    3000,
  );
  const t = data.data;
  return (
    <>
      <h1 tabIndex={-1}>Topology</h1>
      {!models[3] && <p className="muted">compute.kumo.dev is not served: instances are not shown.</p>}
      <ErrorBox error={data.error} onRetry={data.reload} />
      {!t && data.loading && <Loading what="the topology" />}
      {t && <Picture t={t} />}
      {t && <BrokenList t={t} />}
    </>
  );
}

type Topo = ReturnType<typeof buildTopology>;

function Picture({ t }: { t: Topo }) {
  const columns: { name: string; host?: Topo["hosts"][number]; eps: TopoEndpoint[] }[] = t.hosts.map((h) => ({
    name: h.name,
    host: h,
    eps: t.endpoints.filter((e) => e.host === h.name),
  }));
  const unplaced = t.endpoints.filter((e) => !e.host || !t.hosts.some((h) => h.name === e.host));
  if (unplaced.length) columns.push({ name: "not scheduled", eps: unplaced });
  if (!columns.length && !t.networks.length) return <p className="muted">Nothing to draw yet: no hosts, networks or instances.</p>;
  const arcRoom = 20 + 14 * Math.min(t.networks.length, 6);
  const top = arcRoom + 10;
  const hostH = 44 + EP_H * Math.max(1, ...columns.map((c) => c.eps.length));
  const netTop = top + hostH + 40;
  const width = Math.max(600, 20 + columns.length * (COL_W + 20));
  const height = netTop + t.networks.length * 34 + 20;
  const colX = (i: number) => 20 + i * (COL_W + 20);
  const netIndex = new Map(t.networks.map((n, i) => [n.key, i]));
  const netY = (key: string) => netTop + (netIndex.get(key) ?? 0) * 34 + 12;
  const hostCenter = (name: string) => colX(columns.findIndex((c) => c.name === name)) + COL_W / 2;
  return (
    <div className="topology-scroll">
      <svg
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={
          `Topology: ${t.hosts.length} hosts, ${t.networks.length} networks, ${t.endpoints.length} instances and ports, ` +
          `${t.tunnels.filter((x) => x.broken).length} broken tunnels`
        }
      >
        {t.tunnels.map((tu) => {
          const i = netIndex.get(tu.network) ?? 0;
          const xa = hostCenter(tu.a) + (i % 4) * 6;
          const xb = hostCenter(tu.b) + (i % 4) * 6;
          const lift = 16 + 14 * (i % 6);
          return (
            <path
              key={`${tu.network}|${tu.a}|${tu.b}`}
              d={`M ${xa} ${top} C ${xa} ${top - lift}, ${xb} ${top - lift}, ${xb} ${top}`}
              fill="none"
              stroke={tu.broken ? "#dc2626" : NET_COLORS[i % NET_COLORS.length]}
              strokeWidth={2}
              strokeDasharray={tu.broken ? "6 4" : undefined}
              className={tu.broken ? "tunnel broken" : "tunnel"}
            >
              <title>{`tunnel ${tu.network}: ${tu.a} ⇄ ${tu.b}${tu.broken ? ` BROKEN: ${tu.reason}` : ""}`}</title>
            </path>
          );
        })}
        {columns.map((c, ci) => {
          const x = colX(ci);
          const broken = !!c.host?.problems.length;
          return (
            <g key={c.name} className={broken ? "host broken" : "host"}>
              <rect
                x={x}
                y={top}
                width={COL_W}
                height={hostH}
                rx={6}
                className={c.host ? (broken ? "host-box broken" : "host-box") : "host-box unplaced"}
              />
              <text x={x + 8} y={top + 16} className="host-name">
                {broken ? "⚠ " : ""}
                {c.name}
              </text>
              <text x={x + 8} y={top + 30} className="tick">
                {c.host ? (c.host.vtep ? `VTEP ${c.host.vtep}` : "no VTEP") : "pending placement"}
              </text>
              {broken && <title>{c.host!.problems.join("; ")}</title>}
              {c.eps.map((e, ei) => {
                const ey = top + 40 + ei * EP_H;
                const title = `${e.type} ${e.name}: ${e.phase}${e.ip ? `, ${e.ip}` : ""}, networks ${e.networks.join(", ") || "none"}`;
                return (
                  <g key={e.key}>
                    {e.networks.map((n, ni) => (
                      <line
                        key={n}
                        x1={x + 14 + ni * 5}
                        y1={ey + 10}
                        x2={x + 14 + ni * 5}
                        y2={netY(n)}
                        stroke={NET_COLORS[(netIndex.get(n) ?? 0) % NET_COLORS.length]}
                        strokeOpacity={0.55}
                      />
                    ))}
                    <rect x={x + 6} y={ey} width={COL_W - 12} height={EP_H - 4} rx={4} className={`ep ep-${e.type}`} />
                    <text x={x + 24} y={ey + 13} className="ep-label">
                      {e.type === "instance" ? "▣" : "◦"} {clip(e.name, 24)}
                    </text>
                    <text x={x + 24} y={ey + 26} className="tick">
                      {e.type} · {e.ip ?? "no IP"} · {e.phase}
                    </text>
                    <title>{title}</title>
                  </g>
                );
              })}
            </g>
          );
        })}
        {t.networks.map((n, i) => (
          <g key={n.key}>
            <rect x={10} y={netY(n.key) - 4} width={width - 20} height={8} rx={4} fill={NET_COLORS[i % NET_COLORS.length]} opacity={0.8} />
            <text x={14} y={netY(n.key) + 18} className="tick">
              {n.key} · VNI {n.vni ?? "?"} · {n.hosts.length} host(s)
            </text>
          </g>
        ))}
      </svg>
    </div>
  );
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function BrokenList({ t }: { t: Topo }) {
  const brokenHosts = t.hosts.filter((h) => h.problems.length);
  const brokenTunnels = t.tunnels.filter((x) => x.broken);
  return (
    <section aria-labelledby="broken-h">
      <h2 id="broken-h">What is broken</h2>
      {!brokenHosts.length && !brokenTunnels.length && (
        <p className="muted">Nothing: every host publishes a VTEP, is Ready, and reports no dataplane problem.</p>
      )}
      <ul className="broken-list">
        {brokenHosts.map((h) => (
          <li key={h.name} data-broken-host={h.name}>
            Host <strong>{h.name}</strong>: {h.problems.join("; ")}
          </li>
        ))}
        {brokenTunnels.map((x) => (
          <li key={`${x.network}|${x.a}|${x.b}`}>
            Tunnel {x.network} {x.a} ⇄ {x.b}: {x.reason}
          </li>
        ))}
      </ul>
    </section>
  );
}
