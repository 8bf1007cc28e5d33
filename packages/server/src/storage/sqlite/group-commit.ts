/**
 * Group commit: writes are queued and committed together in one transaction (one fsync).
 *
 * A flush is scheduled with setImmediate when the first write of a group arrives, so every request
 * the event loop is about to process (all I/O callbacks of the current poll phase) joins the same
 * group; while a COMMIT fsyncs, new requests pile up in the kernel and form the next group. A group
 * that reaches `maxBatch` is flushed at once to bound transaction size. Promises settle only after
 * COMMIT returned, so an acknowledged write is durable. With `maxBatch` 1 (memory://, where there is
 * no fsync to share) every write commits at once, inside `submit`.
 */
import type { BackendObserver, WriteResult } from "../backend.js";
import { now, report } from "../observe.js";
import type { WriteOp } from "./write-batch.js";

/** Default upper bound of writes per transaction. */
export const DEFAULT_MAX_BATCH = 1000;

interface Queued {
  op: WriteOp;
  start: number;
  resolve: (r: WriteResult) => void;
  reject: (e: unknown) => void;
}

/** Commits one group durably and returns one result per op; throws if the transaction failed. */
export type CommitFn = (ops: WriteOp[]) => WriteResult[];

/** The write queue of one sqlite backend. */
export class GroupCommit {
  private queue: Queued[] = [];
  private scheduled = false;

  constructor(
    private readonly commit: CommitFn,
    private readonly maxBatch = DEFAULT_MAX_BATCH,
    private readonly observer?: BackendObserver,
    /** False where a COMMIT is not a durable commit (memory://): its latency would only be noise. */
    private readonly reportCommits = true,
  ) {}

  /** Queue a write; resolves after the group containing it committed. */
  submit(op: WriteOp): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ op, start: now(), resolve, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Commit everything queued now (synchronously). */
  flush(): void {
    const group = this.queue;
    if (group.length === 0) return;
    this.queue = [];
    const start = now();
    let results: WriteResult[];
    try {
      results = this.commit(group.map((q) => q.op));
    } catch (err) {
      if (this.reportCommits) report(this.observer, "commit", start, false);
      for (const q of group) {
        report(this.observer, q.op.kind, q.start, false);
        q.reject(err);
      }
      return;
    }
    if (this.reportCommits) report(this.observer, "commit", start, true);
    group.forEach((q, i) => {
      report(this.observer, q.op.kind, q.start, true);
      q.resolve(results[i]);
    });
  }
}
