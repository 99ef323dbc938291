// What `npm run deploy` refuses before anything reaches Cloudflare: a configuration that can only
// work on this machine. Pure functions over the Worker's configuration (as wrangler reads it), so
// they are unit-tested without wrangler (test/unit/deploy-checks.test.ts).

const ZERO_UUID = /^0{8}-0{4}-0{4}-0{4}-0{12}$/;

/** The first 16 bits of an IPv6 address written in full or with `::`, or null when it is not IPv6. */
function ipv6Head(host) {
  if (!host.includes(":")) return null;
  const head = host.split(":")[0];
  return head === "" ? 0 : Number.parseInt(head, 16);
}

function ipv4Octets(host) {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.map(Number);
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:7f00:1`, as URL writes it), or null. */
function mappedIpv4Octets(host) {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  if (dotted) return ipv4Octets(dotted[1]);
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (!hex) return null;
  const [high, low] = [Number.parseInt(hex[1], 16), Number.parseInt(hex[2], 16)];
  return [high >> 8, high & 0xff, low >> 8, low & 0xff];
}

/**
 * Why a Worker running on Cloudflare cannot reach `host`, or null when it may. Loopback, the
 * unspecified address, private, link-local and shared (CGNAT) ranges, and names that only resolve
 * on a local network (`localhost`, single labels such as a Compose service, `.local`, `.internal`).
 */
export function unreachableHostReason(rawHost) {
  const host = rawHost.replace(/^\[|\]$/g, "").toLowerCase();
  const v4 = ipv4Octets(host) ?? mappedIpv4Octets(host);
  if (v4) {
    const [a, b] = v4;
    if (a === 127) return "a loopback address (this machine)";
    if (a === 0) return "the unspecified address";
    if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return "a private network address";
    if (a === 169 && b === 254) return "a link-local address";
    if (a === 100 && b >= 64 && b <= 127) return "a shared (CGNAT) address";
    return null;
  }
  const v6 = ipv6Head(host);
  if (v6 !== null) {
    if (host === "::1" || /^(0{1,4}:){7}0{0,3}1$/.test(host)) return "a loopback address (this machine)";
    if (host === "::" || /^(0{1,4}:){7}0{1,4}$/.test(host)) return "the unspecified address";
    if ((v6 & 0xfe00) === 0xfc00) return "a private network address (unique local)";
    if ((v6 & 0xffc0) === 0xfe80) return "a link-local address";
    return null;
  }
  if (host === "localhost" || host.endsWith(".localhost")) return "a loopback name (this machine)";
  if (!host.includes(".")) return "a name without a domain, which only a local network resolves";
  if (host.endsWith(".local") || host.endsWith(".internal")) return "a name only a local network resolves";
  return null;
}

/**
 * The problems that make a deployment of this configuration fail or reach the wrong place, each a
 * sentence saying what to change; an empty list when there are none. `config` is what wrangler's
 * `unstable_readConfig` returns (only `vars` and `d1_databases` are read).
 */
export function deployProblems(config) {
  const problems = [];
  const url = config.vars?.LITELLM_BASE_URL;
  if (typeof url !== "string" || url.trim() === "") {
    problems.push("LITELLM_BASE_URL is not set in wrangler.toml [vars]: set it to your LiteLLM proxy's public URL.");
  } else {
    let parsed = null;
    try {
      parsed = new URL(url);
    } catch {
      problems.push(`LITELLM_BASE_URL = "${url}" in wrangler.toml [vars] is not a URL: set it to your LiteLLM proxy's public URL.`);
    }
    if (parsed && parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      problems.push(`LITELLM_BASE_URL = "${url}" in wrangler.toml [vars] is not an http(s) URL.`);
    } else if (parsed) {
      const reason = unreachableHostReason(parsed.hostname);
      if (reason) {
        problems.push(
          `LITELLM_BASE_URL = "${url}" in wrangler.toml [vars] names ${reason}; the deployed Worker cannot reach it. ` +
            "Set it to your LiteLLM proxy's public URL (npm start keeps using its own local LiteLLM).",
        );
      }
    }
  }
  const databases = config.d1_databases ?? [];
  const db = databases.find((d) => d.binding === "DB");
  if (!db) {
    problems.push('wrangler.toml has no [[d1_databases]] with binding = "DB".');
  } else if (!db.database_id || ZERO_UUID.test(db.database_id)) {
    problems.push(
      `database_id of the DB database in wrangler.toml is ${db.database_id ? `the placeholder ${db.database_id}` : "not set"}: ` +
        `run "npx wrangler d1 create ${db.database_name ?? "llm-job-gateway"}" and put the database_id it prints into wrangler.toml.`,
    );
  }
  return problems;
}
