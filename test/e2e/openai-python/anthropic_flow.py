"""/v1/messages driven by the official anthropic Python package, against a running gateway.

Usage: python anthropic_flow.py <gateway base URL> <admin key>. Sets up its own organization,
group and teams through /api, then uses only the two settings a developer changes (base_url,
api_key). Exits non-zero on the first failed check; prints one line per check.
"""

import json
import sys
import urllib.request
import uuid

import anthropic
from anthropic import Anthropic

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


def team(credits=10):
    suffix = uuid.uuid4().hex[:8]
    org = f"anthropic-org-{suffix}"
    api("POST", "/organizations/create", {"organization_id": org, "name": org})
    group = f"anthropic-group-{suffix}"
    api("POST", "/model-groups/create", {"group_name": group, "models": [{"model_name": "gpt-4o-mini", "priority": 0}]})
    created = api(
        "POST",
        "/teams/create",
        {"organization_id": org, "team_id": f"anthropic-team-{suffix}", "model_groups": [group], "credits_allocated": credits},
    )
    return created["team_id"], created["virtual_key"], group


def check(name, condition):
    if not condition:
        print(f"FAILED: {name}")
        sys.exit(1)
    print(f"ok: {name}")


team_id, key, group = team()
client = Anthropic(base_url=BASE, api_key=key, max_retries=0)
messages = [{"role": "user", "content": "How do I reset my password?"}]

raw = client.messages.with_raw_response.create(model=group, max_tokens=300, messages=messages)
message = raw.parse()
check("messages.create: a message with the group as model", message.type == "message" and message.model == group)
check("messages.create: text and token usage", message.content[0].type == "text" and message.usage.output_tokens > 0)
job = api("GET", f"/jobs/{raw.headers['x-job-id']}", key=key)
check("messages.create: a one-request job, completed", job["status"] == "completed" and job["calls"][0]["completion_tokens"] == message.usage.output_tokens)

with client.messages.stream(model=group, max_tokens=300, messages=messages) as stream:
    text = "".join(stream.text_stream)
    final = stream.get_final_message()
check("messages.stream: the same text as the plain message", text == message.content[0].text)
check("messages.stream: the plain usage", (final.usage.input_tokens, final.usage.output_tokens) == (message.usage.input_tokens, message.usage.output_tokens))

tagged = client.messages.create(
    model=group, max_tokens=50, messages=messages, metadata={"user_id": "customer-7"}, extra_headers={"X-Gateway-Tags": "python,docs"}
)
usage = api("GET", f"/teams/{team_id}/usage?group_by=end_user", key=key)
check("metadata.user_id: the call's end user, in the team's usage", usage["end_users"]["customer-7"]["calls"] == 1)

check("models.list: Anthropic's list of the team's groups", [m.id for m in client.models.list().data] == [group])

try:
    Anthropic(base_url=BASE, api_key="sk-wrong", max_retries=0).messages.create(model=group, max_tokens=10, messages=messages)
    check("401 raises AuthenticationError", False)
except anthropic.AuthenticationError as error:
    check("401 raises AuthenticationError (authentication_error)", error.body["error"]["type"] == "authentication_error")

try:
    client.messages.create(model="no-such-group", max_tokens=10, messages=messages)
    check("404 raises NotFoundError", False)
except anthropic.NotFoundError as error:
    check("404 raises NotFoundError (not_found_error)", error.body["error"]["type"] == "not_found_error")

_, broke_key, broke_group = team(credits=0)
try:
    Anthropic(base_url=BASE, api_key=broke_key, max_retries=0).messages.create(model=broke_group, max_tokens=10, messages=messages)
    check("402 raises APIStatusError", False)
except anthropic.APIStatusError as error:
    check("402 raises APIStatusError (billing_error)", error.status_code == 402 and error.body["error"]["type"] == "billing_error")

paused_id, paused_key, paused_group = team()
api("PUT", f"/teams/{paused_id}/pause")
try:
    with Anthropic(base_url=BASE, api_key=paused_key, max_retries=0).messages.stream(
        model=paused_group, max_tokens=10, messages=messages
    ) as stream:
        stream.get_final_message()
    check("429 raises RateLimitError", False)
except anthropic.RateLimitError as error:
    check("429 raises RateLimitError with Retry-After", error.response.headers.get("retry-after", "").isdigit())

balance = api("GET", f"/credits/teams/{team_id}/balance", key=key)
check("balance: one credit per job (3 jobs of 10 credits)", balance["credits_remaining"] == 7)

print("python anthropic sdk flow: all checks passed")
