/**
 * DHCP counters from dnsmasq's `--log-dhcp` file. dnsmasq exports no DHCP statistics (SIGUSR1
 * dumps only DNS cache stats), so the log is the source; it is read incrementally from the last
 * offset, so a busy server costs only its new lines per observe().
 */
import { open, readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { DhcpCounters, DhcpLeaseEntry } from "./types.js";

/** All-zero counters. */
export const zeroCounters = (): DhcpCounters => ({
  discover: 0,
  offer: 0,
  request: 0,
  ack: 0,
  nak: 0,
  decline: 0,
  release: 0,
  inform: 0,
  noAddress: 0,
});

const MESSAGE: Record<string, keyof DhcpCounters> = {
  DHCPDISCOVER: "discover",
  DHCPOFFER: "offer",
  DHCPREQUEST: "request",
  DHCPACK: "ack",
  DHCPNAK: "nak",
  DHCPDECLINE: "decline",
  DHCPRELEASE: "release",
  DHCPINFORM: "inform",
};
// e.g. `Nov 24 22:49:12 dnsmasq-dhcp[7863]: 921918564 DHCPACK(kbr-1) 10.77.0.11 02:00:00:00:00:11 p1`
const LINE_RE = /dnsmasq-dhcp\[\d+\]: (?:\d+ )?(DHCP[A-Z]+)\([^)]*\)(.*)$/;

/** Adds one log line's message to `c` (lines that are not DHCP messages are ignored). */
export function countLogLine(c: DhcpCounters, line: string): void {
  const m = LINE_RE.exec(line);
  if (!m) return;
  const key = MESSAGE[m[1]];
  if (key) c[key]++;
  if (m[2].includes("no address available")) c.noAddress++;
}

/** Incremental reader of one log file: remembers offset and the unfinished last line. */
export class LogCounter {
  /** Counters over everything read so far. */
  counters = zeroCounters();
  private offset = 0;
  private partial = "";

  constructor(private readonly path: string) {}

  /** Reads lines appended since the last call; starts over if the file shrank (rotated/truncated). */
  async update(): Promise<DhcpCounters> {
    const fh = await open(this.path, "r").catch(() => undefined);
    if (!fh) return this.counters;
    try {
      const { size } = await fh.stat();
      if (size < this.offset) {
        this.counters = zeroCounters();
        this.offset = 0;
        this.partial = "";
      }
      if (size === this.offset) return this.counters;
      const buf = Buffer.alloc(size - this.offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
      this.offset += bytesRead;
      const lines = (this.partial + buf.subarray(0, bytesRead).toString()).split("\n");
      this.partial = lines.pop() ?? "";
      for (const l of lines) countLogLine(this.counters, l);
      return this.counters;
    } finally {
      await fh.close();
    }
  }
}

/** Parses a dnsmasq lease file (`expiry mac ip name client-id` per line; `*` = none). */
export function parseLeases(text: string): DhcpLeaseEntry[] {
  const out: DhcpLeaseEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    // DHCPv6 leases add a "duid" line; only 5-field IPv4 lines are leases here.
    if (f.length < 4 || f[0] === "duid" || !/^\d+$/.test(f[0])) continue;
    out.push({
      expiry: Number(f[0]),
      mac: f[1].toLowerCase(),
      ip: f[2],
      name: f[3] === "*" ? undefined : f[3],
      clientId: f[4] === undefined || f[4] === "*" ? undefined : f[4],
    });
  }
  return out;
}

/**
 * Reads the lease file until two reads agree (up to 5 tries, 2 ms apart): dnsmasq rewrites it in
 * place (truncate + write), so a single read can catch it empty or half-written.
 */
export async function readLeaseFile(path: string): Promise<DhcpLeaseEntry[]> {
  const read = () => readFile(path, "utf8").catch(() => "");
  let prev = await read();
  for (let i = 0; i < 5; i++) {
    await sleep(2);
    const cur = await read();
    if (cur === prev) break;
    prev = cur;
  }
  return parseLeases(prev);
}
