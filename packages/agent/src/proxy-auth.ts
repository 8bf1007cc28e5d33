/**
 * Who may read instance logs from an agent: only the API server, which shows the token from its data
 * dir (`agent-proxy.token`) after RBAC allowed the user `get instances/log` in the project. Agents are
 * given the same file (`--proxy-token-file`); it is re-read at each request, so rotating it needs no restart.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";

export type ProxyAuthResult = { ok: true } | { ok: false; code: 401 | 403; message: string };

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Checks an `Authorization` header against the token in `file` (constant time). */
export async function checkProxyToken(authorization: string | undefined, file: string | undefined): Promise<ProxyAuthResult> {
  if (!file)
    return {
      ok: false,
      code: 403,
      message:
        "instance logs are served to the API server only, and this agent was started without --proxy-token-file: " +
        "read them with `kumo logs` or GET .../instances/NAME/log",
    };
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
  if (!m)
    return {
      ok: false,
      code: 401,
      message: "instance logs are served to the API server only: read them with `kumo logs` or GET .../instances/NAME/log",
    };
  const want = (await readFile(file, "utf8").catch(() => "")).trim();
  if (!want) return { ok: false, code: 403, message: `cannot read the proxy token file ${file}` };
  if (!timingSafeEqual(digest(m[1]), digest(want)))
    return { ok: false, code: 401, message: "the bearer token is not the API server's proxy token" };
  return { ok: true };
}
