import type { z } from "@hono/zod-openapi";
import type { AdminKeyPage, AuditPage, CreatedAdminKey } from "../schemas/admin";
import type { AllowanceSet, GrantPage, Statement, TeamAllowance } from "../schemas/grants";
import type { Job, JobPage } from "../schemas/jobs";
import type { CreatedKey, Key, KeyList, RotatedTeamKey } from "../schemas/keys";
import type { GroupUsage, ModelGroup, ModelGroupPage } from "../schemas/model-groups";
import type { Organization, OrganizationPage } from "../schemas/organizations";
import type { PriceList } from "../schemas/pricing";
import type { Dashboard, TeamUsage, UsageTotals } from "../schemas/reports";
import type { CreatedTeam, CreditsAdded, GrantMade, StatusChange, TeamPage, TeamWithBalance, TransactionPage } from "../schemas/teams";
import type { DeliveryPage, SavedWebhook, Webhook } from "../schemas/webhooks";

// What the console reads from /api, as the gateway's own zod schemas declare it (one
// declaration per shape: a change to a schema is a type error here, not a page that drifts).

type Answer<T extends z.ZodType> = z.output<T>;

export type OrganizationAnswer = Answer<typeof Organization>;
export type OrganizationList = Answer<typeof OrganizationPage>;
export type ModelGroupAnswer = Answer<typeof ModelGroup>;
export type ModelGroupList = Answer<typeof ModelGroupPage>;
export type ModelGroupUsageAnswer = Answer<typeof GroupUsage>;
export type PriceListAnswer = Answer<typeof PriceList>;
export type TeamAnswer = Answer<typeof TeamWithBalance>;
export type TeamList = Answer<typeof TeamPage>;
export type CreatedTeamAnswer = Answer<typeof CreatedTeam>;
export type StatusChangeAnswer = Answer<typeof StatusChange>;
export type CreditsAddedAnswer = Answer<typeof CreditsAdded>;
export type TransactionList = Answer<typeof TransactionPage>;
export type JobAnswer = Answer<typeof Job>;
export type JobList = Answer<typeof JobPage>;
export type TeamUsageAnswer = Answer<typeof TeamUsage>;
export type UsageTotalsAnswer = Answer<typeof UsageTotals>;
export type DashboardAnswer = Answer<typeof Dashboard>;
export type AdminKeyList = Answer<typeof AdminKeyPage>;
export type CreatedAdminKeyAnswer = Answer<typeof CreatedAdminKey>;
export type AuditList = Answer<typeof AuditPage>;
export type WebhookAnswer = Answer<typeof Webhook>;
export type SavedWebhookAnswer = Answer<typeof SavedWebhook>;
export type DeliveryList = Answer<typeof DeliveryPage>;
export type GrantList = Answer<typeof GrantPage>;
export type GrantMadeAnswer = Answer<typeof GrantMade>;
export type AllowanceAnswer = Answer<typeof TeamAllowance> | Answer<typeof AllowanceSet>;
export type StatementAnswer = Answer<typeof Statement>;
export type KeyAnswer = Answer<typeof Key>;
export type KeyListAnswer = Answer<typeof KeyList>;
export type CreatedKeyAnswer = Answer<typeof CreatedKey>;
export type RotatedTeamKeyAnswer = Answer<typeof RotatedTeamKey>;
