/**
 * A component for a process's HTTP listener: started means bound. A port that cannot be bound (in use, an
 * address the host does not have) fails the start, so the component manager stops what started before it.
 */
import type { Server } from "node:http";
import type { Component } from "./component.js";

/** A component that binds `server` to host:port on start and closes it (and its idle connections) on stop. */
export function listenerComponent(name: string, server: Server, host: string, port: number): Component {
  return {
    name,
    start: () =>
      new Promise<void>((resolve, reject) => {
        const onError = (e: Error) => reject(e);
        server.once("error", onError);
        server.listen(port, host, () => {
          server.off("error", onError);
          resolve();
        });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
    snapshot: () => {
      const a = server.address();
      return { listening: server.listening, address: a && typeof a === "object" ? `${a.address}:${a.port}` : a };
    },
  };
}
