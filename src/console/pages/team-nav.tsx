import { seg } from "../context";

export const teamPath = (teamId: string) => `/admin/teams/${seg(teamId)}`;

/** Links between one team's pages. */
export function TeamNav({ teamId }: { teamId: string }) {
  const base = teamPath(teamId);
  return (
    <nav aria-label="Team" class="pager">
      <a href={base}>Team</a>
      <a href={`${base}/jobs`}>Jobs</a>
      <a href={`${base}/credits`}>Credits</a>
      <a href={`${base}/ledger`}>Ledger</a>
      <a href={`${base}/usage`}>Usage</a>
      <a href={`${base}/webhook`}>Webhook</a>
    </nav>
  );
}
