// The pg-boss instance (queues created and updated, schema checked, our
// claim indexes made) and the bridge that lets pg-boss write inside one of
// our postgres.js transactions (so a job row and its queue entry commit together).
import { createRequire } from 'node:module';
import PgBoss from 'pg-boss';
import postgres from 'postgres';
import type { Db } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { checkQueueSchema, ENTRY_KEY, EXTRACT_PARTITION, EXTRACT_QUEUE, PGBOSS_SCHEMA_VERSION, QueueSchemaError, REAPER_QUEUE, WEBHOOK_QUEUE, type Boss } from './schema.js';

const QUEUE_SETUP_LOCK = 0x71756575; // "queu"

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
    // As on every connection of ours (core/db.ts): the queue's statements assume READ COMMITTED whatever
    // the server default. A startup parameter node-postgres takes; pg-boss's types do not list it.
    ...{ options: '-c default_transaction_isolation=read\\ committed' },
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
    // Before pg-boss migrates anything: the installed pg-boss must be the one
    // we know, and the database not newer (an older one pg-boss migrates to it).
    checkQueueSchema((createRequire(import.meta.url)('pg-boss/version.json') as { schema: number }).schema, 'the installed pg-boss package');
    const installed = await queueSchemaVersion(lock);
    if (installed !== null && installed > PGBOSS_SCHEMA_VERSION) checkQueueSchema(installed, 'the database');
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
    checkQueueSchema(await queueSchemaVersion(lock), 'the database');
    await ensureClaimIndexes(lock);
  } catch (err) {
    if (err instanceof QueueSchemaError) await boss.stop({ graceful: false, wait: true }).catch(() => {});
    throw err;
  } finally {
    await lock`select pg_advisory_unlock(${QUEUE_SETUP_LOCK})`.catch(() => {});
    await lock.end();
  }
  return boss;
}

/** pgboss.version of the database; null before pg-boss was ever installed there. */
async function queueSchemaVersion(db: Db): Promise<number | null> {
  const [installed] = await db`select to_regclass('pgboss.version') is not null as yes`;
  if (!installed?.yes) return null;
  const [row] = await db`select version from pgboss.version`;
  return row ? Number(row.version) : null;
}

/**
 * Indexes of the extract queue's partition that the claim (claimableEntries)
 * reads in key order; pg-boss's own only orders by start_after. Created here,
 * not in sql/migrations, because pg-boss creates its schema and partitions at
 * its start, after our migrations. Partial, so an entry is indexed only while
 * it waits: `created` (claimable) by tenant and first creation, `retry`
 * (a retry's backoff) by when it is due.
 */
async function ensureClaimIndexes(db: Db): Promise<void> {
  const [queue] = await db`select partition_name from pgboss.queue where name = ${EXTRACT_QUEUE}`;
  if (queue?.partition_name !== EXTRACT_PARTITION) throw new QueueSchemaError(`the extract queue's partition is ${String(queue?.partition_name)}, not ${EXTRACT_PARTITION} as core/queue/ expects`);
  const partition = db(EXTRACT_PARTITION);
  await db`create index if not exists gleaner_extract_claim on pgboss.${partition} ((${db.unsafe(ENTRY_KEY)}), created_on, id) where state = 'created'`;
  await db`create index if not exists gleaner_extract_backoff on pgboss.${partition} (start_after) where state = 'retry'`;
}
