/**
 * Choosing a backend from a URL (the server's `--storage` flag):
 *   memory://                 non-durable, for tests: the sqlite backend on SQLite's `:memory:`
 *   sqlite:///abs/path.db     absolute path (three slashes)
 *   sqlite://relative/path.db relative to the working directory
 * Parent directories of a sqlite file are created.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Backend, BackendObserver } from "./backend.js";
import { IN_MEMORY } from "./sqlite/schema.js";
import { SqliteBackend } from "./sqlite/sqlite-backend.js";

/** Options common to every backend. */
export interface OpenBackendOptions {
  observer?: BackendObserver;
}

type Opener = (rest: string, opts: OpenBackendOptions) => Promise<Backend>;

const openers: Record<string, Opener> = {
  memory: async (_rest, opts) => new SqliteBackend(IN_MEMORY, { observer: opts.observer }),
  sqlite: async (rest, opts) => {
    const path = sqlitePath(rest);
    mkdirSync(dirname(path), { recursive: true });
    return new SqliteBackend(path, { observer: opts.observer });
  },
  // etcd: (a later issue) parse "host:port[,host:port]/prefix" here and return an EtcdBackend that
  // passes runBackendConformance; nothing else in the server needs to change.
};

/** Open the backend a storage URL names; throws listing the known schemes when the scheme is unknown. */
export async function openBackend(url: string, opts: OpenBackendOptions = {}): Promise<Backend> {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(url);
  const scheme = m?.[1].toLowerCase();
  const opener = scheme !== undefined && Object.hasOwn(openers, scheme) ? openers[scheme] : undefined;
  if (!m || !opener) {
    const known = Object.keys(openers)
      .map((s) => `${s}://`)
      .join(", ");
    throw new Error(`unsupported storage URL ${JSON.stringify(url)}: known schemes are ${known}`);
  }
  return opener(m[2], opts);
}

/** The file a sqlite URL's remainder names: "/abs" stays absolute, anything else is cwd-relative. */
function sqlitePath(rest: string): string {
  if (rest === "" || rest.endsWith("/")) throw new Error(`sqlite:// URL needs a file path, got ${JSON.stringify(rest)}`);
  return resolve(rest);
}
