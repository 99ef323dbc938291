import { WEBHOOK_EVENTS, type WebhookScope } from "../../webhooks/events";
import { formAction } from "../actions";
import type { DeliveryList, SavedWebhookAnswer, WebhookAnswer } from "../api-types";
import { ActionForm } from "../components/action-form";
import { Facts } from "../components/facts";
import { Checkboxes, Field, formatTime } from "../components/fields";
import { renderPage } from "../components/layout";
import { Table } from "../components/table";
import { type ConsoleApp, type ConsoleContext, offsetOf, queryOf, seg } from "../context";
import { type FormFields, listOf, numberOrText } from "../forms";
import { TeamNav } from "./team-nav";

// A team's webhook or an organization's (for all its teams): set it, rotate its signing secret
// (shown once), remove it; and a team's recent deliveries (its own and its organization's events).

const PAGE = 50;

const SCOPES = {
  team: { param: "team_id", console: "/admin/teams", api: "/api/teams", title: "Team" },
  organization: { param: "organization_id", console: "/admin/organizations", api: "/api/organizations", title: "Organization" },
} as const satisfies Record<WebhookScope, unknown>;

const ownerOf = (c: ConsoleContext, scope: WebhookScope) => c.req.param(SCOPES[scope].param) ?? "";
const pagePath = (scope: WebhookScope, ownerId: string) => `${SCOPES[scope].console}/${seg(ownerId)}/webhook`;
const apiPath = (scope: WebhookScope, ownerId: string) => `${SCOPES[scope].api}/${seg(ownerId)}/webhook`;

/** The PUT body of a webhook form. */
const webhookBody = (form: FormFields) => ({
  url: form.url,
  events: listOf(form.events),
  low_balance_threshold: numberOrText(form.low_balance_threshold) ?? null,
});

const secretOf = (saved: SavedWebhookAnswer) => ({
  label: `The signing secret of the webhook of ${saved.scope} '${saved.owner_id}'`,
  value: saved.secret,
});

function WebhookForms({ scope, ownerId, webhook }: { scope: WebhookScope; ownerId: string; webhook: WebhookAnswer | null }) {
  const base = pagePath(scope, ownerId);
  return (
    <>
      <ActionForm
        action={`${base}/set`}
        label="Save webhook"
        permission="webhooks.write"
        title={webhook ? "Change the webhook" : "Set a webhook"}
      >
        <div class="fields">
          <Field label="URL" name="url" type="url" required value={webhook?.url} placeholder="https://example.com/webhooks/gateway" />
          <Field
            label="Low balance threshold (credits)"
            name="low_balance_threshold"
            type="number"
            min={1}
            value={webhook?.low_balance_threshold}
            hint="balance.low fires when available credits fall below it"
          />
        </div>
        <Checkboxes legend="Events" name="events" options={WEBHOOK_EVENTS} checked={webhook?.events ?? WEBHOOK_EVENTS} />
      </ActionForm>
      {webhook ? (
        <section aria-labelledby="webhook-secret">
          <h2 id="webhook-secret">Signing secret and removal</h2>
          <ActionForm action={`${base}/rotate`} label="Rotate signing secret" permission="webhooks.write" />
          <ActionForm action={`${base}/remove`} label="Remove webhook" permission="webhooks.write" danger />
        </section>
      ) : null}
    </>
  );
}

function Deliveries({ list, base, offset }: { list: DeliveryList; base: string; offset: number }) {
  return (
    <section aria-labelledby="deliveries">
      <h2 id="deliveries">Deliveries</h2>
      <Table
        caption="Recent events, newest first"
        rows={list.items}
        empty="No events yet."
        columns={[
          { label: "Event", cell: (d) => d.type },
          { label: "Webhook", cell: (d) => d.scope },
          { label: "State", cell: (d) => <span class={`delivery-${d.state}`}>{d.state}</span> },
          { label: "Attempts", numeric: true, cell: (d) => d.attempts },
          { label: "Created", cell: (d) => formatTime(d.created_at) },
          {
            label: "Last attempt",
            cell: (d) =>
              d.last_attempt_at ? `${formatTime(d.last_attempt_at)}: ${d.last_status_code ?? d.last_error ?? "no answer"}` : "—",
          },
          { label: "Next retry", cell: (d) => formatTime(d.next_retry_at) },
          { label: "Delivered", cell: (d) => formatTime(d.delivered_at) },
        ]}
        paging={{ base, offset, limit: PAGE, hasMore: list.has_more }}
      />
    </section>
  );
}

