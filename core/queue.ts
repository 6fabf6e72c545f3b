// The pg-boss instance and the bridge that lets pg-boss write inside one of
// our postgres.js transactions (so a job row and its queue entry commit together).
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import PgBoss from 'pg-boss';
import postgres from 'postgres';
import type { Db, Sql } from './platform/db.js';
import type { Logger } from './platform/logger.js';

export const EXTRACT_QUEUE = 'extract';
export const WEBHOOK_QUEUE = 'webhook';
/** pg-boss cron target of the stale-job reaper (worker/maintenance/reaper.ts). */
export const REAPER_QUEUE = 'maintenance-reap';
const QUEUE_SETUP_LOCK = 0x71756575; // "queu"
/** NOTIFY channels that wake workers the moment work is committed. */
export const JOBS_CHANNEL = 'gleaner_jobs';
export const WEBHOOKS_CHANNEL = 'gleaner_webhooks';

export type Boss = PgBoss;

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
    `${where} has pg-boss schema version ${found}, but Gleaner's queue SQL (core/queue.ts) was written for version ${PGBOSS_SCHEMA_VERSION}: ` +
      'install the pg-boss release in package-lock.json (npm ci), or review core/queue.ts against the new schema and update PGBOSS_SCHEMA_VERSION',
  );
}

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

type Fragment = postgres.PendingQuery<postgres.Row[]>;

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
  if (queue?.partition_name !== EXTRACT_PARTITION) throw new QueueSchemaError(`the extract queue's partition is ${String(queue?.partition_name)}, not ${EXTRACT_PARTITION} as core/queue.ts expects`);
  const partition = db(EXTRACT_PARTITION);
  await db`create index if not exists gleaner_extract_claim on pgboss.${partition} ((${db.unsafe(ENTRY_KEY)}), created_on, id) where state = 'created'`;
  await db`create index if not exists gleaner_extract_backoff on pgboss.${partition} (start_after) where state = 'retry'`;
}

/**
 * The body of an INSERT (for a CTE of the caller's statement) that adds pg-boss
 * entries to `queue`, one per row of `rows` (a from-item with columns id uuid,
 * data jsonb, start_after timestamptz). It fills the columns exactly as
 * pg-boss 10's send() does for a standard queue whose options we set (see
 * startQueue); inserting ourselves lets a job row, its event and its queue
 * entry commit in one statement. No ON CONFLICT: an entry that cannot be
 * inserted fails the whole statement, so a job is never left without one.
 */
export function insertQueueEntries(db: Db, queue: string, rows: Fragment): Fragment {
  return insertEntries(db, queue, db`(select id, data, start_after, now() as created_on, 'created' as state from ${rows} r)`);
}

/**
 * insertQueueEntries for the extract queue: one entry per row of `rows`
 * (columns id uuid, job_id text, api_key_id text, created_at timestamptz: the
 * job's first creation, start_after timestamptz). The entry carries its
 * tenant and, as created_on, the job's first creation, which is what claims
 * order by (claimableEntries): a rescued, released or retried job keeps its
 * place in line. One due later (a retry's backoff) waits in state `retry`
 * until the claim makes it `created` once due.
 */
export function insertJobEntries(db: Db, rows: Fragment): Fragment {
  return insertEntries(
    db,
    EXTRACT_QUEUE,
    db`(select id, jsonb_build_object('jobId', job_id, 'apiKeyId', api_key_id) as data, start_after, created_at as created_on,
               case when start_after > now() then 'retry' else 'created' end as state
        from ${rows} r)`,
  );
}

function insertEntries(db: Db, queue: string, rows: Fragment): Fragment {
  return db`
    insert into pgboss.job (id, name, data, priority, state, start_after, created_on, expire_in, keep_until, retry_limit, retry_delay, retry_backoff, policy, dead_letter)
    select e.id, q.name, e.data, 0, e.state::pgboss.job_state, e.start_after, e.created_on,
           coalesce(q.expire_seconds * interval '1 second', interval '15 minutes'),
           e.start_after + coalesce(q.retention_minutes * interval '1 minute', interval '14 days'),
           coalesce(q.retry_limit, 0),
           case when coalesce(q.retry_backoff, false) then greatest(coalesce(q.retry_delay, 0), 1) else coalesce(q.retry_delay, 0) end,
           coalesce(q.retry_backoff, false), q.policy, q.dead_letter
    from ${rows} e join pgboss.queue q on q.name = ${queue}
    returning id`;
}

