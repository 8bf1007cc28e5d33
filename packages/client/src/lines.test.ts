import { test } from "node:test";
import assert from "node:assert/strict";
import { splitLines } from "./lines.js";

function streamOf(chunks: (string | Uint8Array)[]): { stream: ReadableStream<Uint8Array>; cancelled: () => boolean } {
  let cancelled = false;
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(ctrl) {
      if (i >= chunks.length) return ctrl.close();
      const c = chunks[i++];
      ctrl.enqueue(typeof c === "string" ? new TextEncoder().encode(c) : c);
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, cancelled: () => cancelled };
}

async function collect(chunks: (string | Uint8Array)[]): Promise<string[]> {
  const out: string[] = [];
  for await (const l of splitLines(streamOf(chunks).stream)) out.push(l);
  return out;
}

test("lines split across chunks are joined, several lines in one chunk are split", async () => {
  assert.deepEqual(await collect(['{"a":', '1}\n{"b"', ":2}\n", '{"c":3}\n{"d":4}\n']), ['{"a":1}', '{"b":2}', '{"c":3}', '{"d":4}']);
});

test("CRLF, blank keep-alive lines and a last line without newline", async () => {
  assert.deepEqual(await collect(["one\r\n\n\r\n", "two\n", "three"]), ["one", "two", "three"]);
});

test("a multi-byte character split between chunks is decoded", async () => {
  const bytes = new TextEncoder().encode("héllo 雲\n");
  // split inside the 3-byte 雲 and inside the 2-byte é
  const chunks = [bytes.slice(0, 2), bytes.slice(2, 8), bytes.slice(8)];
  assert.deepEqual(await collect(chunks), ["héllo 雲"]);
});

test("an empty stream yields nothing", async () => {
  assert.deepEqual(await collect([]), []);
});

test("stopping early cancels the underlying stream (frees the connection)", async () => {
  const s = streamOf(["a\nb\nc\n", "d\n"]);
  for await (const l of splitLines(s.stream)) if (l === "a") break;
  assert.equal(s.cancelled(), true);
});
