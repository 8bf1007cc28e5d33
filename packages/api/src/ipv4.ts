/** IPv4 arithmetic for IPAM and validation (isomorphic; addresses as unsigned 32-bit numbers). */

/** Parses dotted-quad IPv4; undefined when invalid. */
export function parseIPv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

/** Formats a 32-bit number as dotted quad. */
export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** A parsed CIDR with helpers. */
export interface Cidr {
  network: number;
  prefix: number;
  size: number;
  /** First usable host address (network + 1). */
  first: string;
  /** Last usable host address (broadcast − 1). */
  last: string;
  /** network + n, formatted. */
  nth(n: number): string;
  netmask: string;
}

/** Parses `10.0.0.0/24` (host bits must be zero); undefined when invalid. */
export function parseCidr(s: string | undefined): Cidr | undefined {
  if (!s) return undefined;
  const [ip, p] = s.split("/");
  const addr = parseIPv4(ip ?? "");
  const prefix = Number(p);
  if (addr === undefined || !/^\d+$/.test(p ?? "") || prefix < 0 || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  if ((addr & ~mask) >>> 0 !== 0) return undefined;
  return {
    network: addr,
    prefix,
    size,
    first: formatIPv4(addr + 1),
    last: formatIPv4(addr + size - 2),
    nth: (n) => formatIPv4(addr + n),
    netmask: formatIPv4(mask),
  };
}

/** True when `ip` is inside `c` (network and broadcast included). */
export function cidrContains(c: Cidr, ip: string): boolean {
  const n = parseIPv4(ip);
  return n !== undefined && n >= c.network && n < c.network + c.size;
}
