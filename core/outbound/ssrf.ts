// SSRF address policy: which IPs an outbound request may reach, and the cheap
// submit-time URL check. The authoritative check happens at connect time in
// core/outbound (on resolved addresses); this module only holds the rules.
import { isIPv4, isIPv6 } from 'node:net';

// ---------------------------------------------------------------------------
// Parsing helpers

/** Dotted-decimal IPv4 (already validated) to a uint32. */
function ipv4ToInt(ip: string): number {
  let n = 0;
  for (const part of ip.split('.')) n = n * 256 + Number(part);
  return n >>> 0;
}

function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Validated IPv6 text (no brackets, no zone) to 16 bytes. */
function ipv6ToBytes(ip: string): Uint8Array {
  const bytes = new Uint8Array(16);
  let text = ip;
  // Embedded dotted IPv4 tail (::ffff:1.2.3.4) is rewritten as two hextets.
  const lastColon = text.lastIndexOf(':');
  const maybeV4 = text.slice(lastColon + 1);
  if (maybeV4.includes('.')) {
    const v = ipv4ToInt(maybeV4);
    text = `${text.slice(0, lastColon + 1)}${(v >>> 16).toString(16)}:${(v & 0xffff).toString(16)}`;
  }
  const [headText = '', tailText] = text.split('::');
  const parseGroups = (s: string) => (s === '' ? [] : s.split(':').map((h) => parseInt(h, 16)));
  const head = parseGroups(headText);
  const rest = tailText === undefined ? [] : parseGroups(tailText);
  const groups = rest;
  const zeros = 8 - head.length - groups.length;
  const all = [...head, ...new Array<number>(Math.max(zeros, 0)).fill(0), ...groups];
  all.forEach((g, i) => {
    bytes[i * 2] = (g >>> 8) & 255;
    bytes[i * 2 + 1] = g & 255;
  });
  return bytes;
}

function stripBracketsAndZone(ip: string): string {
  let s = ip.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const pct = s.indexOf('%');
  if (pct !== -1) s = s.slice(0, pct); // zone id does not change the address class
  return s;
}

// ---------------------------------------------------------------------------
// IPv4 policy

// [network, prefix length]. Everything here is not publicly routable (or is
// multicast/broadcast), so a fetch to it can only hit internal infrastructure.
const BLOCKED_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches localhost on Linux
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local incl. cloud metadata 169.254.169.254
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // deprecated 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved + 255.255.255.255 broadcast
];

const BLOCKED_V4_INT = BLOCKED_V4.map(([net, bits]) => {
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return { net: (ipv4ToInt(net) & mask) >>> 0, mask };
});

function isBlockedV4Int(n: number): boolean {
  return BLOCKED_V4_INT.some(({ net, mask }) => ((n & mask) >>> 0) === net);
}

function bytesToV4Int(b: Uint8Array, offset: number): number {
  return (((b[offset] ?? 0) << 24) | ((b[offset + 1] ?? 0) << 16) | ((b[offset + 2] ?? 0) << 8) | (b[offset + 3] ?? 0)) >>> 0;
}

// ---------------------------------------------------------------------------
// IPv6 policy

function startsWith(b: Uint8Array, prefix: number[]): boolean {
  return prefix.every((v, i) => b[i] === v);
}

function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

function isBlockedV6(b: Uint8Array): boolean {
  const b0 = b[0] ?? 0;
  const b1 = b[1] ?? 0;
  // ::/96 (IPv4-compatible, also covers :: and ::1 via 0.0.0.0/8).
  if (allZero(b, 0, 12)) return isBlockedV4Int(bytesToV4Int(b, 12));
  // ::ffff:0:0/96 IPv4-mapped.
  if (allZero(b, 0, 10) && b[10] === 0xff && b[11] === 0xff) return isBlockedV4Int(bytesToV4Int(b, 12));
  // ::ffff:0:0:0/96 IPv4-translated (SIIT).
  if (allZero(b, 0, 8) && b[8] === 0xff && b[9] === 0xff && allZero(b, 10, 12)) {
    return isBlockedV4Int(bytesToV4Int(b, 12));
  }
  // 64:ff9b::/96 well-known NAT64 prefix: judged by the embedded IPv4.
  if (startsWith(b, [0x00, 0x64, 0xff, 0x9b]) && allZero(b, 4, 12)) return isBlockedV4Int(bytesToV4Int(b, 12));
  // 64:ff9b:1::/48 local-use NAT64 (RFC 8215): site-specific, never public.
  if (startsWith(b, [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01])) return true;
  // 2002::/16 6to4: IPv4 in bytes 2..5.
  if (b0 === 0x20 && b1 === 0x02) return isBlockedV4Int(bytesToV4Int(b, 2));
  // 2001:0::/32 Teredo: server IPv4 in bytes 4..7, client IPv4 XOR-obfuscated in 12..15.
  if (startsWith(b, [0x20, 0x01, 0x00, 0x00])) {
    return isBlockedV4Int(bytesToV4Int(b, 4)) || isBlockedV4Int((~bytesToV4Int(b, 12)) >>> 0);
  }
  // 2001:db8::/32 documentation.
  if (startsWith(b, [0x20, 0x01, 0x0d, 0xb8])) return true;
  // Only global unicast 2000::/3 is public; this also blocks fc00::/7 (ULA),
  // fe80::/10 (link-local), fec0::/10 (site-local), ff00::/8 (multicast),
  // 100::/64 (discard) and every unassigned range (fail closed).
  return (b0 & 0xe0) !== 0x20;
}

