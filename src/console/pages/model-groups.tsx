import { formAction } from "../actions";
import type { ModelGroupAnswer, ModelGroupList } from "../api-types";
import { ActionForm } from "../components/action-form";
import { Field, TextArea } from "../components/fields";
import { renderPage } from "../components/layout";
import { Table } from "../components/table";
import { type ConsoleApp, type ConsoleContext, offsetOf, queryOf, seg } from "../context";
import { numberOrText } from "../forms";

// Model groups: list, create, and one group's models and priorities.

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
            { label: "Status", cell: (group) => group.status },
          ]}
          paging={{ base: "/admin/model-groups", offset, limit: PAGE, hasMore: list.data.has_more }}
        />
      ) : null}
    </>,
  );
}

async function modelGroupPage(c: ConsoleContext) {
  const name = c.req.param("group_name") ?? "";
  const group = await c.get("api").get<ModelGroupAnswer>(`/api/model-groups/${seg(name)}`);
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
}
