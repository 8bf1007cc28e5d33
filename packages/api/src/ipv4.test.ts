import { test } from "node:test";
import assert from "node:assert/strict";
import { cidrContains, formatIPv4, parseCidr, parseIPv4 } from "./ipv4.js";

test("parseIPv4 reads dotted quads as unsigned 32-bit numbers and refuses anything else", () => {
  assert.equal(parseIPv4("0.0.0.0"), 0);
  assert.equal(parseIPv4("10.0.0.1"), 0x0a000001);
  assert.equal(parseIPv4("255.255.255.255"), 0xffffffff);
  for (const bad of ["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.-4", "a.b.c.d", " 1.2.3.4", "1.2.3.4/24"])
    assert.equal(parseIPv4(bad), undefined, bad);
});

test("formatIPv4 is parseIPv4's inverse, including the top bit", () => {
  for (const s of ["0.0.0.0", "10.1.2.3", "192.168.255.254", "255.255.255.255"]) assert.equal(formatIPv4(parseIPv4(s)!), s);
});

test("parseCidr gives the usable range, size and netmask", () => {
  const c = parseCidr("10.60.0.0/24")!;
  assert.equal(c.network, parseIPv4("10.60.0.0"));
  assert.equal(c.prefix, 24);
  assert.equal(c.size, 256);
  assert.equal(c.first, "10.60.0.1");
  assert.equal(c.last, "10.60.0.254");
  assert.equal(c.nth(2), "10.60.0.2");
  assert.equal(c.netmask, "255.255.255.0");
  assert.equal(parseCidr("0.0.0.0/0")!.netmask, "0.0.0.0");
  assert.equal(parseCidr("10.0.0.8/29")!.last, "10.0.0.14");
});

test("parseCidr refuses host bits, bad prefixes and non-addresses", () => {
  for (const bad of [undefined, "", "10.0.0.1/24", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0", "10.0.0.0/2a", "300.0.0.0/8"]) {
    assert.equal(parseCidr(bad), undefined, String(bad));
  }
});

test("cidrContains includes the network and broadcast addresses and nothing outside", () => {
  const c = parseCidr("192.168.1.0/30")!;
  for (const ip of ["192.168.1.0", "192.168.1.1", "192.168.1.3"]) assert.equal(cidrContains(c, ip), true, ip);
  for (const ip of ["192.168.0.255", "192.168.1.4", "not-an-ip"]) assert.equal(cidrContains(c, ip), false, ip);
});
