import { describe, expect, inject, it } from "vitest";
import {
  allTransactions,
  api,
  balance,
  createJob,
  createTeam,
  expectLedgerConsistent,
  json,
  type TestTeam,
  upstreamRequests,
  userMessage,
} from "./helpers";

const mockUrl = inject("mockLiteLLMUrl");

// gpt-4o-mini's real prices (the mock's cost header uses the same), put in the pricing table
// under a model name of its own per test, so the hold is priced and the actual cost is below it.
let variant = 100;
async function pricedModel(): Promise<string> {
  variant += 1;
  const model = `gpt-4o-mini+chunks=${(variant % 50) + 3}+ttfb=${variant}`;
  await json("PUT", "/api/pricing", 200, { body: { model_name: model, input_per_million_usd: 0.15, output_per_million_usd: 0.6 } });
  return model;
}

async function usdTeam(credits: number, extra: Record<string, unknown> = {}): Promise<TestTeam> {
  const model = await pricedModel();
  // 10,000 credits per dollar: a call of gpt-4o-mini costs a few hundredths of a credit.
  return createTeam({ credits, models: [[model]], extra: { budget_mode: "consumption_usd", credits_per_dollar: 10_000, ...extra } });
}

function streamCall(team: TestTeam, jobId: string, extra: Record<string, unknown> = {}) {
  return api("POST", `/api/jobs/${jobId}/llm-call-stream`, {
    key: team.key,
    body: { model_group: team.groups[0], messages: userMessage(), ...extra },
  });
}

