import { randomUUID } from 'node:crypto';
import type { Db, Sql } from '../platform/db.js';
import { newJobId } from '../ids.js';
import { jsonb, wellFormedJson } from '../platform/jsonb.js';
import { JOBS_CHANNEL, insertJobEntries, wakeWorkers } from '../queue/index.js';
import { isDataError } from '../platform/sqlErrors.js';
import { jobEvents } from './move.js';
import { IdempotencyConflictError, TooManyJobsInFlightError, toJob, type Job, type JobInput } from './model.js';

/**
 * The end of both create statements (one job, or a batch): each job in the
 * `created` CTE gets its first event and its queue entry, and the statement
 * returns the jobs whose entry was written.
 */
function eventsAndEntries(sql: Db) {
  return sql`event as (
      ${jobEvents(sql, sql`(select id as job_id, null::text as from_status, 'pending'::text as to_status, 0 as attempt, null::text as worker_id, null::jsonb as detail from created)`)}
    ), entry as (
      ${insertJobEntries(sql, sql`(select queue_job_id as id, id as job_id, api_key_id, created_at, created_at as start_after from created)`)}
    )
    select created.* from created join entry on entry.id = created.queue_job_id`;
}

export interface CreateJobParams {
  apiKeyId: string;
  input: JobInput;
  callbackUrl: string | null;
  idempotencyKey: string | null;
  requestHash: string | null;
  maxAttempts: number;
  /** Refuse (TooManyJobsInFlightError) when the key already has this many pending + processing jobs; 0 for no cap. */
  maxInFlight?: number;
}

/**
 * Records the job as pending with its creation event and enqueues it, in one
 * statement of its own, then wakes the workers. With an idempotency key
 * already used by the same API key, returns that job (replayed) or throws
 * IdempotencyConflictError when the request body differs. The API submits
 * through a JobCreator instead, so submissions that arrive together share a
 * statement and its commit.
 */
export function createJob(sql: Sql, p: CreateJobParams): Promise<{ job: Job; replayed: boolean }> {
  return createOne(sql, p);
}

/**
 * The key's open (pending + processing) jobs, counted up to `limit`, under the
 * key's in-flight lock (migration 007), which the caller's transaction holds
 * until it commits: a cap checked with it holds exactly, whatever runs at once.
 */
export function lockedOpenJobs(db: Db, apiKeyId: string, limit: number) {
  return db`select open_count as n from lock_open_job_counts(array[${apiKeyId}::text], array[${limit}::int])`;
}

/** One job in one statement: the cap check, the job, its event and its queue entry (one round trip, one commit). */
async function createOne(sql: Sql, p: CreateJobParams): Promise<{ job: Job; replayed: boolean }> {
  const created = await insertOne(sql, p);
  if (!created.replayed) wakeWorkers(sql, JOBS_CHANNEL);
  return created;
}

/** createOne's statement on a connection or in the caller's transaction; the caller wakes the workers once it is committed. */
async function insertOne(sql: Db, p: CreateJobParams): Promise<{ job: Job; replayed: boolean }> {
  const id = newJobId();
  const queueJobId = randomUUID();
  const cap = p.maxInFlight ?? 0;
  const [row] = await sql`
    with open_jobs as (
      ${cap > 0 ? lockedOpenJobs(sql, p.apiKeyId, cap) : sql`select 0::bigint as n`}
    ), created as (
      insert into jobs (id, api_key_id, status, input, callback_url, idempotency_key, request_hash, max_attempts, queue_job_id)
      select ${id}, ${p.apiKeyId}, 'pending', ${jsonb(sql, p.input)}, ${p.callbackUrl}, ${p.idempotencyKey}, ${p.requestHash}, ${p.maxAttempts}, ${queueJobId}
      where ${cap} = 0 or (select n from open_jobs) < ${cap}
      on conflict (api_key_id, idempotency_key) where idempotency_key is not null do nothing
      returning *
    ), ${eventsAndEntries(sql)}`;
  if (row) return { job: toJob(row), replayed: false };
  // Nothing inserted: the idempotency key was used before (a replay, even at
  // the cap, creates nothing) or the key is at its cap.
  const replay = p.idempotencyKey ? await replayed(sql, p) : null;
  if (replay) return replay;
  throw new TooManyJobsInFlightError(cap);
}

