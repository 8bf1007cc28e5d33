/** Agent DHCP/DNS: one dnsmasq per network per host. */
export * from "./types.js";
export { DnsmasqDriver, type DnsmasqDriverOptions, type DnsmasqAction, type DnsmasqSnapshot } from "./dnsmasq.js";
export { domainOf } from "./dnsmasq-config.js";
