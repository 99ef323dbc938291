// Which webhook URLs are accepted. A Worker cannot resolve DNS, so host names are judged as
// written: literal private, loopback, link-local, CGNAT, unique-local, site-local, reserved and
// unspecified addresses are refused (an IPv6 address that carries an IPv4 one by that address),
// as are localhost-like and internal names (Cloudflare's fetch does not reach private networks
// either). Only https, except http://127.0.0.1 and http://localhost when
// WEBHOOK_ALLOW_HTTP_LOCALHOST is "true" (local development and tests).

const MAX_URL_LENGTH = 2048;

function ipv4Parts(host: string): number[] | null {
  const parts = host.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p))) return null;
  const nums = parts.map(Number);
  return nums.every((n) => n <= 255) ? nums : null;
}

function isPrivateIpv4([a, b, c]: number[]): boolean {
  return (
    a === 0 || // "this network"
    a === 10 ||
    a === 127 || // loopback
    (a === 100 && b >= 64 && b <= 127) || // CGNAT
    (a === 169 && b === 254) || // link-local (cloud metadata)
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) || // IETF protocol assignments, documentation
    (a === 192 && b === 88 && c === 99) || // 6to4 relay anycast
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    (a === 198 && b === 51 && c === 100) || // documentation
    (a === 203 && b === 0 && c === 113) || // documentation
    a >= 224 // multicast, reserved, broadcast
  );
}

/** The eight 16-bit groups of an IPv6 address (as URL writes it: hex, `::` compressed), or null. */
function ipv6Groups(ip: string): number[] | null {
  let text = ip;
  // A dotted IPv4 tail (URL rewrites it in hex, but judge it either way).
  const dotted = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (dotted) {
    const v4 = ipv4Parts(dotted[2]);
    if (!v4) return null;
    text = `${dotted[1]}${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === "" ? [] : part.split(":"));
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...Array<string>(missing).fill("0"), ...tail];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => Number.parseInt(g, 16));
}

/** The IPv4 address in two 16-bit groups. */
const ipv4Of = (hi: number, lo: number) => [hi >> 8, hi & 255, lo >> 8, lo & 255];

/**
 * Only global unicast (2000::/3) is accepted, less its reserved blocks; an address that carries
 * an IPv4 address (IPv4-compatible, -mapped and -translated, 6to4, Teredo) is judged by that
 * address. Everything else (unspecified, loopback, unique-local, link-local, site-local,
 * multicast, discard-only, NAT64, ...) is refused.
 */
function isPrivateIpv6(bracketed: string): boolean {
  const g = ipv6Groups(bracketed.slice(1, -1).toLowerCase());
  if (!g) return true;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && (g[5] === 0 || g[5] === 0xffff)) return isPrivateIpv4(ipv4Of(g[6], g[7])); // ::a.b.c.d, ::ffff:a.b.c.d
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return isPrivateIpv4(ipv4Of(g[6], g[7])); // ::ffff:0:a.b.c.d (translated)
  if (g[0] < 0x2000 || g[0] > 0x3fff) return true; // not global unicast
  if (g[0] === 0x2002) return isPrivateIpv4(ipv4Of(g[1], g[2])); // 6to4
  if (g[0] === 0x2001 && g[1] === 0) {
    // Teredo: the server's address, and the client's (inverted) in the last 32 bits.
    return isPrivateIpv4(ipv4Of(g[2], g[3])) || isPrivateIpv4(ipv4Of(g[6] ^ 0xffff, g[7] ^ 0xffff));
  }
  return (
    (g[0] === 0x2001 && g[1] < 0x200) || // IETF protocol assignments 2001::/23 (benchmarking, ORCHID, ...)
    (g[0] === 0x2001 && g[1] === 0xdb8) || // documentation
    (g[0] === 0x3fff && g[1] < 0x1000) // documentation 3fff::/20
  );
}

function isInternalName(host: string): boolean {
  const name = host.replace(/\.$/, "");
  return (
    !name.includes(".") ||
    name === "localhost" ||
    /\.(localhost|local|internal|intranet|lan|home|corp|private|localdomain|home\.arpa)$/.test(name)
  );
}

/** Why a webhook URL is refused (a sentence for a 422), or null when it is acceptable. */
export function webhookUrlProblem(raw: string, allowHttpLocalhost: boolean): string | null {
  if (raw.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "must be an absolute URL, e.g. https://example.com/webhooks";
  }
  if (url.username || url.password) return "must not contain credentials";
  const host = url.hostname.toLowerCase();
  const localDev = allowHttpLocalhost && (host === "127.0.0.1" || host === "localhost");
  if (localDev && (url.protocol === "http:" || url.protocol === "https:")) return null;
  if (url.protocol !== "https:") return "must use https://";
  const v4 = ipv4Parts(host);
  if (v4 ? isPrivateIpv4(v4) : host.startsWith("[") ? isPrivateIpv6(host) : isInternalName(host)) {
    return `must not point to a private, loopback, link-local or internal address ('${host}')`;
  }
  return null;
}
