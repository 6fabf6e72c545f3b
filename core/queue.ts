// The pg-boss instance and the bridge that lets pg-boss write inside one of
// our postgres.js transactions (so a job row and its queue entry commit together).
import PgBoss from 'pg-boss';
import postgres from 'postgres';
import type { Db } from './db.js';
import type { Logger } from './logger.js';

export const EXTRACT_QUEUE = 'extract';
export const WEBHOOK_QUEUE = 'webhook';
/** pg-boss cron target of the stale-job reaper (worker/maintenance/reaper.ts). */
export const REAPER_QUEUE = 'maintenance-reap';
const QUEUE_SETUP_LOCK = 0x71756575; // "queu"
/** NOTIFY channels that wake workers the moment work is committed. */
export const JOBS_CHANNEL = 'gleaner_jobs';
export const WEBHOOKS_CHANNEL = 'gleaner_webhooks';

export type Boss = PgBoss;

export interface QueueOptions {
  /** pg-boss expires an active job after this; kept above the reaper's stale limit so the reaper decides first. */
  expireInSeconds: number;
  /** Longest webhook attempt; its queue entry expires (and is retried) a minute after that. */
  webhookTimeoutMs?: number;
  /** Run pg-boss's maintenance and cron scheduling in this process (workers do; the API does not). */
  supervise: boolean;
  poolSize?: number;
}

/** Wrap a postgres.js connection or transaction in pg-boss's `db` interface. */
export function bossDb(db: Db): PgBoss.Db {
  return {
    async executeSql(text: string, values: unknown[] = []) {
      // postgres.js rejects undefined. Objects go through as they are: with a
      // prepared statement it learns the parameter is jsonb and serialises them.
      const params = values.map((v) => (v === undefined ? null : v));
      const rows = params.length === 0 ? await db.unsafe(text) : await db.unsafe(text, params as never[], { prepare: true });
      return { rows: Array.from(rows) };
    },
  };
}

export async function startQueue(url: string, options: QueueOptions, logger: Logger): Promise<Boss> {
  const boss = new PgBoss({
    connectionString: url,
    max: options.poolSize ?? 4,
    application_name: 'gleaner-queue',
    supervise: options.supervise,
    schedule: options.supervise,
    migrate: true,
    // Our jobs table is the source of truth; retries are decided there, so a
    // queue entry is never retried by pg-boss itself.
    retryLimit: 0,
    expireInSeconds: options.expireInSeconds,
    // Expiry is checked in maintenance; the default 2 minutes would delay a dead sender's webhook by that much.
    maintenanceIntervalSeconds: 30,
  });
  boss.on('error', (err) => logger.error('queue error', { error: err.message }));
  // Processes starting together (API and workers) would otherwise race through
  // pg-boss's schema set-up and partition creation and deadlock: one at a time.
  const lock = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await lock`select pg_advisory_lock(${QUEUE_SETUP_LOCK})`;
    await boss.start();
    const ensure = async (queue: PgBoss.Queue) => {
      // create_queue ignores a queue that exists; update it so changed settings (timeouts) apply to existing installs.
      await boss.createQueue(queue.name, queue);
      await boss.updateQueue(queue.name, queue);
    };
    await ensure({ name: EXTRACT_QUEUE, policy: 'standard', retryLimit: 0, expireInSeconds: options.expireInSeconds });
    // An attempt cannot outlive its timeout, so an entry still active 10 s later
    // belongs to a sender that died: it expires and is handed out again at once
    // (at-least-once; receivers de-duplicate on webhook-id). A live sender that
    // overran its entry records nothing (worker/webhooks.ts), so nothing forks.
    const webhookExpiry = Math.ceil((options.webhookTimeoutMs ?? 10_000) / 1000) + 10;
    await ensure({ name: WEBHOOK_QUEUE, policy: 'standard', retryLimit: 20, retryDelay: 1, expireInSeconds: webhookExpiry });
    await ensure({ name: REAPER_QUEUE, policy: 'singleton', retryLimit: 0, expireInSeconds: 300 });
  } finally {
    await lock`select pg_advisory_unlock(${QUEUE_SETUP_LOCK})`.catch(() => {});
    await lock.end();
  }
  return boss;
}
