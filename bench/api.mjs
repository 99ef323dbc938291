// The gateway's API as the bench uses it: tenancy setup, jobs, calls, and the request bodies.
import { ADMIN_KEY, DISTANT_MODEL, DISTANT_STREAM_MODEL, MESSAGES, PLAIN_MODEL, STREAM_MODEL } from "./config.mjs";
import { json } from "./lib/http.mjs";

export const adminHeaders = { "x-admin-key": ADMIN_KEY };
export const teamHeaders = (key) => ({ authorization: `Bearer ${key}` });

/**
 * One organization, the model groups "bench" (plain), "bench-stream" (paced) and the distant
 * scenario's two (the upstream's first byte late), and the teams; resolves { teamId: key }.
 */
export async function setupTenancy(base, teams) {
  await json("POST", `${base}/api/organizations/create`, { headers: adminHeaders, body: { organization_id: "bench-org", name: "Bench" } });
  for (const [group, model] of [
    ["bench", PLAIN_MODEL],
    ["bench-stream", STREAM_MODEL],
    ["bench-distant", DISTANT_MODEL],
    ["bench-distant-stream", DISTANT_STREAM_MODEL],
  ]) {
    await json("POST", `${base}/api/model-groups/create`, {
      headers: adminHeaders,
      body: { group_name: group, display_name: group, models: [{ model_name: model, priority: 0 }] },
    });
  }
  const keys = {};
  for (const teamId of teams) {
    const created = await json("POST", `${base}/api/teams/create`, {
      headers: adminHeaders,
      body: {
        organization_id: "bench-org",
        team_id: teamId,
        model_groups: ["bench", "bench-stream", "bench-distant", "bench-distant-stream"],
        credits_allocated: 100_000_000,
      },
    });
    keys[teamId] = created.json.virtual_key;
  }
  return keys;
}

export async function createJob(base, teamId, key, jobType = "bench") {
  const res = await json("POST", `${base}/api/jobs/create`, { headers: teamHeaders(key), body: { team_id: teamId, job_type: jobType } });
  return res.json.job_id;
}

export async function completeJob(base, key, jobId, status = "completed") {
  return json("POST", `${base}/api/jobs/${jobId}/complete`, { headers: teamHeaders(key), body: { status } });
}

export const gatewayCallBody = (group = "bench") => ({ model_group: group, messages: MESSAGES });
export const upstreamBody = (model = PLAIN_MODEL, extra = {}) => ({ model, messages: MESSAGES, ...extra });
export const streamBody = (model = STREAM_MODEL) => upstreamBody(model, { stream: true, stream_options: { include_usage: true } });

export async function llmCall(base, key, jobId) {
  return json("POST", `${base}/api/jobs/${jobId}/llm-call`, { headers: teamHeaders(key), body: gatewayCallBody() });
}
