"""The seed's full chain in Python, with the standard library only (no `requests` to install).

Organization -> two model groups -> team with 100 credits -> job -> three LLM calls ->
complete -> balance 99 of 100.

    python3 examples/python/full_chain.py

BASE is the gateway's URL (default http://localhost:$PORT, PORT defaulting to 8003), ADMIN_API_KEY
its admin key (default: npm start's local sk-admin-key-change-me). A team's key is shown only when
the team is created, so a second run needs another TEAM_ID (or a fresh npm start state).
"""

import json
import os
import sys
import urllib.error
import urllib.request

BASE = os.environ.get("BASE") or f"http://localhost:{os.environ.get('PORT') or 8003}"
API_URL = f"{BASE}/api"
ADMIN_KEY = os.environ.get("ADMIN_API_KEY") or "sk-admin-key-change-me"
TEAM_ID = os.environ.get("TEAM_ID") or "engineering-team"


class GatewayError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def request(method, path, key, payload=None):
    """One request; the answer's JSON, or GatewayError with the status and body."""
    data = None if payload is None else json.dumps(payload).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    req = urllib.request.Request(f"{API_URL}{path}", data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=120) as res:
            return json.load(res)
    except urllib.error.HTTPError as error:
        raise GatewayError(error.code, error.read().decode(errors="replace")) from None


def create_or_get(path, payload, get_path):
    """Create something; when it already exists (400 "already exists"), fetch it instead."""
    try:
        return request("POST", path, ADMIN_KEY, payload)
    except GatewayError as error:
        if error.status == 400 and "already exists" in error.body:
            print(f"  (already exists, fetching {get_path})")
            return request("GET", get_path, ADMIN_KEY)
        raise


def full_workflow_example():
    print("=" * 70)
    print("LLM JOB GATEWAY - FULL WORKFLOW EXAMPLE (Python)")
    print("=" * 70)

    print("\n[1/7] Creating Organization...")
    org = create_or_get(
        "/organizations/create",
        {"organization_id": "acme-corp", "name": "Acme Corporation", "metadata": {"industry": "technology"}},
        "/organizations/acme-corp",
    )
    print(f"✓ Organization: {org['organization_id']}")

    print("\n[2/7] Creating Model Groups (lower priority numbers are tried first)...")
    for name, models in [("ChatFast", ["gpt-3.5-turbo", "gpt-4o-mini"]), ("ChatAdvanced", ["gpt-4", "gpt-4-turbo"])]:
        group = create_or_get(
            "/model-groups/create",
            {"group_name": name, "models": [{"model_name": m, "priority": p} for p, m in enumerate(models)]},
            f"/model-groups/{name}",
        )
        print(f"✓ Model group: {group['group_name']}")

    print("\n[3/7] Creating Team with Credits...")
    try:
        team = request(
            "POST",
            "/teams/create",
            ADMIN_KEY,
            {
                "organization_id": "acme-corp",
                "team_id": TEAM_ID,
                "team_alias": "Engineering Team",
                "model_groups": ["ChatFast", "ChatAdvanced"],
                "credits_allocated": 100,
            },
        )
    except GatewayError as error:
        if error.status == 400 and "already exists" in error.body:
            sys.exit(f"Team {TEAM_ID} already exists and its key was shown only when it was created: run with another TEAM_ID.")
        raise
    key = team["virtual_key"]
    print(f"✓ Team: {team['team_id']}, {team['credits_allocated']} credits, groups {', '.join(team['model_groups'])}")
    print(f"  Virtual key: {key[:12]}... (shown once)")

    print("\n[4/7] Checking Initial Credit Balance...")
    balance = request("GET", f"/credits/teams/{TEAM_ID}/balance", key)
    print(f"✓ Credits available: {balance['credits_remaining']}/{balance['credits_allocated']}")

    print("\n[5/7] Creating Job...")
    job = request(
        "POST", "/jobs/create", key, {"team_id": TEAM_ID, "job_type": "customer_support", "metadata": {"customer_id": "customer_12345"}}
    )
    job_id = job["job_id"]
    print(f"✓ Job: {job_id}")

    print("\n[6/7] Making LLM Calls...")
    system = {"role": "system", "content": "You are a helpful customer support assistant."}
    question = {"role": "user", "content": "How do I reset my password?"}
    first = request(
        "POST", f"/jobs/{job_id}/llm-call", key, {"model_group": "ChatFast", "messages": [system, question], "purpose": "initial_response"}
    )
    print(f"  → Call 1: {first['response']['content'][:60]}... ({first['metadata']['tokens_used']} tokens)")
    follow_up = [system, question, {"role": "assistant", "content": first["response"]["content"]}]
    follow_up.append({"role": "user", "content": "I didn't receive the reset email."})
    second = request("POST", f"/jobs/{job_id}/llm-call", key, {"model_group": "ChatFast", "messages": follow_up, "purpose": "follow_up"})
    print(f"  → Call 2: {second['response']['content'][:60]}... ({second['metadata']['tokens_used']} tokens)")
    analysis = {"role": "user", "content": "Analyze this customer interaction and suggest improvements to our password reset process."}
    third = request(
        "POST",
        f"/jobs/{job_id}/llm-call",
        key,
        {"model_group": "ChatAdvanced", "messages": [analysis], "purpose": "analysis", "temperature": 0.3},
    )
    print(f"  → Call 3: {third['response']['content'][:60]}... ({third['metadata']['tokens_used']} tokens)")

    print("\n[7/7] Completing Job...")
    costs = request("POST", f"/jobs/{job_id}/complete", key, {"status": "completed"})["costs"]
    print(f"✓ Job completed: {costs['total_calls']} calls, {costs['successful_calls']} successful, {costs['total_tokens']} tokens")
    print(f"  Total cost: ${costs['total_cost_usd']:.6f}, credit applied: {costs['credit_applied']}")
    print(f"  Credits remaining: {costs['credits_remaining']}")

    final = request("GET", f"/credits/teams/{TEAM_ID}/balance", key)
    print(f"\n✓ Credits: {final['credits_remaining']}/{final['credits_allocated']} (used {final['credits_used']})")
    print("=" * 70)
    print("WORKFLOW COMPLETED SUCCESSFULLY!")


if __name__ == "__main__":
    try:
        full_workflow_example()
    except urllib.error.URLError as error:
        sys.exit(f"Could not connect to {BASE} ({error.reason}): is the gateway running (npm start)?")
    except GatewayError as error:
        sys.exit(f"The gateway refused a request: {error}")
