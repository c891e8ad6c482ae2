/**
 * SSRF guard: which addresses a webhook may not reach — private, loopback, link-local (cloud
 * metadata: 169.254.169.254, fd00:ec2::254), CGNAT, multicast, reserved, documentation ranges,
 * and IPv6 forms that embed an IPv4 address (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`,
 * NAT64 `64:ff9b::/96`, 6to4 `2002::/16`, Teredo `2001::/32`). Checked on the addresses DNS
 * returns, at connect time (transport-node.ts), so a rebinding name cannot slip through.
 *
 * @example
 * isBlockedAddress("10.1.2.3");          // true
 * isBlockedAddress("::ffff:127.0.0.1");  // true
 * isBlockedAddress("93.184.216.34");     // false
 */

/** IPv4 dotted quad → 4 bytes, or undefined. */
export function parseIPv4(s: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const b = m.slice(1).map(Number);
  return b.every((x) => x <= 255) ? b : undefined;
}

/** IPv6 text (with `::`, an embedded dotted quad, a zone) → 8 16-bit groups, or undefined. */
export function parseIPv6(input: string): number[] | undefined {
  let s = input
    .replace(/^\[|\]$/g, "")
    .split("%")[0]!
    .toLowerCase();
  if (!s.includes(":")) return undefined;
  const lastColon = s.lastIndexOf(":");
  const maybeV4 = s.slice(lastColon + 1);
  if (maybeV4.includes(".")) {
    const v4 = parseIPv4(maybeV4);
    if (!v4) return undefined;
    s = `${s.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const part = (h: string) => (h === "" ? [] : h.split(":"));
  const head = part(halves[0]!);
  const rest = halves.length === 2 ? part(halves[1]!) : [];
  if (![...head, ...rest].every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  const num = (a: string[]) => a.map((g) => parseInt(g, 16));
  if (halves.length === 2) {
    if (head.length + rest.length > 7) return undefined;
    return [...num(head), ...new Array<number>(8 - head.length - rest.length).fill(0), ...num(rest)];
  }
  return head.length === 8 ? num(head) : undefined;
}

function blockedV4(b: number[]): boolean {
  const [a, c] = [b[0]!, b[1]!];
  return (
    a === 0 || // "this network"
    a === 10 ||
    (a === 100 && c >= 64 && c <= 127) || // CGNAT
    a === 127 ||
    (a === 169 && c === 254) || // link-local, cloud metadata
    (a === 172 && c >= 16 && c <= 31) ||
    (a === 192 && c === 0 && (b[2] === 0 || b[2] === 2)) ||
    (a === 192 && c === 88 && b[2] === 99) || // 6to4 relay anycast
    (a === 192 && c === 168) ||
    (a === 198 && (c === 18 || c === 19)) || // benchmarking
    (a === 198 && c === 51 && b[2] === 100) ||
    (a === 203 && c === 0 && b[2] === 113) ||
    a >= 224 // multicast, reserved, broadcast
  );
}

function blockedV6(g: number[]): boolean {
  const v4 = (hi: number, lo: number) => [hi >> 8, hi & 255, lo >> 8, lo & 255];
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeros(8)) return true; // ::
  if (zeros(7) && g[7] === 1) return true; // ::1
  if (zeros(5) && g[5] === 0xffff) return blockedV4(v4(g[6]!, g[7]!)); // ::ffff:a.b.c.d
  if (zeros(4) && g[4] === 0xffff && g[5] === 0) return blockedV4(v4(g[6]!, g[7]!)); // ::ffff:0:a.b.c.d
  if (zeros(6)) return true; // ::a.b.c.d (deprecated compatible form): refuse outright
  if (g[0] === 0x64 && g[1] === 0xff9b) return blockedV4(v4(g[6]!, g[7]!)) || g[2] !== 0 || g[3] !== 0 || g[4] !== 0 || g[5] !== 0; // NAT64
  if (g[0] === 0x2002) return blockedV4(v4(g[1]!, g[2]!)); // 6to4
  if (g[0] === 0x2001 && g[1] === 0) return true; // Teredo (embeds an obfuscated IPv4)
  if (g[0] === 0x2001 && g[1] === 0xdb8) return true; // documentation
  if (g[0] === 0x100 && zeros(4)) return true; // discard-only 100::/64
  if ((g[0]! & 0xfe00) === 0xfc00) return true; // unique local fc00::/7 (incl. fd00:ec2::254)
  if ((g[0]! & 0xffc0) === 0xfe80) return true; // link-local fe80::/10
  if ((g[0]! & 0xffc0) === 0xfec0) return true; // site-local (deprecated)
  if ((g[0]! & 0xff00) === 0xff00) return true; // multicast
  return false;
}

/** True when an IP literal (v4 or v6) must not be reached; non-IP text is not an address → true. */
export function isBlockedAddress(ip: string): boolean {
  const v4 = parseIPv4(ip);
  if (v4) return blockedV4(v4);
  const v6 = parseIPv6(ip);
  if (v6) return blockedV6(v6);
  return true;
}

export const isIpLiteral = (host: string) => parseIPv4(host) !== undefined || parseIPv6(host) !== undefined;

const BLOCKED_NAMES = /(^|\.)(localhost|localdomain|internal|local|home\.arpa)$|^metadata$|^metadata\.google\.internal$/i;

/**
 * Checks that need no DNS: scheme, credentials, blocked names, IP literals. Returns a reason, or
 * undefined when the URL may be tried (its resolved addresses are still checked when connecting).
 */
export function urlProblem(raw: string, allowPrivate: boolean): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return "not a valid URL";
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return "only http and https URLs are allowed";
  if (u.username || u.password) return "credentials in the URL are not allowed";
  if (allowPrivate) return undefined;
  // every trailing dot goes (`localhost..` resolves like `localhost`); an empty label elsewhere is
  // not a name DNS would answer for the same host, so it is refused rather than guessed at
  const host = u.hostname.replace(/^\[|\]$/g, "").replace(/\.+$/, "");
  if (host === "" || host.startsWith(".") || host.includes("..")) return `host ${u.hostname} has an empty label`;
  if (isIpLiteral(host)) return isBlockedAddress(host) ? `address ${host} is private, loopback, link-local or reserved` : undefined;
  if (BLOCKED_NAMES.test(host) || !host.includes(".")) return `host ${host} is a local name`;
  return undefined;
}
