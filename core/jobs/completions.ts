// processing → completed for any number of jobs in one statement (one round
// trip, one commit): the moves, their events, their queue entries and the
// webhook entries of jobs with anyone to tell (migration 015). A worker's completions that arrive
// while one statement is in flight go together in the next (CompletionBatcher),
// so under load a commit is shared by many jobs and idle costs no delay.
import type { Sql } from '../platform/db.js';
import { wellFormedJson } from '../platform/jsonb.js';
import type { Logger } from '../platform/logger.js';
import { EXTRACT_QUEUE, WEBHOOK_QUEUE, WEBHOOKS_CHANNEL, completeEntries, insertQueueEntries, wakeWorkers } from '../queue/index.js';
import { isDataError } from '../platform/sqlErrors.js';
import { moveStatement, refused } from './move.js';
import { capResult } from './resultCap.js';

export interface Completion {
  jobId: string;
  /** The attempt the worker holds: the move is refused if the job moved on meanwhile. */
  attempt: number;
  workerId: string;
  queueJobId: string;
  result: unknown;
  progress?: Record<string, unknown> | null;
}

export interface CompletionOptions {
  /** Largest result stored inline, in bytes of JSON; a bigger one is stored shortened (capResult). */
  resultMaxBytes?: number;
}

/**
 * Complete the jobs still processing on the attempt each worker holds; the
 * others are refused and change nothing. Every queue entry is finished either
 * way. Returns the ids of the completed jobs, including jobs this same attempt
 * completed already (a retried call whose first answer was lost after the commit).
 */
export async function completeJobs(
  sql: Sql,
  items: Completion[],
  opts: CompletionOptions & { prepared?: boolean } = {},
): Promise<Set<string>> {
  if (items.length === 0) return new Set();
  const ready = opts.prepared ? items : items.map((c) => prepareCompletion(c, opts));
  const input = ready.map((c) => ({ id: c.jobId, attempt: c.attempt, worker_id: c.workerId, entry: c.queueJobId, result: c.result, progress: c.progress }));
  // Rows are looked up by primary key through arrays built from the input
  // inside the statement (`= any(array(select …))`): the planner estimates
  // them the same whatever the batch, so the prepared statement settles on
  // its generic plan instead of being planned again on every call (0.5 ms of
  // database CPU each), and no status condition tempts it to read the whole
  // partial index of processing jobs. Job rows first (in id order), queue
  // entries after: the sweeps lock in the same order. The entry and webhook
  // CTEs run after the main query, which has taken the job rows by then.
  const rows = await sql`
    with input as (
      select * from jsonb_to_recordset(${sql.json(input as never)}::jsonb)
        as x(id text, attempt int, worker_id text, entry uuid, result jsonb, progress jsonb)
    ), previous as (
      select id, status, attempts, worker_id from jobs where id = any(array(select id from input))
      order by id
      for update
    ), ${moveStatement(sql, {
      from: ['processing'],
      to: 'completed',
      join: sql`join input i on i.id = previous.id`,
      where: sql`and previous.attempts = i.attempt`,
      set: sql`result = i.result, error = null, completed_at = now(), heartbeat_at = null, progress = coalesce(i.progress, j.progress)`,
      workerId: sql`i.worker_id`,
    })}, entries as (
      ${completeEntries(sql, EXTRACT_QUEUE, sql`array(select entry from input)`)}
    ), webhooks as (
      ${insertQueueEntries(
        sql,
        WEBHOOK_QUEUE,
        sql`(select gen_random_uuid() as id, jsonb_build_object('jobId', m.id, 'eventId', e.id::text, 'attempt', 1) as data, now() as start_after
             from moved m join event e on e.job_id = m.id where job_announces_webhooks(m.api_key_id, m.callback_url, m.input))`,
      )}
    )
    select moved.id, job_announces_webhooks(moved.api_key_id, moved.callback_url, moved.input) as announced from moved
    union all
    select j.id, false from jobs j join previous p on p.id = j.id join input i on i.id = p.id
    where p.status = 'completed' and p.attempts = i.attempt and p.worker_id = i.worker_id`;
  if (rows.some((r) => r.announced)) wakeWorkers(sql, WEBHOOKS_CHANNEL);
  return new Set(rows.map((r) => r.id as string));
}

/**
 * The completion as stored: its result capped (RESULT_MAX_BYTES) and, with its
 * progress, made well-formed for jsonb. Throws for a value JSON cannot hold.
 */
export function prepareCompletion(c: Completion, opts: CompletionOptions): Completion {
  const result = opts.resultMaxBytes === undefined ? (c.result ?? null) : capResult(c.result ?? null, opts.resultMaxBytes).result;
  return { ...c, result: wellFormedJson(result), progress: wellFormedJson(c.progress ?? null) };
}

interface Waiting {
  item: Completion;
  resolve: (completed: boolean) => void;
  reject: (err: unknown) => void;
}

/** At most this many completions per statement. */
const MAX_BATCH = 100;

/**
 * Groups one worker's completions: one statement in flight at a time, and
 * whatever arrived meanwhile goes in the next. Each caller learns whether its
 * own job completed (false: refused, the attempt was over). A statement the
 * database refuses for its data is written again item by item, so one bad
 * item fails alone; any other failure fails every caller in it (completing is
 * idempotent per attempt, so callers may retry).
 */
export class CompletionBatcher {
  private waiting: Waiting[] = [];
  private flushing = false;

  constructor(
    private readonly sql: Sql,
    private readonly logger: Logger,
    private readonly options: CompletionOptions = {},
  ) {}

  complete(item: Completion): Promise<boolean> {
    return new Promise((resolve, reject) => {
      // Prepared here, so a result that cannot be stored fails its own caller, not the batch it would join.
      this.waiting.push({ item: prepareCompletion(item, this.options), resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushing) return;
    this.flushing = true;
    // Started on the next turn, so the completions of jobs that finish together go in one statement.
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, MAX_BATCH);
      try {
        this.settle(batch, await completeJobs(this.sql, batch.map((w) => w.item), { prepared: true }));
      } catch (err) {
        if (batch.length > 1 && isDataError(err)) {
          this.logger.warn('batched completion refused, writing its items one by one', { jobs: batch.length, error: (err as Error).message });
          await Promise.all(batch.map((w) => completeJobs(this.sql, [w.item], { prepared: true }).then((done) => this.settle([w], done), w.reject)));
        } else {
          for (const w of batch) w.reject(err);
        }
      }
    }
    // Cleared in the same turn as the last check of `waiting`: a completion
    // arriving after this starts a flush of its own, none is left behind.
    this.flushing = false;
  }

  private settle(batch: Waiting[], done: Set<string>): void {
    for (const w of batch) {
      const completed = done.has(w.item.jobId);
      if (!completed) refused(this.logger, w.item.jobId, 'complete', `processing on attempt ${w.item.attempt}`);
      w.resolve(completed);
    }
  }
}
