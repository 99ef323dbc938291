import { formAction } from "../actions";
import type { ModelGroupAnswer, ModelGroupList, ModelGroupUsageAnswer } from "../api-types";
import { ActionForm } from "../components/action-form";
import { Facts } from "../components/facts";
import { Field, Select, TextArea } from "../components/fields";
import { renderPage } from "../components/layout";
import { Table } from "../components/table";
import { type ConsoleApp, type ConsoleContext, offsetOf, queryOf, seg } from "../context";
import { numberOrText } from "../forms";

// Model groups: list, create, and one group's models and priorities, its response cache and hit rate.

const PAGE = 50;
const MODELS_LABEL = "Models, one per line: model name, then its priority (0 is tried first)";
const groupPath = (name: string) => `/admin/model-groups/${seg(name)}`;

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

async function modelGroupsPage(c: ConsoleContext) {
  const offset = offsetOf(c);
  const list = await c.get("api").get<ModelGroupList>(`/api/model-groups${queryOf({ limit: PAGE, offset })}`);
  return renderPage(
    c,
    { title: "Model groups", error: list.ok ? null : list.detail, status: list.status },
    <>
      <ActionForm action="/admin/model-groups" label="Create model group" permission="model_groups.write" title="New model group">
        <div class="fields">
          <Field label="Group name" name="group_name" required />
          <Field label="Display name" name="display_name" />
          <Field label="Description" name="description" />
        </div>
        <TextArea label={MODELS_LABEL} name="models" required placeholder={"gpt-4o-mini 0\nclaude-3-haiku 1"} />
      </ActionForm>
      {list.ok ? (
        <Table
          caption="Model groups"
          rows={list.data.model_groups}
          empty="No model groups yet."
          columns={[
            { label: "Group", cell: (group) => <a href={groupPath(group.group_name)}>{group.group_name}</a> },
            { label: "Display name", cell: (group) => group.display_name },
            { label: "Models (priority)", cell: (group) => group.models.map((m) => `${m.model_name} (${m.priority})`).join(", ") },
            {
              label: "Response cache",
              cell: (group) => (group.cache ? `${group.cache.ttl_seconds} s, hits at ${group.cache.hit_price_percent} %` : "off"),
            },
            { label: "Status", cell: (group) => group.status },
          ]}
          paging={{ base: "/admin/model-groups", offset, limit: PAGE, hasMore: list.data.has_more }}
        />
      ) : null}
    </>,
  );
}

/** "3600 s, organization, hits at 50 %", or "Off". */
function cacheSummary(cache: ModelGroupAnswer["cache"]): string {
  if (!cache) return "Off";
  return `${cache.ttl_seconds} s, shared by the ${cache.scope}, hits at ${cache.hit_price_percent} %`;
}

/** The group's response cache: its setting, this month's hit rate over every team using it, and the form that sets it. */
function CacheSection({ group, usage }: { group: ModelGroupAnswer; usage: ModelGroupUsageAnswer | null }) {
  const cache = group.cache;
  const action = `${groupPath(group.group_name)}/cache`;
  const rate =
    usage && usage.calls > 0 ? `${(usage.hit_rate * 100).toFixed(1)} % (${usage.cache_hits} of ${usage.calls} calls)` : "No calls yet";
  return (
    <section aria-labelledby="cache">
      <h2 id="cache">Response cache</h2>
      <Facts
        label="Response cache"
        facts={[
          { label: "Cache", value: cacheSummary(cache) },
          { label: `Hit rate (${usage?.period ?? "this month"})`, value: usage ? rate : "Unavailable" },
          { label: "Saved by hits (USD)", value: usage ? usage.cache_saved_usd.toFixed(6) : "Unavailable" },
        ]}
      />
      <ActionForm action={action} label="Save cache" permission="model_groups.write">
        <div class="fields">
          <Field label="Time to live (seconds)" name="ttl_seconds" type="number" min={1} value={cache?.ttl_seconds ?? 3600} required />
          <Select label="Shared by" name="scope" options={SCOPES} value={cache?.scope ?? "team"} />
          <Field
            label="Hit price (% of the original)"
            name="hit_price_percent"
            type="number"
            min={0}
            value={cache?.hit_price_percent ?? 0}
            required
          />
        </div>
      </ActionForm>
      {cache ? (
        <ActionForm action={`${action}/off`} label="Turn the cache off" permission="model_groups.write" danger>
          {null}
        </ActionForm>
      ) : null}
    </section>
  );
}

