/**
 * A per-home lock file, so `kumo up`, `kumo host add` and `kumo down` run one at a time: two of
 * them interleaving could both pick the same host index or start two agents for one host.
 */
import { mkdir, open, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { pidAlive as procAlive } from "@kumo/runtime/proc";
import type { LabNames } from "./naming.js";

/** Runs fn while holding `$KUMO_HOME/hosts/.lock`; a lock left by a dead process is taken over. */
export async function withLabLock<T>(n: LabNames, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const path = join(n.hostsDir, ".lock");
  await mkdir(n.hostsDir, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fh = await open(path, "wx");
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const holder = Number((await readFile(path, "utf8").catch(() => "")).trim());
    // An empty file is a holder between open and write: wait for it like a live one.
    if (holder > 0 && !(await procAlive(holder))) {
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${path} is held by pid ${holder || "?"}: another kumo up/down/host command is running`);
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}
