import { BUDGET_PERIODS } from "../../schemas/period-budgets";
import { formAction } from "../actions";
import type { CreatedKeyAnswer, KeyAnswer, RotatedTeamKeyAnswer } from "../api-types";
import { ActionForm } from "../components/action-form";
import { Checkboxes, Field, formatTime, Select } from "../components/fields";
import { type Column, Table } from "../components/table";
import { type ConsoleApp, type ConsoleContext, seg } from "../context";
import { listOf, numberOrText } from "../forms";
import { teamPath } from "./team-nav";

// A team's keys on its page: each key's budget with a bar of what it spent in its window, and
// creating (the key is shown once), rotating and revoking one, through /api/teams/{id}/keys.

const apiKeys = (c: ConsoleContext) => `/api/teams/${seg(c.req.param("team_id") ?? "")}/keys`;
const thisTeam = (c: ConsoleContext) => teamPath(c.req.param("team_id") ?? "");
const keyPath = (teamId: string, keyId: string) => `${teamPath(teamId)}/keys/${seg(keyId)}`;

/** What a key spent of its budget in its window, as a bar with its figures beside it. */
function SpendBar({ keyName, budget }: { keyName: string; budget: NonNullable<KeyAnswer["budget"]> }) {
  return (
    <span class="spend">
      <meter
        min={0}
        max={budget.credits}
        value={Math.min(budget.spent_credits, budget.credits)}
        high={budget.credits * 0.8}
        optimum={0}
        aria-label={`Spent by the key ${keyName} this ${budget.period === "total" ? "budget" : budget.period}`}
      />{" "}
      {budget.spent_credits} of {budget.credits}
      {budget.held_credits > 0 ? ` (${budget.held_credits} held)` : ""}
    </span>
  );
}

function keyColumns(teamId: string): Column<KeyAnswer>[] {
  return [
    { label: "Name", cell: (key) => key.name },
    { label: "Key", cell: (key) => `${key.key_prefix}…` },
    { label: "Groups", cell: (key) => key.model_groups?.join(", ") ?? "all the team's" },
    { label: "Budget", cell: (key) => (key.budget ? `${key.budget.credits} credits / ${key.budget.period}` : "none") },
    { label: "Spent this window", cell: (key) => (key.budget ? <SpendBar keyName={key.name} budget={key.budget} /> : "—") },
    { label: "Resets", cell: (key) => (key.budget ? formatTime(key.budget.resets_at) : "—") },
    { label: "Last used", cell: (key) => formatTime(key.last_used_at) },
    { label: "Expires", cell: (key) => formatTime(key.expires_at) },
    {
      label: "Actions",
      cell: (key) => (
        <>
          <ActionForm
            action={`${keyPath(teamId, key.key_id)}/rotate`}
            label="Rotate"
            permission="teams.write"
            buttonName={`Rotate the key ${key.name}`}
          >
            <Field label="Old key valid for (seconds)" name="grace_seconds" type="number" min={0} value={0} form={key.key_id} />
          </ActionForm>
          <ActionForm
            action={`${keyPath(teamId, key.key_id)}/revoke`}
            label="Revoke"
            permission="teams.write"
            danger
            buttonName={`Revoke the key ${key.name}`}
          />
        </>
      ),
    },
  ];
}

/** The team page's keys section: the keys with their spend, and the form that makes a new one. */
export function TeamKeys(props: { teamId: string; keys: KeyAnswer[] | null; error: string | null; groups: string[] }) {
  return (
    <section aria-labelledby="keys">
      <h2 id="keys">Keys</h2>
      {props.keys ? (
        <Table
          caption="The team's keys, oldest first"
          rows={props.keys}
          empty="No keys: every key was revoked."
          columns={keyColumns(props.teamId)}
        />
      ) : (
        <p class="hint">{props.error}</p>
      )}
      <ActionForm action={`${teamPath(props.teamId)}/keys`} label="Create key" permission="teams.write" title="New key">
        <div class="fields">
          <Field label="Key name" name="name" required hint="Who or what uses it: production, staging, a batch" />
          <Field label="Budget (credits)" name="budget_credits" type="number" min={1} hint="Empty: no budget" />
          <Select label="Budget period" name="budget_period" options={BUDGET_PERIODS} value="day" />
          <Field label="Expires at" name="expires_at" placeholder="2027-01-01T00:00:00Z" hint="Empty: never" />
        </div>
        <Checkboxes legend="Model groups (none checked: all the team's)" name="model_groups" options={props.groups} checked={[]} />
      </ActionForm>
    </section>
  );
}

export function registerTeamKeyActions(app: ConsoleApp): void {
  formAction<CreatedKeyAnswer>(app, "/teams/:team_id/keys", {
    page: thisTeam,
    request: (form, c) => {
      const groups = listOf(form.model_groups);
      const credits = numberOrText(form.budget_credits);
      return {
        method: "POST",
        path: apiKeys(c),
        body: {
          name: form.name,
          ...(credits !== undefined ? { budget: { credits, period: form.budget_period } } : {}),
          ...(groups.length > 0 ? { model_groups: groups } : {}),
          ...(form.expires_at ? { expires_at: form.expires_at } : {}),
        },
      };
    },
    done: (key) => ({ notice: `Key '${key.name}' created`, secret: { label: `The key '${key.name}'`, value: key.virtual_key } }),
  });

  formAction<RotatedTeamKeyAnswer>(app, "/teams/:team_id/keys/:key_id/rotate", {
    page: thisTeam,
    request: (form, c) => ({
      method: "POST",
      path: `${apiKeys(c)}/${seg(c.req.param("key_id") ?? "")}/rotate`,
      body: { grace_seconds: numberOrText(form.grace_seconds) ?? 0 },
    }),
    done: (rotated) => ({ notice: rotated.message, secret: { label: "The key's new secret", value: rotated.virtual_key } }),
  });

  formAction<unknown>(app, "/teams/:team_id/keys/:key_id/revoke", {
    page: thisTeam,
    request: (_form, c) => ({ method: "DELETE", path: `${apiKeys(c)}/${seg(c.req.param("key_id") ?? "")}` }),
    done: () => ({ notice: "Key revoked: it is refused from now on" }),
  });
}