async function replayed(tx: Db, p: CreateJobParams): Promise<{ job: Job; replayed: true } | null> {
  const [existing] = await tx`select * from jobs where api_key_id = ${p.apiKeyId} and idempotency_key = ${p.idempotencyKey}`;
  if (!existing) return null;
  const job = toJob(existing);
  if (job.requestHash !== p.requestHash) throw new IdempotencyConflictError(job.id);
  return { job, replayed: true };
}

interface Submission {
  p: CreateJobParams;
  resolve: (job: Job) => void;
  reject: (err: unknown) => void;
}

/** Statements in flight at most, so stalled ones (STALLED_AFTER_MS) leave the pool to reads. */
const MAX_STATEMENTS = 4;
/**
 * A submission that has waited this long for the statement in flight gets one
 * of its own: that statement is waiting on something (a key's in-flight lock,
 * a slow commit) that need not hold up other keys' submissions.
 */
const STALLED_AFTER_MS = 20;
const MAX_BATCH = 200;

/**
 * createJob for a process that submits many: one per API process, made by its
 * owner (createApp). Submissions without an idempotency key are written in
 * batches: one statement at a time, and what arrives while it runs goes into
 * the next, so an idle service answers at once and a busy one commits many
 * jobs per statement. A second statement (up to MAX_STATEMENTS) starts once
 * submissions have waited STALLED_AFTER_MS, with those whose key is not in a
 * statement in flight (a capped key's statement holds its in-flight lock, so
 * its later submissions would only queue behind it): more statements in
 * flight at all times made smaller batches and cost CPU per job
 * (docs/benchmarks.md).
 * Each statement is all or nothing; if the database refuses one for its data,
 * its submissions are written again one by one, so a bad one fails alone. Any
 * other failure (a dropped connection, a timeout) may have come after the
 * commit: retrying would create the jobs twice, so every submission in it gets
 * the error.
 */
export class JobCreator {
  private waiting: Submission[] = [];
  private statements = 0;
  /** Set when submissions have waited STALLED_AFTER_MS: the next statement may start beside those in flight. */
  private stalled = false;
  private stallTimer: NodeJS.Timeout | null = null;
  /** Capped keys (they take an in-flight lock) in the statements in flight, with how many statements each. */
  private readonly keysInFlight = new Map<string, number>();

  constructor(private readonly sql: Sql) {}

  /** As createJob; a submission with an idempotency key is written on its own (its replay check needs the row). */
  async create(p: CreateJobParams): Promise<{ job: Job; replayed: boolean }> {
    if (p.idempotencyKey) return createOne(this.sql, p);
    return { job: await this.batched(p), replayed: false };
  }

  /**
   * As create, with `alongside` written in the new job's own transaction (a
   * webhook's first message): both commit or neither does, so a crash between
   * them cannot lose it. Not called for a replayed job. Written on its own.
   */
  async createWith(p: CreateJobParams, alongside: (tx: Db, job: Job) => Promise<unknown>): Promise<{ job: Job; replayed: boolean }> {
    const created = await this.sql.begin(async (tx) => {
      const r = await insertOne(tx, p);
      if (!r.replayed) await alongside(tx, r.job);
      return r;
    });
    if (!created.replayed) wakeWorkers(this.sql, JOBS_CHANNEL);
    return created;
  }