interface WakeState {
  inFlight: boolean;
  again: boolean;
}
const wakeStates = new WeakMap<Sql, Map<string, WakeState>>();

/**
 * NOTIFY `channel` after the caller's commit. A transaction that notifies
 * holds a database-wide lock from just before its commit until the commit is
 * flushed, so transactions that NOTIFY commit one at a time: single-row
 * inserts with a NOTIFY managed 1,282/s at 32 clients against 8,201/s
 * without. The wake-up is therefore a statement of its own, committed
 * asynchronously (a wake-up lost in a crash costs at most a poll interval),
 * and coalesced: at most one in flight per channel, and one more after it
 * when anything asked meanwhile, so every commit is followed by a NOTIFY
 * sent after it.
 */
export function wakeWorkers(sql: Sql, channel: string): void {
  let byChannel = wakeStates.get(sql);
  if (!byChannel) wakeStates.set(sql, (byChannel = new Map()));
  let state = byChannel.get(channel);
  if (!state) byChannel.set(channel, (state = { inFlight: false, again: false }));
  if (state.inFlight) {
    state.again = true;
    return;
  }
  const s = state;
  const send = (): void => {
    s.inFlight = true;
    s.again = false;
    sql`select set_config('synchronous_commit', 'off', true), pg_notify(${channel}, '')`
      .then(
        () => {},
        () => {}, // the workers' poll catches what a lost wake-up announced
      )
      .finally(() => {
        s.inFlight = false;
        if (s.again) send();
      });
  };
  send();
}

/**
 * A CTE body selecting (and locking, skipping locked ones) up to `limit` due
 * entries of a standard-policy queue (the webhook queue; the extract queue is
 * claimed by claimableEntries): columns id, data. pg-boss 10's fetch orders
 * by `priority desc, created_on, id`, which its index `(name, start_after)
 * where state < 'active'` does not cover, so every fetch read and sorted the
 * whole backlog (8.5 ms with 5,000 waiting, 42.7 ms with 20,000). Ordered by
 * start_after (when the entry became due; we never set priorities) the same
 * index serves it in key order and the scan stops after `limit` rows.
 */
export function dueQueueEntries(db: Db, queue: string, limit: number): Fragment {
  return db`
    select id, data from pgboss.job
    where name = ${queue} and state < 'active' and start_after < now()
    order by start_after
    limit ${limit}
    for update skip locked`;
}

/** pg-boss 10 (schema 24) keeps each queue in a partition named for the hash of its name; ensureClaimIndexes checks it. */
const EXTRACT_PARTITION = `j${createHash('sha224').update(EXTRACT_QUEUE).digest('hex')}`;
/** An extract entry's tenant, as the claim index has it (entries written before it was recorded share ''). */
const ENTRY_KEY = "coalesce(data->>'apiKeyId', '')";
/** At most this many entries whose backoff is over become claimable per claim statement. */
const PROMOTE_BATCH = 200;

/**
 * CTEs for a `with recursive` statement, ending in `next`: up to `limit`
 * claimable extract entries, locked (skipping locked ones), with columns id,
 * data, key (the entry's tenant) and visit (the order tenants were visited
 * in, for nextClaimCursor). Tenants take turns: a loose index scan
 * visits the distinct tenants with claimable entries, starting after `after`
 * (the last tenant the caller was handed: nextClaimCursor) and wrapping
 * round, at most `limit` of them; each offers up to ceil(limit / tenants) of
 * its entries by first creation (created_on, see insertJobEntries), and
 * `next` takes every tenant's first, then every tenant's second, and so on.
 * So one tenant's backlog delays another tenant's job by at most one claim,
 * and each step is an index probe (gleaner_extract_claim): the cost grows
 * with `limit`, not with the backlog. When a tenant has fewer than its share
 * the claim returns fewer than `limit` and the claim loop asks again.
 *
 * `promoted` makes entries whose backoff is over claimable (retry →
 * created), from the next statement on, in their first creation's place.
 */