/**
 * True when `ip` must not be reached from a server-side fetch. Accepts IPv4
 * dotted-decimal and any IPv6 text (brackets and zone ids tolerated).
 * Anything that is not an IP address is treated as blocked (fail closed).
 */
export function isBlockedAddress(ip: string): boolean {
  const s = stripBracketsAndZone(ip);
  if (isIPv4(s)) return isBlockedV4Int(ipv4ToInt(s));
  if (isIPv6(s)) return isBlockedV6(ipv6ToBytes(s));
  return true;
}

// ---------------------------------------------------------------------------
// Host parsing

/** One IPv4 part per the WHATWG URL "IPv4 number parser" (hex, octal, decimal). */
function parseIpv4Number(part: string): number | null {
  if (part === '') return null;
  let radix = 10;
  let digits = part;
  if (/^0x/i.test(part)) {
    radix = 16;
    digits = part.slice(2);
  } else if (part.length > 1 && part.startsWith('0')) {
    radix = 8;
    digits = part.slice(1);
  }
  if (digits === '') return 0; // "0x" is 0 per WHATWG
  const valid = radix === 16 ? /^[0-9a-f]+$/i : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!valid.test(digits)) return null;
  const n = parseInt(digits, radix);
  return Number.isSafeInteger(n) ? n : Number.POSITIVE_INFINITY;
}

/** WHATWG-style IPv4 host parser: "127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1". */
function parseLooseIpv4(host: string): string | null {
  let parts = host.split('.');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts = parts.slice(0, -1); // one trailing dot
  if (parts.length === 0 || parts.length > 4) return null;
  const nums: number[] = [];
  for (const p of parts) {
    const n = parseIpv4Number(p);
    if (n === null) return null;
    nums.push(n);
  }
  const last = nums.pop() ?? 0;
  if (nums.some((n) => n > 255)) return null;
  if (last >= 256 ** (4 - nums.length)) return null;
  let value = last;
  nums.forEach((n, i) => {
    value += n * 256 ** (3 - i);
  });
  return intToIpv4(value);
}

/**
 * If `host` is a literal IP address in any spelling URL parsers accept,
 * return it canonicalised (dotted-decimal IPv4, or compressed lower-case
 * IPv6 without brackets/zone); otherwise null (a DNS name, or garbage).
 * `new URL()` already applies the same IPv4 rules to http(s) hosts; this
 * exists for hosts that did not come through URL parsing.
 */
export function parseHostAsIp(host: string): string | null {
  const raw = host.trim().normalize('NFKC'); // URL parsing maps full-width digits too
  if (raw === '') return null;
  const bracketed = raw.startsWith('[') && raw.endsWith(']');
  const inner = stripBracketsAndZone(raw);
  if (isIPv6(inner)) {
    // Canonicalise through the WHATWG serializer ("::ffff:127.0.0.1" -> "::ffff:7f00:1").
    return new URL(`http://[${inner}]/`).hostname.slice(1, -1);
  }
  if (bracketed) return null;
  return parseLooseIpv4(raw.toLowerCase());
}

// ---------------------------------------------------------------------------
// Submit-time URL validation (no DNS)

export type UrlCheckCode = 'invalid_url' | 'unsupported_protocol' | 'blocked_address' | 'credentials_in_url';

export type UrlCheckResult =
  | { ok: true; url: URL }
  | { ok: false; code: UrlCheckCode; message: string };

function isLocalhostName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.+$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

/**
 * Cheap syntactic check for a user-submitted URL: http(s) only, no userinfo,
 * and (unless allowed) no literal private/loopback IP or localhost name.
 * Hostnames that merely resolve to private addresses pass here; the
 * connect-time check in core/outbound catches them.
 */
/** The rule every URL we will request must pass, at submit time and on every hop: http(s), no credentials. */
export function webUrlProblem(url: URL): { code: 'unsupported_protocol' | 'credentials_in_url'; message: string } | null {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { code: 'unsupported_protocol', message: `unsupported protocol ${url.protocol.replace(/:$/, '')} (only http and https are allowed)` };
  }
  if (url.username !== '' || url.password !== '') {
    return { code: 'credentials_in_url', message: 'URLs with embedded credentials are not allowed' };
  }
  return null;
}

export function checkUrlSyntax(url: string, opts: { allowPrivateNetworks: boolean }): UrlCheckResult {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, code: 'invalid_url', message: 'not a valid absolute URL' };
  }
  const problem = webUrlProblem(parsed);
  if (problem) return { ok: false, ...problem };
  if (parsed.hostname === '') return { ok: false, code: 'invalid_url', message: 'URL has no host' };
  if (!opts.allowPrivateNetworks) {
    if (isLocalhostName(parsed.hostname)) {
      return { ok: false, code: 'blocked_address', message: `host ${parsed.hostname} is a local address` };
    }
    // WHATWG parsing already canonicalised odd IPv4 spellings; parseHostAsIp
    // is a second line in case it ever did not.
    const ip = parseHostAsIp(parsed.hostname);
    if (ip !== null && isBlockedAddress(ip)) {
      return { ok: false, code: 'blocked_address', message: `address ${ip} is private, loopback or reserved` };
    }
  }
  return { ok: true, url: parsed };
}
