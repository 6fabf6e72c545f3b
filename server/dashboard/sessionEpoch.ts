// The dashboard's session epoch (sql/migrations/010): sessions issued in an
// earlier epoch are over. Read on every cookie-authenticated request (one
// primary-key read; the dashboard is low-traffic) so a sign-out in one API
// process ends the session in all of them at once.
import type { Sql } from '../../core/platform/db.js';

export async function currentSessionEpoch(sql: Sql): Promise<number> {
  const [row] = await sql`select epoch from dashboard_session_epoch`;
  return row ? Number(row.epoch) : 0;
}

/** End every dashboard session; returns the new epoch. */
export async function endAllSessions(sql: Sql): Promise<number> {
  const [row] = await sql`update dashboard_session_epoch set epoch = epoch + 1, changed_at = now() returning epoch`;
  return Number(row!.epoch);
}