async function webhookPage(c: ConsoleContext, scope: WebhookScope) {
  const ownerId = ownerOf(c, scope);
  const offset = offsetOf(c);
  const api = c.get("api");
  const [webhook, deliveries] = await Promise.all([
    api.get<WebhookAnswer>(apiPath(scope, ownerId)),
    scope === "team" ? api.get<DeliveryList>(`${apiPath(scope, ownerId)}/deliveries${queryOf({ limit: PAGE, offset })}`) : null,
  ]);
  // 404 is "no webhook set" when the owner itself can be read (the deliveries answer for a team).
  const none = !webhook.ok && webhook.status === 404;
  const failed = !webhook.ok && !none ? webhook : deliveries && !deliveries.ok ? deliveries : null;
  const w = webhook.ok ? webhook.data : null;
  return renderPage(
    c,
    { title: `Webhook of ${scope} ${ownerId}`, error: failed?.detail, status: failed?.status },
    <>
      {scope === "team" ? <TeamNav teamId={ownerId} /> : null}
      {failed ? null : (
        <>
          <section aria-labelledby="webhook">
            <h2 id="webhook">{SCOPES[scope].title} webhook</h2>
            {w ? (
              <Facts
                facts={[
                  { label: "URL", value: w.url },
                  { label: "Events", value: w.events.join(", ") },
                  { label: "Low balance threshold", value: w.low_balance_threshold ?? "—" },
                  { label: "Updated", value: formatTime(w.updated_at) },
                ]}
              />
            ) : (
              <p>No webhook is set for this {scope}.</p>
            )}
            {scope === "organization" ? (
              <p class="hint">Every team of the organization has it; each team's page lists its deliveries.</p>
            ) : null}
          </section>
          <WebhookForms scope={scope} ownerId={ownerId} webhook={w} />
          {deliveries?.ok ? <Deliveries list={deliveries.data} base={pagePath(scope, ownerId)} offset={offset} /> : null}
        </>
      )}
    </>,
  );
}

function registerWebhookPage(app: ConsoleApp, scope: WebhookScope): void {
  const route = `${SCOPES[scope].console.replace("/admin", "")}/:${SCOPES[scope].param}/webhook`;
  const page = (c: ConsoleContext) => pagePath(scope, ownerOf(c, scope));
  app.get(route, (c) => webhookPage(c, scope));

  formAction<SavedWebhookAnswer>(app, `${route}/set`, {
    page,
    request: (form, c) => ({ method: "PUT", path: apiPath(scope, ownerOf(c, scope)), body: webhookBody(form) }),
    done: (saved) => ({ notice: saved.message, secret: secretOf(saved) }),
  });
  // A new secret for the same webhook: its settings as they are, sent again.
  formAction<SavedWebhookAnswer>(app, `${route}/rotate`, {
    page,
    request: async (_form, c) => {
      const current = await c.get("api").get<WebhookAnswer>(apiPath(scope, ownerOf(c, scope)));
      if (!current.ok) return { refused: current.detail };
      const { url, events, low_balance_threshold } = current.data;
      return { method: "PUT", path: apiPath(scope, ownerOf(c, scope)), body: { url, events, low_balance_threshold } };
    },
    done: (saved) => ({ notice: "Signing secret rotated: the old one no longer signs", secret: secretOf(saved) }),
  });
  formAction<unknown>(app, `${route}/remove`, {
    page,
    request: (_form, c) => ({ method: "DELETE", path: apiPath(scope, ownerOf(c, scope)) }),
    done: () => ({ notice: `Webhook of ${scope} removed` }),
  });
}

export function registerWebhookPages(app: ConsoleApp): void {
  registerWebhookPage(app, "team");
  registerWebhookPage(app, "organization");
}
