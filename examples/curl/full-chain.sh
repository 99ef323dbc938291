#!/bin/bash
# The seed's cURL example: organization, model group, team with 50 credits, job, one call,
# complete (credits remaining 49). Needs curl and jq.
#   BASE=http://localhost:8003 bash examples/curl/full-chain.sh    (BASE defaults to localhost:$PORT, PORT to 8003)
# Configuration
API_URL="${BASE:-http://localhost:${PORT:-8003}}/api"
ADMIN_KEY="${ADMIN_API_KEY:-sk-admin-key-change-me}"
echo "======================================================================"
echo "SAAS LITELLM - FULL WORKFLOW EXAMPLE (cURL)"
echo "======================================================================"
# 1. Create Organization
echo -e "\n[1/6] Creating Organization..."
ORG_RESPONSE=$(curl -s -X POST "${API_URL}/organizations/create" \
-H "Authorization: Bearer ${ADMIN_KEY}" \
-H "Content-Type: application/json" \
-d '{
"organization_id": "acme-corp-curl",
"name": "Acme Corporation (cURL)",
"metadata": {"industry": "technology"}
}')
echo "✓ Organization created"
# 2. Create Model Group
echo -e "\n[2/6] Creating Model Group..."
curl -s -X POST "${API_URL}/model-groups/create" \
-H "Authorization: Bearer ${ADMIN_KEY}" \
-H "Content-Type: application/json" \
-d '{
"group_name": "ChatFastCurl",
"display_name": "Fast Chat (cURL)",
"description": "Quick responses",
"models": [
{"model_name": "gpt-3.5-turbo", "priority": 0}
]
}' > /dev/null
echo "✓ Model Group: ChatFastCurl"
# 3. Create Team
echo -e "\n[3/6] Creating Team..."
TEAM_RESPONSE=$(curl -s -X POST "${API_URL}/teams/create" \
-H "Authorization: Bearer ${ADMIN_KEY}" \
-H "Content-Type: application/json" \
-d '{
"organization_id": "acme-corp-curl",
"team_id": "curl-team",
"team_alias": "cURL Team",
"model_groups": ["ChatFastCurl"],
"credits_allocated": 50
}')
VIRTUAL_KEY=$(echo $TEAM_RESPONSE | jq -r '.virtual_key')
echo "✓ Team created"
echo " Virtual Key: ${VIRTUAL_KEY:0:50}..."
# 4. Create Job
echo -e "\n[4/6] Creating Job..."
JOB_RESPONSE=$(curl -s -X POST "${API_URL}/jobs/create" \
-H "Authorization: Bearer ${VIRTUAL_KEY}" \
-H "Content-Type: application/json" \
-d '{
"team_id": "curl-team",
"job_type": "demo",
"metadata": {"example": "curl"}
}')
JOB_ID=$(echo $JOB_RESPONSE | jq -r '.job_id')
echo "✓ Job: $JOB_ID"
# 5. Make LLM Call
echo -e "\n[5/6] Making LLM Call..."
LLM_RESPONSE=$(curl -s -X POST "${API_URL}/jobs/${JOB_ID}/llm-call" \
-H "Authorization: Bearer ${VIRTUAL_KEY}" \
-H "Content-Type: application/json" \
-d '{
"model_group": "ChatFastCurl",
"messages": [
{"role": "user", "content": "What is cURL?"}
],
"purpose": "demo"
}')
TOKENS=$(echo $LLM_RESPONSE | jq -r '.metadata.tokens_used')
echo "✓ LLM Call completed"
echo " Tokens: $TOKENS"
# 6. Complete Job
echo -e "\n[6/6] Completing Job..."
COMPLETE_RESPONSE=$(curl -s -X POST "${API_URL}/jobs/${JOB_ID}/complete" \
-H "Authorization: Bearer ${VIRTUAL_KEY}" \
-H "Content-Type: application/json" \
-d '{
"status": "completed"
}')
CREDITS_REMAINING=$(echo $COMPLETE_RESPONSE | jq -r '.costs.credits_remaining')
echo "✓ Job completed"
echo " Credits remaining: $CREDITS_REMAINING"
echo -e "\n======================================================================"
echo "WORKFLOW COMPLETED SUCCESSFULLY!"
echo "======================================================================"
