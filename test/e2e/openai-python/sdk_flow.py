"""The /v1 surface driven by the official openai Python package, against a running gateway.

Usage: python sdk_flow.py <gateway base URL> <admin key>. Sets up its own organization, groups and
teams through /api, then uses only the two settings a developer changes (base_url, api_key).
Exits non-zero on the first failed check; prints one line per check.
"""

import json
import sys
import urllib.request
import uuid

import openai
from openai import OpenAI

BASE, ADMIN = sys.argv[1].rstrip("/"), sys.argv[2]


def api(method, path, body=None, key=ADMIN):
    request = urllib.request.Request(
        f"{BASE}/api{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def team(models, credits=10):
    suffix = uuid.uuid4().hex[:8]
    org = f"py-org-{suffix}"
    api("POST", "/organizations/create", {"organization_id": org, "name": org})
    groups = []
    for i, model in enumerate(models):
        group = f"py-group-{suffix}-{i}"
        api("POST", "/model-groups/create", {"group_name": group, "models": [{"model_name": model, "priority": 0}]})
        groups.append(group)
    created = api(
        "POST",
        "/teams/create",
        {"organization_id": org, "team_id": f"py-team-{suffix}", "model_groups": groups, "credits_allocated": credits},
    )
    return created["team_id"], created["virtual_key"], groups


def check(name, condition):
    if not condition:
        print(f"FAILED: {name}")
        sys.exit(1)
    print(f"ok: {name}")


team_id, key, (chat_group, embedding_group) = team(["gpt-4o-mini", "text-embedding-3-small"])
client = OpenAI(base_url=f"{BASE}/v1", api_key=key, max_retries=0)
messages = [{"role": "user", "content": "How do I reset my password?"}]

raw = client.chat.completions.with_raw_response.create(model=chat_group, messages=messages)
completion = raw.parse()
check("plain chat: chat.completion with the group as model", completion.object == "chat.completion" and completion.model == chat_group)
check("plain chat: an answer and token usage", bool(completion.choices[0].message.content) and completion.usage.total_tokens > 0)
job = api("GET", f"/jobs/{raw.headers['x-job-id']}", key=key)
check("plain chat: a one-request job, completed", job["status"] == "completed" and job["job_type"] == "api")

chunks = list(client.chat.completions.create(model=chat_group, messages=messages, stream=True, stream_options={"include_usage": True}))
text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
check("stream: the same text as the plain answer", text == completion.choices[0].message.content)
check("stream: usage in the last chunk", chunks[-1].usage is not None and chunks[-1].usage.total_tokens == completion.usage.total_tokens)

check("models.list: the team's groups", sorted(m.id for m in client.models.list().data) == sorted([chat_group, embedding_group]))

raw_response = client.responses.with_raw_response.create(model=chat_group, input="How do I reset my password?", max_output_tokens=300)
response = raw_response.parse()
check("responses.create: a response with the group as model", response.object == "response" and response.model == chat_group)
check("responses.create: text and token usage", bool(response.output_text) and response.usage.total_tokens > 0)
check("responses.create: stateless (store false)", response.store is False)
job = api("GET", f"/jobs/{raw_response.headers['x-job-id']}", key=key)
check("responses.create: a one-request job, completed", job["status"] == "completed" and job["calls"][0]["total_tokens"] == response.usage.total_tokens)

events = list(client.responses.create(model=chat_group, input="How do I reset my password?", max_output_tokens=300, stream=True))
streamed_text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
check("responses stream: the same text as the plain response", streamed_text == response.output_text)
check("responses stream: response.completed last, with the plain usage", events[-1].type == "response.completed" and events[-1].response.usage.total_tokens == response.usage.total_tokens)
with client.responses.stream(model=chat_group, input="How do I reset my password?", max_output_tokens=300) as stream:
    final = stream.get_final_response()
check("responses.stream helper: the final response", final.output_text == response.output_text)

try:
    client.responses.create(model=chat_group, input="Hi", previous_response_id=response.id)
    check("previous_response_id raises BadRequestError", False)
except openai.BadRequestError as error:
    check("previous_response_id raises BadRequestError (stateless)", "stateless" in str(error))

embedded = client.embeddings.create(model=embedding_group, input="hello world")
check("embeddings: one vector of 8 floats", len(embedded.data) == 1 and len(embedded.data[0].embedding) == 8)

job_id = api("POST", "/jobs/create", {"team_id": team_id, "job_type": "python_agent"}, key=key)["job_id"]
for step in ("one", "two"):
    client.chat.completions.create(model=chat_group, messages=[{"role": "user", "content": f"Step {step}"}], extra_headers={"X-Job-Id": job_id})
summary = api("POST", f"/jobs/{job_id}/complete", {"status": "completed"}, key=key)
check("X-Job-Id: two calls in the team's job, charged once", summary["costs"]["total_calls"] == 2 and summary["costs"]["credit_applied"])
balance = api("GET", f"/credits/teams/{team_id}/balance", key=key)
check("balance: one credit per job (7 jobs of 10 credits)", balance["credits_remaining"] == 3)

try:
    OpenAI(base_url=f"{BASE}/v1", api_key="sk-wrong", max_retries=0).models.list()
    check("401 raises AuthenticationError", False)
except openai.AuthenticationError as error:
    check("401 raises AuthenticationError (invalid_api_key)", error.code == "invalid_api_key")

try:
    client.chat.completions.create(model="no-such-group", messages=messages)
    check("404 raises NotFoundError", False)
except openai.NotFoundError as error:
    check("404 raises NotFoundError (model_not_found)", error.code == "model_not_found")

_, broke_key, (broke_group, _) = team(["gpt-4o-mini", "gpt-4"], credits=0)
try:
    OpenAI(base_url=f"{BASE}/v1", api_key=broke_key, max_retries=0).chat.completions.create(model=broke_group, messages=messages)
    check("402 raises APIStatusError", False)
except openai.APIStatusError as error:
    check("402 raises APIStatusError (insufficient_quota)", error.status_code == 402 and error.code == "insufficient_quota")

paused_id, paused_key, (paused_group, _) = team(["gpt-4o-mini", "gpt-4"])
api("PUT", f"/teams/{paused_id}/pause")
try:
    OpenAI(base_url=f"{BASE}/v1", api_key=paused_key, max_retries=0).chat.completions.create(model=paused_group, messages=messages)
    check("429 raises RateLimitError", False)
except openai.RateLimitError as error:
    check("429 raises RateLimitError with Retry-After", error.response.headers.get("retry-after", "").isdigit())

print("python openai sdk flow: all checks passed")
