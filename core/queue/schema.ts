// The pg-boss installation Gleaner's queue statements are written against:
// the queues, the schema version they assume, the extract queue's partition
// and its tenant expression (core/queue/ is the only code that touches
// pg-boss's tables).
import { createHash } from 'node:crypto';
import type PgBoss from 'pg-boss';
import type postgres from 'postgres';

export const EXTRACT_QUEUE = 'extract';
export const WEBHOOK_QUEUE = 'webhook';
/** pg-boss cron target of the stale-job reaper (worker/maintenance/reaper.ts). */
export const REAPER_QUEUE = 'maintenance-reap';
/** NOTIFY channels that wake workers the moment work is committed. */
export const JOBS_CHANNEL = 'gleaner_jobs';
export const WEBHOOKS_CHANNEL = 'gleaner_webhooks';

export type Boss = PgBoss;

/** A statement fragment (a CTE body or a from-item) of the caller's statement. */
export type Fragment = postgres.PendingQuery<postgres.Row[]>;

/**
 * The pg-boss schema version the SQL in this module was written against
 * (pgboss.version; pg-boss 10.4 installs 24). Gleaner reads and writes
 * pg-boss's tables directly (entries inserted with their jobs, claimed,
 * settled and completed inside our transactions), so another schema could
 * break it silently: start-up refuses one (checkQueueSchema).
 */
export const PGBOSS_SCHEMA_VERSION = 24;

export class QueueSchemaError extends Error {}

/** Refuse a pg-boss schema version this module was not written for. */
export function checkQueueSchema(found: number | null, where: string): void {
  if (found === null || found === PGBOSS_SCHEMA_VERSION) return;
  throw new QueueSchemaError(
    `${where} has pg-boss schema version ${found}, but Gleaner's queue SQL (core/queue/) was written for version ${PGBOSS_SCHEMA_VERSION}: ` +
      'install the pg-boss release in package-lock.json (npm ci), or review core/queue/ against the new schema and update PGBOSS_SCHEMA_VERSION',
  );
}

/** pg-boss 10 (schema 24) keeps each queue in a partition named for the hash of its name; ensureClaimIndexes checks it. */
export const EXTRACT_PARTITION = `j${createHash('sha224').update(EXTRACT_QUEUE).digest('hex')}`;
/** An extract entry's tenant, as the claim index has it (entries written before it was recorded share ''). */
export const ENTRY_KEY = "coalesce(data->>'apiKeyId', '')";