  private batched(p: CreateJobParams): Promise<Job> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ p, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.waiting.length > 0 && (this.statements === 0 || (this.stalled && this.statements < MAX_STATEMENTS))) {
      // Beside a statement in flight, a capped key already in one would wait on its own in-flight lock, and the
      // whole batch with it: those submissions wait for that statement instead.
      const batch = this.statements === 0 ? this.waiting.splice(0, MAX_BATCH) : this.takeFree();
      if (batch.length === 0) break; // every waiting key is in flight; a finishing statement dispatches again
      this.stalled = false;
      // A batch taken and more left: the wait is measured again for what is left.
      if (this.stallTimer) clearTimeout(this.stallTimer);
      this.stallTimer = null;
      const keys = batch.filter((s) => (s.p.maxInFlight ?? 0) > 0).map((s) => s.p.apiKeyId);
      for (const key of keys) this.keysInFlight.set(key, (this.keysInFlight.get(key) ?? 0) + 1);
      this.statements++;
      void this.write(batch).finally(() => {
        this.statements--;
        for (const key of keys) {
          const n = this.keysInFlight.get(key)! - 1;
          if (n === 0) this.keysInFlight.delete(key);
          else this.keysInFlight.set(key, n);
        }
        this.dispatch();
      });
    }
    if (this.waiting.length === 0) {
      if (this.stallTimer) clearTimeout(this.stallTimer);
      this.stallTimer = null;
    } else if (this.stallTimer === null && !this.stalled) {
      // Armed even with every statement in flight, so a slot that frees later goes at once to what has waited.
      // The timer is the measure of the wait: it does not compare clocks, which a timer may fire a little before.
      this.stallTimer = setTimeout(() => {
        this.stallTimer = null;
        this.stalled = true;
        this.dispatch();
      }, STALLED_AFTER_MS);
    }
  }

  /** Up to MAX_BATCH waiting submissions, in order, whose key takes no in-flight lock held by a statement in flight. */
  private takeFree(): Submission[] {
    const taken: Submission[] = [];
    const left: Submission[] = [];
    for (const s of this.waiting) {
      const blocked = (s.p.maxInFlight ?? 0) > 0 && this.keysInFlight.has(s.p.apiKeyId);
      (taken.length < MAX_BATCH && !blocked ? taken : left).push(s);
    }
    this.waiting = left;
    return taken;
  }

  private async write(batch: Submission[]): Promise<void> {
    let created: Map<string, Job>;
    const ids = batch.map(() => newJobId());
    try {
      created = await createMany(this.sql, batch.map((s, i) => ({ ...s.p, id: ids[i]! })));
    } catch (err) {
      if (batch.length === 1 || !isDataError(err)) return batch.forEach((s) => s.reject(err));
      await Promise.all(batch.map((s) => createOne(this.sql, s.p).then((r) => s.resolve(r.job), s.reject)));
      return;
    }
    if (created.size > 0) wakeWorkers(this.sql, JOBS_CHANNEL);
    batch.forEach((s, i) => {
      const job = created.get(ids[i]!);
      if (job) s.resolve(job);
      else s.reject(new TooManyJobsInFlightError(s.p.maxInFlight ?? 0));
    });
  }
}

/**
 * Jobs without idempotency keys in one statement. A key with a cap gets jobs
 * up to it, counted in submission order from its open jobs under the key's
 * in-flight lock (lockedOpenJobs); the rest are left out (the caller refuses
 * them). Uncapped keys take no lock.
 */
async function createMany(sql: Sql, items: (CreateJobParams & { id: string })[]): Promise<Map<string, Job>> {
  const input = items.map((p, ord) => ({
    ord,
    id: p.id,
    api_key_id: p.apiKeyId,
    input: wellFormedJson(p.input),
    callback_url: p.callbackUrl,
    max_attempts: p.maxAttempts,
    queue_job_id: randomUUID(),
    cap: p.maxInFlight ?? 0,
  }));
  const capped = input.some((i) => i.cap > 0);
  const rows = await sql`
    with input as (
      select * from jsonb_to_recordset(${sql.json(input as never)}::jsonb)
        as x(ord int, id text, api_key_id text, input jsonb, callback_url text, max_attempts int, queue_job_id uuid, cap int)
    ), open_jobs as (
      ${
        capped
          ? sql`select key_id as api_key_id, open_count as n from lock_open_job_counts(
                  array(select api_key_id from input where cap > 0 group by api_key_id order by api_key_id),
                  array(select max(cap) from input where cap > 0 group by api_key_id order by api_key_id))`
          : sql`select null::text as api_key_id, 0::bigint as n where false`
      }
    ), admitted as (
      select i.* from (select *, row_number() over (partition by api_key_id order by ord) as nth from input) i
      left join open_jobs o on o.api_key_id = i.api_key_id
      where i.cap = 0 or o.n + i.nth <= i.cap
    ), created as (
      insert into jobs (id, api_key_id, status, input, callback_url, max_attempts, queue_job_id)
      select id, api_key_id, 'pending', input, callback_url, max_attempts, queue_job_id from admitted order by ord
      returning *
    ), ${eventsAndEntries(sql)}`;
  return new Map(rows.map((r) => [r.id as string, toJob(r)]));
}