describe("hard budgets: holds of the worst case", () => {
  it("a new team's balance shows overdraft none, unpriced calls refused and nothing held", async () => {
    const team = await createTeam({ extra: { budget_mode: "consumption_usd" } });
    expect(await balance(team)).toMatchObject({ overdraft: "none", unpriced_calls: "refuse", tpm_limit: null, credits_held: 0 });
  });

  // 1 credit is $0.001 here. max_tokens 500 holds about $0.0003 a call, so a few fit at a time
  // and the rest are refused; max_tokens 100,000 holds $0.06, so every call is refused.
  it.each([
    { maxTokens: 500, served: "some" },
    { maxTokens: 100_000, served: "none" },
  ])(
    "200 concurrent streams with max_tokens $maxTokens against 1 credit: never negative, at most 1 credit captured, each refused or charged ($served served)",
    async ({ maxTokens, served: expectServed }) => {
      const team = await usdTeam(1, { credits_per_dollar: 1000 });
      const job = await createJob(team);
      const answers = await Promise.all(
        Array.from({ length: 200 }, async () => {
          const res = await streamCall(team, job, { max_tokens: maxTokens });
          const text = await res.text();
          return { status: res.status, text };
        }),
      );
      const served = answers.filter((a) => a.status === 200);
      const refused = answers.filter((a) => a.status === 402);
      expect(served.length + refused.length).toBe(200);
      if (expectServed === "some") expect(served.length).toBeGreaterThan(0);
      else expect(served.length).toBe(0);
      expect(refused.length).toBeGreaterThan(0);
      for (const a of served) expect(a.text).toContain("data: [DONE]");
      for (const a of refused) expect(JSON.parse(a.text).detail).toMatch(/insufficient credits/i);
      // Nothing refused reached the upstream.
      expect((await upstreamRequests(mockUrl, team.teamId)).length).toBe(served.length);

      const view = await json("GET", `/api/jobs/${job}?calls_limit=1000`, 200, { key: team.key });
      expect(view.calls.length).toBe(served.length);
      const summary = await json("POST", `/api/jobs/${job}/complete`, 200, { key: team.key, body: { status: "completed" } });
      expect(summary.costs.credit_applied).toBe(true);
      const b = await expectLedgerConsistent(team);
      expect(b.credits_used).toBeLessThanOrEqual(1);
      expect(b.credits_remaining).toBeGreaterThanOrEqual(0);
      expect(b.credits_held).toBe(0);
    },
  );

  it("a call whose real cost is below its hold captures the cost and releases the rest, in one ledger row", async () => {
    const team = await usdTeam(10);
    const job = await createJob(team);
    const res = await api("POST", `/api/jobs/${job}/llm-call`, {
      key: team.key,
      body: { model_group: team.groups[0], messages: userMessage(), max_tokens: 1000 },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get("x-budget-max-tokens")).toBeNull(); // the client set its own
    const rows = await allTransactions(team);
    const hold = rows.find((r) => r.kind === "hold");
    const capture = rows.find((r) => r.kind === "capture");
    // Worst case: ~12 prompt tokens × $0.15/M + 1000 × $0.6/M ≈ $0.0006 → 6 credits at 10,000 per dollar.
    expect(hold.held_change_micro).toBeGreaterThan(5_000_000);
    expect(hold.amount).toBe(0);
    expect(capture.held_change_micro).toBe(-hold.held_change_micro);
    const [, captured, held, released] = capture.reason.match(/: (\d+) of (\d+) micro-credits held captured into its job, (\d+) released/);
    expect(Number(held)).toBe(hold.held_change_micro);
    expect(Number(captured)).toBeGreaterThan(0);
    expect(Number(captured) + Number(released)).toBe(Number(held));
    expect(Number(released)).toBeGreaterThan(Number(captured));
    expect((await balance(team)).credits_held).toBe(0);
    await expectLedgerConsistent(team);
  });

  it("a streamed call whose usage never came is charged the estimate, never more than its hold", async () => {
    const model = `gpt-4o-mini+fail=midstream+ttfb=${++variant}`;
    await json("PUT", "/api/pricing", 200, { body: { model_name: model, input_per_million_usd: 0.15, output_per_million_usd: 0.6 } });
    const team = await createTeam({
      credits: 10,
      models: [[model]],
      extra: { budget_mode: "consumption_usd", credits_per_dollar: 10_000 },
    });
    const job = await createJob(team);
    // max_tokens 1 holds one completion token; the two content chunks delivered are estimated at more.
    const res = await streamCall(team, job, { max_tokens: 1 });
    expect(res.status).toBe(200);
    await res.text();
    const { calls } = await json("GET", `/api/jobs/${job}`, 200, { key: team.key });
    expect(calls[0]).toMatchObject({ usage_estimated: true });
    expect(calls[0].completion_tokens).toBeLessThanOrEqual(1);
    const capture = (await allTransactions(team)).find((r) => r.kind === "capture");
    const [, captured, held] = capture.reason.match(/: (\d+) of (\d+) micro-credits held/);
    expect(Number(captured)).toBeGreaterThan(0);
    expect(Number(captured)).toBeLessThanOrEqual(Number(held));
    await expectLedgerConsistent(team);
  });

  it("a call without max_tokens gets the largest the credits pay for, capped at 4096, and says so in X-Budget-Max-Tokens", async () => {
    const team = await usdTeam(1, { credits_per_dollar: 1000 });
    const job = await createJob(team);
    // 1 credit = $0.001: at $0.6/M output tokens that is about 1,666 tokens less the prompt.
    const res = await streamCall(team, job);
    expect(res.status, await res.clone().text()).toBe(200);
    const chosen = Number(res.headers.get("x-budget-max-tokens"));
    await res.text();
    expect(chosen).toBeGreaterThan(1500);
    expect(chosen).toBeLessThan(1667);
    const sent = await upstreamRequests(mockUrl, team.teamId);
    expect(sent[0].body.max_tokens).toBe(chosen);

    const rich = await usdTeam(1000);
    const plain = await api("POST", `/api/jobs/${await createJob(rich)}/llm-call`, {
      key: rich.key,
      body: { model_group: rich.groups[0], messages: userMessage() },
    });
    expect(plain.status).toBe(200);
    expect(plain.headers.get("x-budget-max-tokens")).toBe("4096");
  });

  it("a max_tokens whose worst case does not fit is 402 before anything goes upstream", async () => {
    const team = await usdTeam(1, { credits_per_dollar: 1000 });
    const job = await createJob(team);
    const res = await streamCall(team, job, { max_tokens: 100_000 });
    expect(res.status).toBe(402);
    expect((await res.json<any>()).detail).toMatch(/may cost up to \d+ credit/);
    expect(await upstreamRequests(mockUrl, team.teamId)).toEqual([]);
    await expectLedgerConsistent(team);
  });

  it("a group with an unpriced model is refused (402) by default, and admitted unheld with unpriced_calls: allow", async () => {
    const team = await createTeam({ credits: 10, models: [["gpt-4o-mini"]], extra: { budget_mode: "consumption_usd" } });
    const job = await createJob(team);
    const refused = await streamCall(team, job);
    expect(refused.status).toBe(402);
    expect((await refused.json<any>()).detail).toMatch(/without a price/);
    await json("PATCH", `/api/credits/teams/${team.teamId}/budget-mode`, 200, {
      body: { budget_mode: "consumption_usd", unpriced_calls: "allow" },
    });
    const allowed = await streamCall(team, job);
    expect(allowed.status).toBe(200);
    await allowed.text();
    await expectLedgerConsistent(team);
  });

  it("tokens per minute: held tokens count at admission; beyond the limit 429 with Retry-After", async () => {
    const team = await createTeam({ credits: 100, extra: { tpm_limit: 1000 } });
    const job = await createJob(team);
    const first = await streamCall(team, job, { max_tokens: 600 });
    expect(first.status).toBe(200);
    await first.text();
    // The first call used far fewer than 600 tokens: settled, its unused tokens came back.
    const second = await streamCall(team, job, { max_tokens: 600 });
    expect(second.status).toBe(200);
    await second.text();
    const third = await streamCall(team, job, { max_tokens: 990 });
    expect(third.status).toBe(429);
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await third.json<any>()).detail).toMatch(/Tokens-per-minute limit of 1000/);
    await json("PATCH", `/api/teams/${team.teamId}`, 200, { body: { tpm_limit: null } });
    expect((await balance(team)).tpm_limit).toBeNull();
  });
});
