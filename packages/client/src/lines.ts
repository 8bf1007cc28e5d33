/** Splits a streaming HTTP body into lines; the watch protocol is newline-delimited JSON. */

/**
 * Yields each complete line of `body` (without the trailing "\n" or "\r\n"); a final line without a
 * newline is yielded at the end. Empty lines are skipped: servers may send them as keep-alives.
 * Multi-byte characters split across chunks are decoded correctly (streaming TextDecoder).
 */
export async function* splitLines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let start = 0;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n", start)) {
        const line = trimCR(buf.slice(start, nl));
        start = nl + 1;
        if (line !== "") yield line;
      }
      buf = buf.slice(start);
    }
    buf += decoder.decode();
    const last = trimCR(buf);
    if (last !== "") yield last;
  } finally {
    // Releasing (or cancelling on early exit) frees the connection when the consumer stops iterating.
    await reader.cancel().catch(() => undefined);
  }
}

function trimCR(s: string): string {
  return s.endsWith("\r") ? s.slice(0, -1) : s;
}
