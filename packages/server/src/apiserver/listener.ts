/** One HTTPS listener of the API as a component: bound by start, closed (with its open connections) by stop. */
import type { AddressInfo } from "node:net";
import { createServer as createHttpsServer } from "node:https";
import type { TLSSocket } from "node:tls";
import { serve, type ServerType } from "@hono/node-server";
import type { Component } from "@kumo/runtime";

/**
 * Node 20's HTTP server lets its C++ parser read a TLS connection directly, and pauses that parser when
 * a request arrives before the previous response drained (any response over 16 KiB). TLS still hands
 * the paused parser the bytes it already decrypted: "HPE_PAUSED", and the connection is cut in the
 * middle of the request body (seen ~1 in 7 runs: a PUT of a 2,000-annotation Host right after reading
 * it). A 'data' listener makes Node parse in JavaScript, where pausing the socket stops the bytes.
 */
function parseInJavaScript(socket: TLSSocket): void {
  socket.on("data", () => undefined);
}

/** What a listener serves and where; `port` is read at start (an extra listener may reuse the first one's port). */
export interface ListenerOptions {
  fetch: (req: Request) => Response | Promise<Response>;
  host: string;
  port: () => number;
  tls: () => { key: string; cert: string };
}

/** An HTTPS listener component; `port` is the bound port once started. */
export interface HttpsListener extends Component {
  readonly port: number;
}

/** Serves `o.fetch` over HTTPS on `o.host`. */
export function httpsListener(name: string, o: ListenerOptions): HttpsListener {
  let server: ServerType | undefined;
  let bound = 0;
  return {
    name,
    get port() {
      return bound;
    },
    start: () =>
      new Promise<void>((res, rej) => {
        const port = o.port();
        const s = serve({ fetch: o.fetch, hostname: o.host, port, createServer: createHttpsServer, serverOptions: o.tls() }, () => {
          bound = (s.address() as AddressInfo).port;
          res();
        });
        server = s;
        s.once("error", (e: Error) => rej(new Error(`cannot listen on ${o.host}:${port}: ${e.message}`)));
        s.on("secureConnection", parseInJavaScript);
        // Watches stay open for a long time; Node's default request/headers timeouts would cut them.
        const srv = s as unknown as { requestTimeout: number; keepAliveTimeout: number };
        srv.requestTimeout = 0;
        srv.keepAliveTimeout = 65_000;
      }),
    stop: () =>
      new Promise<void>((res) => {
        if (!server?.listening) return res();
        server.close(() => res());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
    snapshot: () => ({ address: `${o.host}:${bound}`, listening: server?.listening ?? false }),
  };
}
