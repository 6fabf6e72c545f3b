// Runs the pipeline for each job a worker claims: claim → processing,
// heartbeats and progress, then completed, retry or failed; on shutdown,
// unfinished jobs are handed back as pending.
import os from 'node:os';
import type { Db, Sql } from '../core/platform/db.js';
import { randomBase62 } from '../core/ids.js';
import { AttemptOverError, claimNextJobs, CompletionBatcher, failAttempt, heartbeat, holdAttempt, releaseJob, retryDelayMs, type ClaimedJob, type Job } from '../core/jobs/index.js';
import type { Logger } from '../core/platform/logger.js';
import { metrics } from '../core/platform/metrics.js';
import { EXTRACT_QUEUE, JOBS_CHANNEL, type Boss } from '../core/queue/index.js';
import { isDataError } from '../core/platform/sqlErrors.js';
import { ClaimLoop } from './claimLoop.js';
import { classifyError, PipelineError } from './pipeline/errors.js';
import type { Pipeline } from './pipeline/types.js';

export interface RunnerOptions {
  concurrency: number;
  pollIntervalMs: number;
  shutdownGraceMs: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  heartbeatIntervalMs?: number;
  /**
   * Heartbeats' own connection (with a statement timeout), so a saturated main
   * pool cannot delay them past RESCUE_AFTER; the main pool when unset.
   */
  heartbeatSql?: Sql;
  /** The pipeline's deadline (JOB_TIMEOUT): past it the attempt fails as `timeout`, before the reaper would call it stale. */
  jobTimeoutMs?: number;
  workerId?: string;
  /** Largest result a job stores inline (RESULT_MAX_BYTES); a bigger one is stored shortened. */
  resultMaxBytes?: number;
  /**
   * Hands a claimed job to other machinery instead of the pipeline (a crawl
   * run as page tasks): null runs the pipeline; true means the job is handed
   * over (it stays processing, no longer this worker's); false that the
   * attempt was over before that.
   */
  handOff?: (job: Job, held: { attempt: number; queueJobId: string }) => Promise<boolean | null>;
}

interface Running {
  jobId: string;
  attempt: number;
  queueJobId: string;
  controller: AbortController;
  /** Why the job was aborted from outside, if it was. */
  interruption: 'shutdown' | 'lost' | null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolve with the promise, or reject as soon as the signal aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

/**
 * Retry a database write a few times: a finished job's outcome must not be
 * lost to a blip. The delays are jittered so workers that lost the database
 * together do not come back in lockstep; a write refused for its data is not
 * retried (it would fail the same way).
 */
async function persist<T>(logger: Logger, what: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= 8 || isDataError(err)) throw new OutcomeNotRecordedError(what, err);
      logger.warn('database write failed, retrying', { what, attempt, error: (err as Error).message });
      await sleep(retryDelayMs(attempt, 200, 5000));
    }
  }
}

