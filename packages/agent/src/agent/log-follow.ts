/**
 * `tail -F` for one log file: its last bytes, then every byte appended to it, until the reader goes away
 * or the instance does. Change notices come from inotify (watchFile); a periodic re-check covers a notice
 * that never comes (a directory created late, an overflowing inotify queue). A file replaced or truncated
 * under us (a runtime removed and made again) is read again from its start, as `tail -F` does.
 */
import { open, stat } from "node:fs/promises";
import { watchFile } from "./instance-env.js";

/** How followFile reads and where the bytes go. */
export interface FollowOptions {
  /** Start this many bytes before the current end (the tail shown first); a file that appears later is read whole. */
  tailBytes: number;
  /** Ends the follow (the client disconnected). */
  signal: AbortSignal;
  /** Receives each chunk in order; a returned promise holds the next read until it settles (backpressure). */
  write(chunk: Buffer): void | Promise<void>;
  /** False once what is followed is gone (the instance left this host or was deleted): the follow ends. */
  stillThere(): boolean;
  /** Re-check period when no change notice arrives (default 1000 ms). */
  pollMs?: number;
}

/** Why a follow ended. */
export type FollowEnd = "aborted" | "gone";

/** Largest read at once: a log that grew by megabytes between two wake-ups is sent in pieces. */
const CHUNK_BYTES = 64 << 10;

/** Streams `file` from `tailBytes` before its end, then as it grows; resolves when `signal` aborts or `stillThere()` turns false. */
export async function followFile(file: string, o: FollowOptions): Promise<FollowEnd> {
  const changes = watchFile(file);
  try {
    let at: { offset: number; ino: number } | undefined;
    for (;;) {
      if (o.signal.aborted) return "aborted";
      if (!o.stillThere()) return "gone";
      const st = await stat(file).catch(() => undefined);
      // No file yet: once it appears it is new, so all of it is news (ino -1 never matches a real one).
      if (!at) at = st ? { offset: Math.max(0, st.size - o.tailBytes), ino: st.ino } : { offset: 0, ino: -1 };
      if (st && (st.ino !== at.ino || st.size < at.offset)) at = { offset: 0, ino: st.ino };
      if (st && st.size > at.offset) at.offset = await copy(file, at.offset, st.size, o);
      try {
        await changes.next(o.pollMs ?? 1000, o.signal);
      } catch {
        return "aborted";
      }
    }
  } finally {
    changes.close();
  }
}

// Sends [from, to) of file; returns where it stopped (short of `to` only when the follow was aborted).
async function copy(file: string, from: number, to: number, o: FollowOptions): Promise<number> {
  const fh = await open(file, "r").catch(() => undefined);
  if (!fh) return from; // removed between stat and open: the next pass sees it
  try {
    let pos = from;
    while (pos < to && !o.signal.aborted) {
      const buf = Buffer.alloc(Math.min(CHUNK_BYTES, to - pos));
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break; // truncated meanwhile: the next pass starts over
      pos += bytesRead;
      await o.write(buf.subarray(0, bytesRead));
    }
    return pos;
  } finally {
    await fh.close();
  }
}
