/**
 * The node-side fetch of the CLI, the agents and the benches: node:https with the cloud's CA (Node's global fetch cannot take
 * a CA without an extra dependency) and a keep-alive agent, returning WHATWG Responses whose bodies
 * stream, so the isomorphic KumoClient (watch included) runs over it unchanged.
 */
import * as http from "node:http";
import * as https from "node:https";
import { Readable } from "node:stream";

/** TLS settings of createNodeFetch. */
export interface NodeFetchOptions {
  /** PEM of the CA that signed the server certificate (default: the system CAs). */
  caPem?: string;
  /** Skip server certificate verification (`--insecure-skip-tls-verify`). */
  insecure?: boolean;
}

/** A fetch function over node:https (or node:http for http: URLs). */
export type NodeFetch = (input: string, init?: RequestInit) => Promise<Response>;

/** Creates a fetch over node:https trusting `caPem`. */
export function createNodeFetch(o: NodeFetchOptions = {}): NodeFetch {
  const tlsAgent = new https.Agent({ keepAlive: true, ca: o.caPem, rejectUnauthorized: !o.insecure });
  const plainAgent = new http.Agent({ keepAlive: true });
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input);
      const secure = url.protocol === "https:";
      if (!secure && url.protocol !== "http:") return reject(new TypeError(`unsupported URL scheme ${url.protocol}`));
      const signal = init.signal ?? undefined;
      if (signal?.aborted) return reject(abortError());
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((v, k) => (headers[k] = v));
      const body = encodeBody(init.body);
      if (body) headers["content-length"] = String(body.byteLength);
      const method = (init.method ?? "GET").toUpperCase();
      const opts: https.RequestOptions = {
        agent: secure ? tlsAgent : plainAgent,
        hostname: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port || (secure ? 443 : 80),
        path: url.pathname + url.search,
        method,
        headers,
      };
      let response: http.IncomingMessage | undefined;
      const req = (secure ? https.request : http.request)(opts, (res) => {
        response = res;
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (Array.isArray(v)) for (const x of v) h.append(k, x);
          else if (v !== undefined) h.set(k, v);
        }
        const status = res.statusCode ?? 500;
        // Response refuses a body for these statuses; drain the socket so it returns to the pool.
        const noBody = method === "HEAD" || status === 204 || status === 304;
        if (noBody) res.resume();
        const stream = noBody ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
        resolve(new Response(stream, { status, statusText: res.statusMessage, headers: h }));
      });
      // Aborting also ends a body still streaming (a watch), with an AbortError the client recognises.
      const onAbort = () => {
        const err = abortError();
        response?.destroy(err);
        req.destroy(err);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      req.on("close", () => signal?.removeEventListener("abort", onAbort));
      req.on("error", reject);
      req.end(body);
    });
}

function encodeBody(b: RequestInit["body"]): Buffer | undefined {
  if (b === undefined || b === null) return undefined;
  if (typeof b === "string") return Buffer.from(b);
  if (b instanceof Uint8Array) return Buffer.from(b);
  if (b instanceof ArrayBuffer) return Buffer.from(new Uint8Array(b));
  throw new TypeError("createNodeFetch supports string and byte bodies only");
}

function abortError(): Error {
  return new DOMException("The operation was aborted", "AbortError");
}