const SCOPES = [
  { value: "team", label: "each team on its own" },
  { value: "organization", label: "the organization" },
];

async function modelGroupPage(c: ConsoleContext) {
  const name = c.req.param("group_name") ?? "";
  const [group, usage] = await Promise.all([
    c.get("api").get<ModelGroupAnswer>(`/api/model-groups/${seg(name)}`),
    c.get("api").get<ModelGroupUsageAnswer>(`/api/model-groups/${seg(name)}/usage`),
  ]);
  if (!group.ok) return renderPage(c, { title: `Model group ${name}`, error: group.detail, status: group.status });
  const g = group.data;
  return renderPage(
    c,
    { title: `Model group ${g.group_name}` },
    <>
      <p>
        <a href="/admin/model-groups">All model groups</a>
      </p>
      <section aria-label="The group">
        <p>{g.display_name}</p>
        {g.description ? <p class="hint">{g.description}</p> : null}
        <ActionForm action={groupPath(g.group_name)} label="Save models" permission="model_groups.write">
          <TextArea label={MODELS_LABEL} name="models" required value={g.models.map((m) => `${m.model_name} ${m.priority}`).join("\n")} />
        </ActionForm>
      </section>
      <CacheSection group={g} usage={usage.ok ? usage.data : null} />
    </>,
  );
}

export function registerModelGroupPages(app: ConsoleApp): void {
  app.get("/model-groups", (c) => modelGroupsPage(c));
  formAction<ModelGroupAnswer>(app, "/model-groups", {
    page: () => "/admin/model-groups",
    request: (form) => ({
      method: "POST",
      path: "/api/model-groups/create",
      body: {
        group_name: form.group_name,
        ...(form.display_name ? { display_name: form.display_name } : {}),
        ...(form.description ? { description: form.description } : {}),
        models: modelsOf(form.models),
      },
    }),
    done: (group) => ({ notice: `Model group '${group.group_name}' created` }),
  });

  app.get("/model-groups/:group_name", (c) => modelGroupPage(c));
  formAction<ModelGroupAnswer>(app, "/model-groups/:group_name", {
    page: (c) => groupPath(c.req.param("group_name") ?? ""),
    request: (form, c) => ({
      method: "PUT",
      path: `/api/model-groups/${seg(c.req.param("group_name") ?? "")}/models`,
      body: { models: modelsOf(form.models) },
    }),
    done: () => ({ notice: "Models saved" }),
  });

  formAction<ModelGroupAnswer>(app, "/model-groups/:group_name/cache", {
    page: (c) => groupPath(c.req.param("group_name") ?? ""),
    request: (form, c) => ({
      method: "PATCH",
      path: `/api/model-groups/${seg(c.req.param("group_name") ?? "")}`,
      body: {
        cache: { ttl_seconds: numberOrText(form.ttl_seconds), scope: form.scope, hit_price_percent: numberOrText(form.hit_price_percent) },
      },
    }),
    done: (group) => ({ notice: `Response cache saved: ${cacheSummary(group.cache)}` }),
  });
  formAction<ModelGroupAnswer>(app, "/model-groups/:group_name/cache/off", {
    page: (c) => groupPath(c.req.param("group_name") ?? ""),
    request: (_form, c) => ({ method: "PATCH", path: `/api/model-groups/${seg(c.req.param("group_name") ?? "")}`, body: { cache: null } }),
    done: () => ({ notice: "Response cache turned off" }),
  });
}
