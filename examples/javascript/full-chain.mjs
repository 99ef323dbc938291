// The seed's JavaScript example with Node's own fetch (Node 20 or newer, nothing to install):
// organization -> model group -> team with 50 credits -> job -> one LLM call -> complete
// (credits remaining 49).
//
//   node examples/javascript/full-chain.mjs
//
// BASE is the gateway's URL (default http://localhost:$PORT, PORT defaulting to 8003),
// ADMIN_API_KEY its admin key (default: npm start's local sk-admin-key-change-me). A team's key
// is shown only when the team is created, so a second run needs another TEAM_ID.

const BASE = process.env.BASE || `http://localhost:${process.env.PORT || 8003}`;
const API_URL = `${BASE}/api`;
const ADMIN_KEY = process.env.ADMIN_API_KEY || "sk-admin-key-change-me";
const TEAM_ID = process.env.TEAM_ID || "js-team";

class GatewayError extends Error {
  constructor(status, body) {
    super(`HTTP ${status}: ${JSON.stringify(body)}`);
    this.status = status;
    this.body = body;
  }
}

/** One request: the answer's JSON, or a GatewayError with the status and the gateway's body. */
async function request(method, path, key, payload) {
  const res = await fetch(`${API_URL}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new GatewayError(res.status, body);
  return body;
}

/** Create something; when it already exists (400 "already exists"), fetch it instead. */
async function createOrGet(path, payload, getPath) {
  try {
    return await request("POST", path, ADMIN_KEY, payload);
  } catch (error) {
    if (error instanceof GatewayError && error.status === 400 && String(error.body?.detail).includes("already exists")) {
      return request("GET", getPath, ADMIN_KEY);
    }
    throw error;
  }
}

async function fullWorkflowExample() {
  console.log("=".repeat(70));
  console.log("LLM JOB GATEWAY - FULL WORKFLOW EXAMPLE (JavaScript)");
  console.log("=".repeat(70));

  console.log("\n[1/6] Creating Organization...");
  const org = await createOrGet(
    "/organizations/create",
    { organization_id: "acme-corp-js", name: "Acme Corporation (JS)", metadata: { industry: "technology" } },
    "/organizations/acme-corp-js",
  );
  console.log(`✓ Organization: ${org.organization_id}`);

  console.log("\n[2/6] Creating Model Group (lower priority numbers are tried first)...");
  const group = await createOrGet(
    "/model-groups/create",
    {
      group_name: "ChatFastJS",
      models: [
        { model_name: "gpt-3.5-turbo", priority: 0 },
        { model_name: "gpt-4o-mini", priority: 1 },
      ],
    },
    "/model-groups/ChatFastJS",
  );
  console.log(`✓ Model group: ${group.group_name}`);

  console.log("\n[3/6] Creating Team...");
  const team = await request("POST", "/teams/create", ADMIN_KEY, {
    organization_id: "acme-corp-js",
    team_id: TEAM_ID,
    team_alias: "JavaScript Team",
    model_groups: ["ChatFastJS"],
    credits_allocated: 50,
  });
  const key = team.virtual_key;
  console.log(`✓ Team: ${team.team_id}, ${team.credits_allocated} credits; virtual key ${key.slice(0, 12)}... (shown once)`);

  console.log("\n[4/6] Creating Job...");
  const { job_id: jobId } = await request("POST", "/jobs/create", key, {
    team_id: TEAM_ID,
    job_type: "demo",
    metadata: { example: "javascript" },
  });
  console.log(`✓ Job: ${jobId}`);

  console.log("\n[5/6] Making LLM Call...");
  const answer = await request("POST", `/jobs/${jobId}/llm-call`, key, {
    model_group: "ChatFastJS",
    messages: [{ role: "user", content: "What is Node.js?" }],
    purpose: "demo",
  });
  console.log(`✓ Response: ${answer.response.content.slice(0, 60)}... (${answer.metadata.tokens_used} tokens)`);

  console.log("\n[6/6] Completing Job...");
  const { costs } = await request("POST", `/jobs/${jobId}/complete`, key, { status: "completed" });
  console.log(`✓ Job completed: ${costs.total_calls} call, credit applied: ${costs.credit_applied}`);
  console.log(`  Credits remaining: ${costs.credits_remaining}`);
  console.log("=".repeat(70));
  console.log("WORKFLOW COMPLETED SUCCESSFULLY!");
}

try {
  await fullWorkflowExample();
} catch (error) {
  if (error instanceof GatewayError && error.status === 400 && String(error.body?.detail).includes("already exists")) {
    console.error(`Team ${TEAM_ID} already exists and its key was shown only when it was created: run with another TEAM_ID.`);
  } else if (error instanceof GatewayError) {
    console.error(`The gateway refused a request: ${error.message}`);
  } else {
    console.error(`Could not reach ${BASE} (${error.cause?.message ?? error.message}): is the gateway running (npm start)?`);
  }
  process.exitCode = 1;
}
