import { seg } from "../context";

/** Links between one team's pages. */
export function TeamNav({ teamId }: { teamId: string }) {
  const base = `/admin/teams/${seg(teamId)}`;
  return (
    <nav aria-label="Team" class="pager">
      <a href={base}>Team</a>
      <a href={`${base}/jobs`}>Jobs</a>
      <a href={`${base}/ledger`}>Ledger</a>
      <a href={`${base}/usage`}>Usage</a>
    </nav>
  );
}
