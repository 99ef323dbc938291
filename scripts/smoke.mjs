// `npm run smoke -- <gateway URL>`: after a deploy, checks that the gateway answers, that the
// admin key works, and that D1 is reachable and migrated (the organizations list), and says what
// to do first when there is no organization yet. It only reads: nothing is created or changed.
//
//   ADMIN_API_KEY=sk-... npm run smoke -- https://llm-job-gateway.<account>.workers.dev
//
// Exit code 0 when every check passed, 1 otherwise (each failure says what to look at).

const TIMEOUT_MS = 15_000;

const say = (line) => process.stdout.write(`${line}\n`);

async function request(base, path, key) {
  const headers = key ? { authorization: `Bearer ${key}` } : {};
  try {
    const res = await fetch(new URL(path, base), { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON: reported with the status
    }
    return { status: res.status, json, text };
  } catch (error) {
    return { status: 0, json: null, text: error.cause?.message ?? error.message };
  }
}

const detailOf = (r) => (r.status === 0 ? `no answer (${r.text})` : `HTTP ${r.status} ${r.json?.detail ?? r.text.slice(0, 200)}`);

async function main() {
  const target = process.argv[2];
  const key = process.env.ADMIN_API_KEY;
  if (!target || !/^https?:\/\//.test(target)) {
    process.stderr.write("usage: ADMIN_API_KEY=sk-... npm run smoke -- https://<your gateway>\n");
    return 2;
  }
  if (!key) {
    process.stderr.write("Set ADMIN_API_KEY to the deployed gateway's admin key (the secret, or a named admin key).\n");
    return 2;
  }
  const base = target.endsWith("/") ? target : `${target}/`;
  let failed = 0;
  const fail = (line) => {
    failed++;
    say(`✗ ${line}`);
  };

  const health = await request(base, "health");
  if (health.status === 200 && health.json?.status === "healthy") say(`✓ health: ${health.json.service} is up`);
  else fail(`health: ${detailOf(health)} (is this the gateway's URL?)`);

  const self = await request(base, "api/admin-keys/self", key);
  if (self.status === 200) {
    const scope = self.json.organization_id ? `organization ${self.json.organization_id}` : "every organization";
    say(`✓ admin key: ${self.json.name} (role ${self.json.role}, ${scope})`);
  } else if (self.status === 503) {
    fail(`admin key: ${detailOf(self)} (is the ADMIN_API_KEY secret set? wrangler secret put ADMIN_API_KEY)`);
  } else {
    fail(`admin key: ${detailOf(self)} (the key is not this gateway's admin key)`);
  }

  const orgs = await request(base, "api/organizations?limit=1", key);
  if (orgs.status === 200) {
    const first = orgs.json.organizations?.[0];
    if (first) say(`✓ organizations: D1 answers; the first is ${first.organization_id} (${first.name})`);
    else say('✓ organizations: D1 answers, none yet: create the first one (docs/operations.md, "First steps")');
  } else if (orgs.status === 503) {
    fail(`organizations: ${detailOf(orgs)} (D1 unreachable or not migrated? npx wrangler d1 migrations apply DB --remote)`);
  } else {
    fail(`organizations: ${detailOf(orgs)}`);
  }

  say(failed === 0 ? `smoke: ${base} passed` : `smoke: ${base} failed ${failed} check${failed === 1 ? "" : "s"}`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
