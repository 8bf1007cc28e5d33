/**
 * `GET .../instances/NAME/log[?tailBytes=N][&follow=true]`: a container's stdout/stderr or a VM's serial
 * console. The bytes live on the instance's host, so the server reads them from that host's agent, showing
 * the agent its own proxy token (the agent serves logs to nobody else). Who may read them is decided here,
 * by RBAC on "instances/log" in the project, as Kubernetes does for pods/log through the kubelet. With
 * follow=true the agent's chunked answer is passed on as it comes (never buffered whole) until the caller
 * disconnects, which closes the agent connection too, or the agent ends it (the instance went away).
 */
import type { Context } from "hono";
import { AGENT_PORT, ApiError, badRequest, HostKind, InstanceKind, serviceUnavailable } from "@kumo/api";
import type { ApiDeps } from "./deps.js";
import type { RequestInfo } from "./request-info.js";

/** Default and largest tail (a console log is capped on the host anyway). */
const DEFAULT_TAIL_BYTES = 1 << 20;
const MAX_TAIL_BYTES = 16 << 20;
const AGENT_TIMEOUT_MS = 5_000;
const FOLLOW_HEADERS = { "content-type": "text/plain; charset=utf-8", "cache-control": "no-cache", "x-content-type-options": "nosniff" };

export async function instanceLog(c: Context, d: ApiDeps, info: RequestInfo): Promise<Response> {
  const tail = tailBytes(c.req.query("tailBytes"));
  const follow = followFlag(c.req.query("follow"));
  const inst = await d.store.get(InstanceKind, info.namespace, info.name!);
  const what = `instance "${info.name}" in project "${info.namespace}"`;
  const hostName = inst.status?.host;
  if (!hostName) throw badRequest(`${what} is not on a host yet (phase ${inst.status?.phase ?? "Pending"}): it has no log`);
  const host = await d.store.get(HostKind, undefined, hostName).catch(() => undefined);
  const ip = host?.spec?.underlayIP ?? host?.status?.addresses?.[0]?.address;
  if (!ip) throw unavailable(d, `host "${hostName}" of ${what} has no underlay address, so its agent cannot be asked for the log`);
  if (!d.agentProxyToken) throw unavailable(d, "this server has no agent proxy token (see agent-proxy.token in its data dir)");

  const url =
    `http://${ip}:${AGENT_PORT}/debug/instances/${encodeURIComponent(info.namespace!)}/${encodeURIComponent(info.name!)}/logs?tailBytes=${tail}` +
    (follow ? "&follow=true" : "");
  // A follow may stream for hours: there the timeout covers the agent's headers only.
  const upstream = new AbortController();
  const timer = setTimeout(() => upstream.abort(new DOMException("agent timeout", "TimeoutError")), AGENT_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${d.agentProxyToken}` }, signal: upstream.signal });
  } catch (e) {
    clearTimeout(timer);
    const why =
      (e as Error).name === "TimeoutError"
        ? `no answer within ${AGENT_TIMEOUT_MS} ms`
        : String((e as Error & { cause?: Error }).cause?.message ?? (e as Error).message);
    throw unavailable(d, `the agent of host "${hostName}" (${ip}:${AGENT_PORT}) did not answer for the log of ${what}: ${why}`);
  }
  if (follow && res.ok && res.body) {
    clearTimeout(timer);
    d.metrics.agentProxyRequests.ok++;
    // The body is the agent's stream itself: the HTTP layer writes it with backpressure, and a caller that
    // disconnects cancels it, which closes the agent connection (the agent then stops tailing).
    return new Response(res.body, { status: 200, headers: FOLLOW_HEADERS });
  }
  const text = await res.text().finally(() => clearTimeout(timer));
  if (res.status === 404) {
    d.metrics.agentProxyRequests.not_found++;
    throw new ApiError(404, "NotFound", `the agent of host "${hostName}" has no log of ${what} (yet): ${text.trim()}`, {
      name: info.name,
      group: InstanceKind.group,
      kind: "instances/log",
    });
  }
  if (!res.ok) {
    d.metrics.agentProxyRequests.refused++;
    throw serviceUnavailable(`the agent of host "${hostName}" answered ${res.status} for the log of ${what}: ${text.trim()}`);
  }
  d.metrics.agentProxyRequests.ok++;
  return c.body(text, 200, { "content-type": "text/plain; charset=utf-8" });
}

function tailBytes(raw: string | undefined): number {
  if (raw === undefined || raw === "") return DEFAULT_TAIL_BYTES;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_TAIL_BYTES) {
    throw badRequest(`tailBytes must be an integer from 1 to ${MAX_TAIL_BYTES}, not "${raw}"`, [
      { field: "tailBytes", reason: "FieldValueInvalid", message: "must be a positive integer" },
    ]);
  }
  return n;
}

function followFlag(raw: string | undefined): boolean {
  if (raw === undefined || raw === "" || raw === "false" || raw === "0") return false;
  if (raw === "true" || raw === "1") return true;
  const cause = { field: "follow", reason: "FieldValueInvalid", message: "must be true or false" };
  throw badRequest(`follow must be true or false, not "${raw}"`, [cause]);
}

function unavailable(d: ApiDeps, message: string): Error {
  d.metrics.agentProxyRequests.unreachable++;
  return serviceUnavailable(message);
}
