import { describe, expect, it } from "vitest";
import { api } from "./helpers";

describe("the API describes itself", () => {
  it("serves an OpenAPI 3.1 document generated from the request schemas", async () => {
    const res = await api("GET", "/openapi.json", { key: null });
    expect(res.status).toBe(200);
    const doc = await res.json<any>();
    expect(doc.openapi).toBe("3.1.0");
    for (const path of [
      "/api/organizations/create",
      "/api/model-groups/create",
      "/api/teams/create",
      "/api/credits/teams/{team_id}/balance",
      "/api/jobs/create",
      "/api/jobs/{job_id}/llm-call",
      "/api/jobs/{job_id}/complete",
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    const create = doc.paths["/api/teams/create"].post;
    expect(create.requestBody.required).toBe(true);
    const schema = create.requestBody.content["application/json"].schema;
    const resolved = schema.$ref ? doc.components.schemas[schema.$ref.split("/").pop()] : schema;
    expect(resolved.required).toEqual(expect.arrayContaining(["organization_id", "team_id"]));
    expect(doc.components.securitySchemes.adminKey).toMatchObject({ type: "apiKey", name: "X-Admin-Key" });
  });

  it("every LLM call route describes its hold and documents the X-Budget-Max-Tokens header of its answer", async () => {
    const doc = await (await api("GET", "/openapi.json", { key: null })).json<any>();
    for (const path of [
      "/api/jobs/{job_id}/llm-call",
      "/api/jobs/{job_id}/llm-call-stream",
      "/api/jobs/create-and-call",
      "/api/jobs/create-and-call-stream",
      "/v1/chat/completions",
    ]) {
      const route = doc.paths[path]?.post;
      expect(route, path).toBeDefined();
      expect(route.description, path).toMatch(/holds its worst case/);
      expect(route.description, path).toContain("X-Budget-Max-Tokens");
      expect(route.responses["200"].headers?.["X-Budget-Max-Tokens"]?.schema, path).toMatchObject({ type: "string" });
    }
  });

  it("renders readable docs at /docs", async () => {
    const res = await api("GET", "/docs", { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    expect(await res.text()).toContain("/openapi.json");
  });
});

describe("request ids", () => {
  it("every response carries x-request-id, the client's own when it sent a sane one", async () => {
    const responses = [
      await api("GET", "/nowhere", { key: null }),
      await api("POST", "/api/organizations/create", {
        rawBody: "x".repeat(1024 * 1024 + 1),
        headers: { "content-type": "application/json" },
      }),
      await api("POST", "/api/organizations/create", { body: { name: "no id" } }),
      await api("GET", "/api/organizations", { key: "sk-unknown" }),
    ];
    expect(responses.map((r) => r.status)).toEqual([404, 413, 422, 401]);
    expect(responses.map((r) => [r.status, /^[0-9a-f-]{36}$/.test(r.headers.get("x-request-id") ?? "")])).toEqual([
      [404, true],
      [413, true],
      [422, true],
      [401, true],
    ]);
    const echoed = await api("GET", "/health", { key: null, headers: { "x-request-id": "client-trace-42" } });
    expect(echoed.headers.get("x-request-id")).toBe("client-trace-42");
    const unsafe = await api("GET", "/health", { key: null, headers: { "x-request-id": "bad id with spaces" } });
    expect(unsafe.headers.get("x-request-id")).not.toBe("bad id with spaces");
  });
});