export function claimableEntries(db: Db, limit: number, after: string): Fragment {
  const key = db.unsafe(ENTRY_KEY);
  // The extract queue's partition itself, not pgboss.job: a statement over the
  // partitioned parent is planned afresh on every call (its generic plan costs
  // every partition), over the partition it keeps one plan.
  const table = db.unsafe(`pgboss.${EXTRACT_PARTITION}`);
  const waiting = db`from ${table} where state = 'created'`;
  return db`
    promoted as (
      update ${table} set state = 'created'
      where id = any(array(
        select id from ${table} where state = 'retry' and start_after <= now()
        order by start_after limit ${PROMOTE_BATCH} for update skip locked))
      returning id
    ), after_cursor (key, created_on, id, visit) as (
      (select ${key}, created_on, id, 1 ${waiting} and ${key} > ${after} order by 1, 2, 3 limit 1)
      union all
      select n.key, n.created_on, n.id, a.visit + 1 from after_cursor a cross join lateral (
        select ${key} as key, created_on, id ${waiting} and ${key} > a.key order by 1, 2, 3 limit 1) n
      where a.visit < ${limit}
    ), up_to_cursor (key, created_on, id, visit) as (
      (select ${key}, created_on, id, 1 ${waiting} and ${key} <= ${after} order by 1, 2, 3 limit 1)
      union all
      select n.key, n.created_on, n.id, b.visit + 1 from up_to_cursor b cross join lateral (
        select ${key} as key, created_on, id ${waiting} and ${key} > b.key and ${key} <= ${after} order by 1, 2, 3 limit 1) n
      where b.visit < ${limit}
    ), tenants as (
      select key, created_on, id, visit from (
        select key, created_on, id, visit from after_cursor
        union all
        select key, created_on, id, ${limit} + visit from up_to_cursor
      ) t
      order by visit limit ${limit}
    ), share as (
      select ceil(${limit}::numeric / greatest(count(*), 1))::int as n from tenants
    ), picked as (
      select e.id, e.data, e.created_on, t.key, t.visit from tenants t cross join lateral (
        -- From the first live entry the tenant's probe found: entries claimed
        -- moments ago stay in the index until vacuum, and walking past them
        -- once per claim is enough.
        select id, data, created_on ${waiting} and ${key} = t.key and (created_on, id) >= (t.created_on, t.id)
        order by created_on, id
        limit (select n from share)
        for update skip locked
      ) e
    ), next as (
      select id, data, key, visit from (
        select *, row_number() over (partition by key order by created_on, id) as turn from picked
      ) p
      order by turn, created_on, id
      limit ${limit}
    )`;
}

/** The cursor for the next claim: the tenant visited last among those this claim was handed entries of. */
export function nextClaimCursor(after: string, taken: { key: string; visit: number }[]): string {
  let last: { key: string; visit: number } | undefined;
  for (const t of taken) if (!last || t.visit > last.visit) last = t;
  return last?.key ?? after;
}

/**
 * Complete active entries in the caller's transaction, as pg-boss's
 * complete() does. Not boss.complete(): pg-boss 10 takes (name, ids, data,
 * options) while its types offer (name, ids, options), and options passed
 * there became the entry's output while the update ran on pg-boss's own pool,
 * outside the caller's transaction.
 */
export async function completeQueueEntries(db: Db, queue: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db`
    update pgboss.job set completed_on = now(), state = 'completed', output = null
    where name = ${queue} and id = any(${ids}::uuid[]) and state = 'active'`;
}

/** Up to `limit` due entries of a standard-policy queue, marked active as pg-boss's fetch() marks them. */
export async function fetchQueueEntries<T extends object>(db: Db, queue: string, limit: number): Promise<PgBoss.Job<T>[]> {
  const rows = await db`
    with next as (${dueQueueEntries(db, queue, limit)})
    update pgboss.job j set
      state = 'active',
      started_on = now(),
      retry_count = case when j.started_on is not null then j.retry_count + 1 else j.retry_count end
    from next
    where j.name = ${queue} and j.id = next.id
    returning j.id, j.name, j.data, extract(epoch from j.expire_in)::int as "expireInSeconds"`;
  return rows.map((r) => ({ id: r.id as string, name: r.name as string, data: r.data as T, expireInSeconds: Number(r.expireInSeconds) }));
}

/**
 * The body of an UPDATE (for a CTE) that settles entries picked by
 * dueQueueEntries: `rows` (a from-item with columns id uuid, state text)
 * says which become active (their job was claimed) and which completed
 * (they carry nothing any more), as pg-boss's fetch() and complete() would.
 */
export function settleQueueEntries(db: Db, queue: string, rows: Fragment): Fragment {
  return db`
    update pgboss.job q set
      state = e.state::pgboss.job_state,
      started_on = now(),
      completed_on = case when e.state = 'completed' then now() end,
      retry_count = case when q.started_on is not null then q.retry_count + 1 else q.retry_count end
    from ${rows} e
    where q.name = ${queue} and q.id = e.id`;
}
