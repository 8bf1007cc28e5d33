/**
 * A WHATWG `fetch` over node:https that trusts one CA (the cloud's), for the agent's API client.
 * Node's global fetch cannot take a CA without an extra dependency; https.request can.
 */
import { Agent, request } from "node:https";
import { Readable } from "node:stream";

/** Creates a fetch function trusting `caPem` with a keep-alive agent. */
export function createNodeFetch(o: { caPem: string }): (input: string, init?: RequestInit) => Promise<Response> {
  const agent = new Agent({ ca: o.caPem, keepAlive: true, maxSockets: 32 });
  return (input, init = {}) =>
    new Promise((resolve, reject) => {
      const url = new URL(input);
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((v, k) => (headers[k] = v));
      // Without a length, node sends a DELETE body the server never sees as one.
      if (typeof init.body === "string") headers["content-length"] = String(Buffer.byteLength(init.body));
      const req = request({ agent, host: url.hostname, port: url.port, path: url.pathname + url.search, method: init.method ?? "GET", headers }, (res) => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
        const body = res.statusCode === 204 ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
        resolve(new Response(body, { status: res.statusCode, headers: h }));
      });
      req.on("error", reject);
      init.signal?.addEventListener("abort", () => req.destroy(Object.assign(new Error("aborted"), { name: "AbortError" })));
      if (init.body !== undefined && init.body !== null) req.write(init.body as string);
      req.end();
    });
}
