/** Per-invocation state shared by commands: the connection, a lazily built client and the kind resolver. */
import type { Command } from "commander";
import { KumoClient } from "@kumo/client";
import { loadConnection, type Connection, type GlobalFlags } from "./config.js";
import { KindResolver, type Resource } from "./kinds.js";
import { createNodeFetch } from "@kumo/runtime";

/** The CLI's version (User-Agent, `kumo version`). */
export const CLI_VERSION = "0.1.0";

/** What a command works with. Nothing touches the network or the config file until it is used. */
export class CliContext {
  private conn?: Connection;
  private cl?: KumoClient;
  readonly kinds: KindResolver;

  constructor(readonly flags: GlobalFlags) {
    this.kinds = new KindResolver(() => this.client);
  }

  /** Builds the context from a command's options merged with the global ones. */
  static from(cmd: Command): CliContext {
    return new CliContext(cmd.optsWithGlobals<GlobalFlags>());
  }

  /** Server, token, CA and namespace. */
  get connection(): Connection {
    this.conn ??= loadConnection(this.flags);
    return this.conn;
  }

  /** The API client. */
  get client(): KumoClient {
    if (!this.cl) {
      const c = this.connection;
      this.cl = new KumoClient({
        server: c.server,
        token: c.token,
        fetch: createNodeFetch({ caPem: c.caPem, insecure: c.insecure }),
        userAgent: `kumo/${CLI_VERSION}`,
      });
    }
    return this.cl;
  }

  /** The namespace (project) commands act in: -n, else the context's, else "default". */
  get namespace(): string {
    return this.flags.namespace ?? this.connection.namespace ?? "default";
  }

  /** The namespace to use for `r`: undefined for cluster-scoped kinds. */
  namespaceFor(r: Resource, explicit?: string): string | undefined {
    if (!r.namespaced) return undefined;
    return explicit ?? this.namespace;
  }
}
