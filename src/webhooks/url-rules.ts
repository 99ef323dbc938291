// Which webhook URLs are accepted. A Worker cannot resolve DNS, so host names are judged as
// written: literal private, loopback, link-local, CGNAT, unique-local and unspecified addresses
// are refused, as are localhost-like and internal names (Cloudflare's fetch does not reach
// private networks either). Only https, except http://127.0.0.1 and http://localhost when
// WEBHOOK_ALLOW_HTTP_LOCALHOST is "true" (local development and tests).

const MAX_URL_LENGTH = 2048;

function ipv4Parts(host: string): number[] | null {
  const parts = host.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p))) return null;
  const nums = parts.map(Number);
  return nums.every((n) => n <= 255) ? nums : null;
}

function isPrivateIpv4([a, b]: number[]): boolean {
  return (
    a === 0 || // "this network"
    a === 10 ||
    a === 127 || // loopback
    (a === 100 && b >= 64 && b <= 127) || // CGNAT
    (a === 169 && b === 254) || // link-local (cloud metadata)
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) || // IETF protocol assignments
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a >= 224 // multicast, reserved, broadcast
  );
}

function isPrivateIpv6(bracketed: string): boolean {
  const ip = bracketed.slice(1, -1).toLowerCase();
  // IPv4-mapped and -compatible addresses are judged by their IPv4 part (URL writes it in hex).
  const mapped = /^::(ffff:)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ip);
  if (mapped) {
    const hi = Number.parseInt(mapped[2], 16);
    const lo = Number.parseInt(mapped[3], 16);
    return isPrivateIpv4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  }
  return (
    ip === "::" ||
    ip === "::1" ||
    /^f[cd][0-9a-f]{0,2}:/.test(ip) || // unique local fc00::/7
    /^fe[89ab][0-9a-f]?:/.test(ip) || // link-local fe80::/10
    /^ff[0-9a-f]{0,2}:/.test(ip) || // multicast
    ip.startsWith("64:ff9b:") || // NAT64
    ip.startsWith("2001:db8:") // documentation
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
