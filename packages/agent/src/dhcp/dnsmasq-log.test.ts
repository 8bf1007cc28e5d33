import assert from "node:assert/strict";
import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { LogCounter, parseLeases } from "./dnsmasq-log.js";

// Real lines from dnsmasq 2.90 with --log-dhcp (an unknown MAC, then a full exchange).
const LOG = `Nov 24 22:48:55 dnsmasq[7863]: started, version 2.90 cachesize 150
Nov 24 22:48:59 dnsmasq-dhcp[7863]: 2615766363 available DHCP subnet: 10.77.0.0/255.255.255.0
Nov 24 22:48:59 dnsmasq-dhcp[7863]: 2615766363 DHCPDISCOVER(kbr-1) 02:00:00:00:00:11 no address available
Nov 24 22:49:12 dnsmasq-dhcp[7863]: 921918564 DHCPDISCOVER(kbr-1) 02:00:00:00:00:11
Nov 24 22:49:12 dnsmasq-dhcp[7863]: 921918564 DHCPOFFER(kbr-1) 10.77.0.11 02:00:00:00:00:11
Nov 24 22:49:12 dnsmasq-dhcp[7863]: 921918564 DHCPREQUEST(kbr-1) 10.77.0.11 02:00:00:00:00:11
Nov 24 22:49:12 dnsmasq-dhcp[7863]: 921918564 DHCPACK(kbr-1) 10.77.0.11 02:00:00:00:00:11 p1
Nov 24 22:49:12 dnsmasq-dhcp[7863]: 921918564 sent size:  4 option:  3 router  10.77.0.1
`;

describe("dnsmasq log and leases", () => {
  it("counts DHCP messages incrementally, across a line split between reads, and restarts on truncation", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kumo-log-"));
    try {
      const path = join(dir, "dnsmasq.log");
      const c = new LogCounter(path);
      assert.equal((await c.update()).discover, 0, "a missing file counts nothing");
      const cut = LOG.indexOf("DHCPREQUEST") + 4;
      await writeFile(path, LOG.slice(0, cut));
      assert.deepEqual(
        { ...(await c.update()) },
        { discover: 2, offer: 1, request: 0, ack: 0, nak: 0, decline: 0, release: 0, inform: 0, noAddress: 1 },
      );
      await appendFile(
        path,
        LOG.slice(cut) + "Nov 24 22:50:00 dnsmasq-dhcp[7863]: 1 DHCPNAK(kbr-1) 10.77.0.99 02:00:00:00:00:11 wrong address\n",
      );
      const after = await c.update();
      assert.deepEqual([after.request, after.ack, after.nak], [1, 1, 1]);
      await writeFile(path, LOG.split("\n").slice(0, 3).join("\n") + "\n");
      assert.deepEqual([(await c.update()).discover, c.counters.ack], [1, 0]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("parses lease lines, * as absent", () => {
    assert.deepEqual(
      parseLeases("1795603752 02:00:00:00:00:11 10.77.0.11 p1 01:02:00:00:00:00:11\n0 02:00:00:00:00:12 10.77.0.12 * *\n\n"),
      [
        { expiry: 1795603752, mac: "02:00:00:00:00:11", ip: "10.77.0.11", name: "p1", clientId: "01:02:00:00:00:00:11" },
        { expiry: 0, mac: "02:00:00:00:00:12", ip: "10.77.0.12", name: undefined, clientId: undefined },
      ],
    );
  });
});