/** Bookkeeping failed (the outcome could not be written), as opposed to the pipeline failing. */
class OutcomeNotRecordedError extends Error {
  constructor(
    readonly what: string,
    cause: unknown,
  ) {
    super(`could not record the job's outcome (${what}): ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/**
 * Batches progress updates into at most one write per 250 ms and doubles as
 * the heartbeat. Closing drops a pending write: the final state change follows.
 */
class ProgressReporter {
  private progress: Record<string, unknown> = {};
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly write: (progress: Record<string, unknown> | undefined) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  update(update: Record<string, unknown>): void {
    this.progress = { ...this.progress, ...update };
    this.dirty = true;
    this.timer ??= setTimeout(() => this.beat(), 250);
  }

  beat(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.inFlight) return;
    const progress = this.dirty ? this.progress : undefined;
    this.dirty = false;
    this.inFlight = this.write(progress)
      .catch((err) => {
        this.logger.warn('heartbeat failed', { error: (err as Error).message });
      })
      .finally(() => (this.inFlight = null));
  }

  /** Everything reported so far. */
  get current(): Record<string, unknown> | null {
    return Object.keys(this.progress).length ? this.progress : null;
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
  }
}

export class JobRunner {
  readonly workerId: string;
  private readonly running = new Map<string, Running>();
  private readonly claims: ClaimLoop<{ jobId: string }, ClaimedJob & { id: string }>;
  /** Completions that arrive together commit together. */
  private readonly completions: CompletionBatcher;
  private stopping = false;
  private claimCursor = '';

  constructor(
    private readonly sql: Sql,
    private readonly boss: Boss,
    private readonly logger: Logger,
    private readonly pipeline: Pipeline,
    private readonly options: RunnerOptions,
  ) {
    this.workerId = options.workerId ?? `${os.hostname()}:${process.pid}:${randomBase62(4)}`;
    this.completions = new CompletionBatcher(sql, logger, { resultMaxBytes: options.resultMaxBytes });
    // Claims as many jobs as there are free slots in one statement (claimNextJobs).
    this.claims = new ClaimLoop(
      sql,
      boss,
      logger,
      {
        queue: EXTRACT_QUEUE,
        channel: JOBS_CHANNEL,
        concurrency: options.concurrency,
        pollIntervalMs: options.pollIntervalMs,
        // Short jobs are claimed ahead (ClaimLoop): one claim's round trip feeds the slots for longer.
        // Held ones go back within half a heartbeat interval, long before the rescuer would call them stale.
        ahead: {
          max: 4 * options.concurrency,
          ttlMs: Math.min(1000, (options.heartbeatIntervalMs ?? 15_000) / 2),
          handBack: (claimed, reason) => this.handBack(claimed, reason),
        },
        claim: async (limit) => {
          // Tenants take turns; the cursor carries the turn from one claim to the next.
          const { claimed, seen, cursor } = await claimNextJobs(sql, { workerId: this.workerId, limit, after: this.claimCursor });
          this.claimCursor = cursor;
          return { entries: claimed.map((c) => ({ ...c, id: c.entryId })), seen };
        },
      },
      (claimed, release) =>
        this.runJob(claimed.job, { jobId: claimed.job.id, attempt: claimed.job.attempts, queueJobId: claimed.entryId, controller: new AbortController(), interruption: null }, release),
    );
  }

  get activeJobs(): number {
    return this.claims.busy;
  }

  async start(): Promise<void> {
    await this.claims.start();
    this.logger.info('worker started', { workerId: this.workerId, concurrency: this.options.concurrency });
  }

  private async runJob(job: Job, run: Running, release: () => void): Promise<void> {
    this.running.set(run.queueJobId, run);
    try {
      await this.runClaimed(job, run, release);
    } finally {
      this.running.delete(run.queueJobId);
    }
  }

  /** `release` frees the job's slot once the pipeline is done, so the next claim overlaps this job's completion. */
  private async runClaimed(job: Job, run: Running, release: () => void): Promise<void> {
    const logger = this.logger.child({ jobId: run.jobId });
    const due = Math.max(job.createdAt.getTime(), job.runAfter?.getTime() ?? 0);
    if (job.startedAt) metrics.queueWait.observe(Math.max(0, job.startedAt.getTime() - due) / 1000);
    logger.info('job started', { attempt: job.attempts, url: job.input.url, workerId: this.workerId });
    const started = Date.now();
    const handed = this.options.handOff ? await this.options.handOff(job, { attempt: run.attempt, queueJobId: run.queueJobId }) : null;
    if (handed !== null) {
      release();
      logger.info(handed ? 'job handed to page tasks' : 'job lost before it was handed over');
      return;
    }

    const reporter = new ProgressReporter(async (progress) => {
      const { held, status } = await heartbeat(this.options.heartbeatSql ?? this.sql, { jobId: run.jobId, attempt: run.attempt, ...(progress ? { progress } : {}) });
      if (!held && !run.controller.signal.aborted) {
        run.interruption = 'lost';
        run.controller.abort(new Error(`this attempt is over: the job is ${status ?? 'gone'}`));
      }
    }, logger);
    const timer = setInterval(() => reporter.beat(), this.options.heartbeatIntervalMs ?? 15_000);
    const deadline = this.deadline(run);

    let result: unknown;
    try {
      result = await untilAborted(
        this.pipeline(job.input, {
          jobId: run.jobId,
          apiKeyId: job.apiKeyId,
          logger,
          signal: run.controller.signal,
          progress: (update) => reporter.update(update),
          fence: (tx) => this.fence(run, tx),
        }),
        run.controller.signal,
      );
    } catch (err) {
      clearInterval(timer);
      clearTimeout(deadline);
      await reporter.close();
      await this.recordFailure(run, logger, started, err).catch((e) => this.unrecorded(logger, e));
      return;
    }
    clearInterval(timer);
    clearTimeout(deadline);
    await reporter.close();
    release();
    // The pipeline succeeded: a failure from here on is bookkeeping, never the
    // job's failure. Unrecorded, the job stays processing without heartbeats
    // and the rescuer hands it to another attempt.
    try {
      const done = await persist(logger, 'complete', () =>
        this.completions.complete({ jobId: run.jobId, attempt: run.attempt, workerId: this.workerId, queueJobId: run.queueJobId, result, progress: reporter.current }),
      );
      metrics.jobDuration.observe({ outcome: 'completed' }, (Date.now() - started) / 1000);
      metrics.jobsFinished.inc({ outcome: done ? 'completed' : 'discarded' });
      logger.info(done ? 'job completed' : 'job result discarded', { ms: Date.now() - started });
    } catch (err) {
      this.unrecorded(logger, err);
    }
  }

  /** A job claimed ahead and not started: back to pending without charging its attempt (releaseJob), for any worker to take. */
  private async handBack(claimed: ClaimedJob, reason: string): Promise<void> {
    const logger = this.logger.child({ jobId: claimed.job.id });
    try {
      await persist(logger, 'release', () =>
        releaseJob(this.sql, logger, { jobId: claimed.job.id, attempt: claimed.job.attempts, workerId: this.workerId, queueJobId: claimed.entryId, reason }),
      );
      logger.info('job handed back unstarted', { reason });
    } catch (err) {
      this.unrecorded(logger, err);
    }
  }

  /** Abort the attempt as `timeout` once it has run for jobTimeoutMs; the catch records it as failed. */
  private deadline(run: Running): NodeJS.Timeout | undefined {
    const ms = this.options.jobTimeoutMs;
    if (!ms) return undefined;
    const minutes = ms / 60_000;
    const took = minutes >= 1 && Number.isInteger(minutes) ? `${minutes} minutes` : `${ms} ms`;
    return setTimeout(() => {
      if (run.controller.signal.aborted) return;
      run.controller.abort(new PipelineError('timeout', `the job ran for more than ${took} (JOB_TIMEOUT) and was stopped`, false, { timeoutMs: ms }));
    }, ms).unref();
  }

  /** The attempt's write fence (core/jobs/attemptFence.ts); a refusal means the job was lost meanwhile, so the attempt stops. */
  private async fence(run: Running, tx?: Db): Promise<void> {
    try {
      await holdAttempt(tx ?? this.sql, { jobId: run.jobId, attempt: run.attempt });
    } catch (err) {
      if (err instanceof AttemptOverError && !run.controller.signal.aborted) {
        run.interruption = 'lost';
        run.controller.abort(err);
      }
      throw err;
    }
  }

  private unrecorded(logger: Logger, err: unknown): void {
    metrics.jobsFinished.inc({ outcome: 'unrecorded' });
    logger.error('job outcome not recorded; the job is left for the rescuer', { error: (err as Error)?.message });
  }

  /** The pipeline threw: hand the job back (shutdown), let go of it (lost), or record the failed attempt. */
  private async recordFailure(run: Running, logger: Logger, started: number, err: unknown): Promise<void> {
    if (run.interruption === 'shutdown') {
      await persist(logger, 'release', () =>
        releaseJob(this.sql, logger, { jobId: run.jobId, attempt: run.attempt, workerId: this.workerId, queueJobId: run.queueJobId, reason: 'worker shutdown' }),
      );
      logger.warn('job released for another worker', { reason: 'shutdown' });
      return;
    }
    if (run.interruption === 'lost') {
      // Cancelled, reaped or rescued meanwhile: whoever moved the job owns it now.
      await this.boss.complete(EXTRACT_QUEUE, run.queueJobId).catch(() => {});
      logger.info('job stopped', { reason: (err as Error).message });
      return;
    }
    const { error, retryable } = classifyError(err);
    if (error.code === 'internal_error') logger.error('job attempt crashed', { error: (err as Error)?.message, stack: (err as Error)?.stack });
    const delay = retryDelayMs(run.attempt, this.options.retryBaseDelayMs, this.options.retryMaxDelayMs);
    const after = await persist(logger, 'fail', () =>
      failAttempt(this.sql, this.boss, logger, {
        jobId: run.jobId,
        attempt: run.attempt,
        workerId: this.workerId,
        queueJobId: run.queueJobId,
        error,
        retryable,
        retryDelayMs: delay,
      }),
    );
    metrics.jobDuration.observe({ outcome: 'failed' }, (Date.now() - started) / 1000);
    metrics.jobsFinished.inc({ outcome: after?.status === 'pending' ? 'retry' : 'failed' });
    logger.warn(after?.status === 'pending' ? 'job attempt failed, will retry' : 'job failed', {
      attempt: run.attempt,
      code: error.code,
      error: error.message,
      ...(after?.status === 'pending' ? { retryInMs: delay } : {}),
    });
  }

  /**
   * Stop claiming, let running jobs finish within the grace period, then
   * abort the rest and hand them back as pending so no job is lost.
   */
  async stop(graceMs = this.options.shutdownGraceMs): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.claims.stop();
    if (this.claims.busy > 0) {
      this.logger.info('waiting for running jobs', { count: this.claims.busy, graceMs });
      await Promise.race([this.claims.drain(), sleep(graceMs)]);
    }
    for (const run of this.running.values()) {
      if (run.controller.signal.aborted) continue; // already lost to a cancel, reap or rescue
      run.interruption = 'shutdown';
      run.controller.abort(new Error('worker shutting down'));
    }
    await this.claims.drain();
    this.logger.info('worker stopped', { workerId: this.workerId });
  }
}
