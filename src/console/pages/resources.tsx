import type { Context } from "hono";
import type { ConsoleApp, ConsoleEnv } from "../context";
import { asStatus, seg } from "../context";
import { formOf, numberOrText } from "../forms";
import { CsrfField, Field, type Flash, formatTime, Layout, Pager } from "../layout";

// Organizations, model groups and pricing: list, create, edit; each through its /api route.

type C = Context<ConsoleEnv>;
const chrome = (c: C) => ({ admin: c.get("admin"), session: c.get("session") });
const offsetOf = (c: C) => Number(c.req.query("offset") ?? 0) || 0;

interface Organization {
  organization_id: string;
  name: string;
  status: string;
  created_at: string;
}
interface ModelGroup {
  group_name: string;
  display_name: string;
  description: string | null;
  status: string;
  models: { model_name: string; priority: number }[];
}
interface Price {
  model_name: string;
  input_per_million_usd: number;
  output_per_million_usd: number;
}
type Page<K extends string, T> = { [key in K]: T[] } & { limit: number; offset: number; has_more: boolean };

async function organizationsPage(c: C, flash: Flash = {}, status = 200) {
  const offset = offsetOf(c);
  const list = await c.get("api").get<Page<"organizations", Organization>>(`/api/organizations?limit=50&offset=${offset}`);
  return c.html(
    <Layout title="Organizations" chrome={chrome(c)} flash={{ ...flash, error: flash.error ?? (list.ok ? null : list.detail) }}>
      <section aria-labelledby="new-org">
        <h2 id="new-org">New organization</h2>
        <form method="post" action="/admin/organizations">
          <CsrfField session={c.get("session")} />
          <div class="fields">
            <Field label="Organization id" name="organization_id" required />
            <Field label="Name" name="name" required />
            <button type="submit">Create organization</button>
          </div>
        </form>
      </section>
      {list.ok ? (
        <div class="table-wrap">
          <table>
            <caption class="hint">Organizations, with their teams</caption>
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {list.data.organizations.map((org) => (
                <tr>
                  <td>
                    <a href={`/admin/teams?organization_id=${seg(org.organization_id)}`}>{org.organization_id}</a>
                  </td>
                  <td>{org.name}</td>
                  <td>{org.status}</td>
                  <td>{formatTime(org.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager base="/admin/organizations" offset={offset} limit={50} hasMore={list.data.has_more} />
        </div>
      ) : null}
    </Layout>,
    asStatus(status),
  );
}

async function modelGroupsPage(c: C, flash: Flash = {}, status = 200) {
  const offset = offsetOf(c);
  const list = await c.get("api").get<Page<"model_groups", ModelGroup>>(`/api/model-groups?limit=50&offset=${offset}`);
  return c.html(
    <Layout title="Model groups" chrome={chrome(c)} flash={{ ...flash, error: flash.error ?? (list.ok ? null : list.detail) }}>
      <section aria-labelledby="new-group">
        <h2 id="new-group">New model group</h2>
        <form method="post" action="/admin/model-groups">
          <CsrfField session={c.get("session")} />
          <div class="fields">
            <Field label="Group name" name="group_name" required />
            <Field label="Display name" name="display_name" />
            <Field label="Description" name="description" />
          </div>
          <ModelsField value="" />
          <button type="submit">Create model group</button>
        </form>
      </section>
      {list.ok ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Group</th>
                <th scope="col">Display name</th>
                <th scope="col">Models (priority)</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {list.data.model_groups.map((group) => (
                <tr>
                  <td>
                    <a href={`/admin/model-groups/${seg(group.group_name)}`}>{group.group_name}</a>
                  </td>
                  <td>{group.display_name}</td>
                  <td>{group.models.map((m) => `${m.model_name} (${m.priority})`).join(", ")}</td>
                  <td>{group.status}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager base="/admin/model-groups" offset={offset} limit={50} hasMore={list.data.has_more} />
        </div>
      ) : null}
    </Layout>,
    asStatus(status),
  );
}

function ModelsField({ value }: { value: string }) {
  return (
    <div class="field">
      <label for="f-models">Models, one per line: model name, then its priority (0 is tried first)</label>
      <textarea id="f-models" name="models" required placeholder={"gpt-4o-mini 0\nclaude-3-haiku 1"}>
        {value}
      </textarea>
    </div>
  );
}

/** "gpt-4o-mini 0\nclaude 1" → the API's models list; a priority that is not a number is passed on for the API to refuse. */
function modelsOf(text: string | undefined) {
  return (text ?? "")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line, index) => {
      const [model_name, priority] = line.split(/[\s,:]+/);
      return { model_name, priority: numberOrText(priority) ?? index };
    });
}

async function modelGroupPage(c: C, flash: Flash = {}, status = 200) {
  const name = c.req.param("group_name") ?? "";
  const group = await c.get("api").get<ModelGroup>(`/api/model-groups/${seg(name)}`);
  if (!group.ok) {
    return c.html(<Layout title={`Model group ${name}`} chrome={chrome(c)} flash={{ error: group.detail }} />, asStatus(group.status));
  }
  const models = group.data.models.map((m) => `${m.model_name} ${m.priority}`).join("\n");
  return c.html(
    <Layout title={`Model group ${group.data.group_name}`} chrome={chrome(c)} flash={flash}>
      <p>
        <a href="/admin/model-groups">All model groups</a>
      </p>
      <section>
        <p>{group.data.display_name}</p>
        {group.data.description ? <p class="hint">{group.data.description}</p> : null}
        <form method="post" action={`/admin/model-groups/${seg(group.data.group_name)}`}>
          <CsrfField session={c.get("session")} />
          <ModelsField value={models} />
          <button type="submit">Save models</button>
        </form>
      </section>
    </Layout>,
    asStatus(status),
  );
}

async function pricingPage(c: C, flash: Flash = {}, status = 200) {
  const list = await c.get("api").get<{ prices: Price[] }>("/api/pricing");
  return c.html(
    <Layout title="Pricing" chrome={chrome(c)} flash={{ ...flash, error: flash.error ?? (list.ok ? null : list.detail) }}>
      <section aria-labelledby="set-price">
        <h2 id="set-price">Set a model's price (USD per 1M tokens)</h2>
        <form method="post" action="/admin/pricing">
          <CsrfField session={c.get("session")} />
          <div class="fields">
            <Field label="Model" name="model_name" required />
            <Field label="Input per 1M tokens" name="input_per_million_usd" type="number" step="any" min={0} required />
            <Field label="Output per 1M tokens" name="output_per_million_usd" type="number" step="any" min={0} required />
            <button type="submit">Save price</button>
          </div>
        </form>
      </section>
      {list.ok ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col" class="num">
                  Input / 1M
                </th>
                <th scope="col" class="num">
                  Output / 1M
                </th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {list.data.prices.map((price) => (
                <tr>
                  <td>{price.model_name}</td>
                  <td class="num">{price.input_per_million_usd}</td>
                  <td class="num">{price.output_per_million_usd}</td>
                  <td>
                    <form method="post" action="/admin/pricing/delete" class="inline">
                      <CsrfField session={c.get("session")} />
                      <input type="hidden" name="model_name" value={price.model_name} />
                      <button type="submit" class="danger" aria-label={`Remove the price of ${price.model_name}`}>
                        Remove
                      </button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </Layout>,
    asStatus(status),
  );
}

export function registerResourcePages(app: ConsoleApp): void {
  app.get("/organizations", (c) => organizationsPage(c));
  app.post("/organizations", async (c) => {
    const form = await formOf(c);
    const result = await c.get("api").send<Organization>("POST", "/api/organizations/create", {
      organization_id: form.organization_id,
      name: form.name,
    });
    if (!result.ok) return organizationsPage(c, { error: result.detail }, result.status);
    return organizationsPage(c, { notice: `Organization '${result.data.organization_id}' created` });
  });

  app.get("/model-groups", (c) => modelGroupsPage(c));
  app.post("/model-groups", async (c) => {
    const form = await formOf(c);
    const result = await c.get("api").send<ModelGroup>("POST", "/api/model-groups/create", {
      group_name: form.group_name,
      ...(form.display_name ? { display_name: form.display_name } : {}),
      ...(form.description ? { description: form.description } : {}),
      models: modelsOf(form.models),
    });
    if (!result.ok) return modelGroupsPage(c, { error: result.detail }, result.status);
    return modelGroupsPage(c, { notice: `Model group '${result.data.group_name}' created` });
  });
  app.get("/model-groups/:group_name", (c) => modelGroupPage(c));
  app.post("/model-groups/:group_name", async (c) => {
    const form = await formOf(c);
    const result = await c.get("api").send("PUT", `/api/model-groups/${seg(c.req.param("group_name"))}/models`, {
      models: modelsOf(form.models),
    });
    if (!result.ok) return modelGroupPage(c, { error: result.detail }, result.status);
    return modelGroupPage(c, { notice: "Models saved" });
  });

  app.get("/pricing", (c) => pricingPage(c));
  app.post("/pricing", async (c) => {
    const form = await formOf(c);
    const result = await c.get("api").send("PUT", "/api/pricing", {
      model_name: form.model_name,
      input_per_million_usd: numberOrText(form.input_per_million_usd),
      output_per_million_usd: numberOrText(form.output_per_million_usd),
    });
    if (!result.ok) return pricingPage(c, { error: result.detail }, result.status);
    return pricingPage(c, { notice: `Price of '${form.model_name}' saved` });
  });
  app.post("/pricing/delete", async (c) => {
    const form = await formOf(c);
    const result = await c.get("api").send("DELETE", `/api/pricing/${seg(form.model_name ?? "")}`);
    if (!result.ok) return pricingPage(c, { error: result.detail }, result.status);
    return pricingPage(c, { notice: `Price of '${form.model_name}' removed` });
  });
}
