// Retention: jobs that reached a final state more than RETENTION ago (default
// 30 days; 0 keeps everything) are deleted with their events and webhook
// deliveries. The search-index chunks they produced stay (they are the
// knowledge; a later job of the same url replaces them) unless
// RETENTION_INCLUDES_INDEX asks for them to go too (pages whose current version
// the deleted jobs fetched). Webhook messages of no job (TESTING_CONNECTION)
// older than the cutoff go too, with their deliveries.
// In batches of RETENTION_BATCH jobs, each chosen through an index and deleted
// in one statement; one worker runs a pass every RETENTION_INTERVAL (pass.ts)
// and records what it removed in retention_runs (`npm run report -- retention`).
import type { Sql } from '../../core/platform/db.js';
import { deleteFinishedJobs, expiredJobIds } from '../../core/jobs/index.js';
import type { Logger } from '../../core/platform/logger.js';
import { metrics } from '../../core/platform/metrics.js';
import { deleteJoblessMessages } from '../../core/webhooks/messages.js';
import type { PeriodicTask } from './pass.js';

export const RETENTION_BATCH = 500;
export const RETENTION_INTERVAL_MS = 10 * 60_000;

export interface RetentionOptions {
  /** RETENTION; 0 turns the task off. */
  retentionMs: number;
  batch?: number;
  /** Removes the index chunks of these jobs; returns how many went. Absent: chunks stay. */
  removeChunks?: (jobIds: string[]) => Promise<number>;
  workerId?: string;
  /** Stop a pass after this many batches (the next pass goes on); unbounded by default. */
  maxBatches?: number;
  /** Ends the pass between batches (worker shutdown). */
  signal?: AbortSignal;
}

export interface RetentionPass {
  cutoff: Date;
  jobs: number;
  events: number;
  deliveries: number;
  /** Webhook messages of no job (their deliveries are counted in `deliveries`). */
  messages: number;
  chunks: number;
  batches: number;
}

/** One pass: batches until nothing older than the cutoff is left (or maxBatches); recorded in retention_runs. */
export async function runRetention(sql: Sql, logger: Logger, opts: RetentionOptions): Promise<RetentionPass | null> {
  if (opts.retentionMs <= 0) return null;
  const started = new Date();
  // One cutoff for the whole pass: what finishes meanwhile waits for the next.
  const cutoff = new Date(started.getTime() - opts.retentionMs);
  const batch = opts.batch ?? RETENTION_BATCH;
  const pass: RetentionPass = { cutoff, jobs: 0, events: 0, deliveries: 0, messages: 0, chunks: 0, batches: 0 };
  while (pass.batches < (opts.maxBatches ?? Infinity) && !opts.signal?.aborted) {
    const ids = await expiredJobIds(sql, { cutoff, limit: batch });
    if (ids.length === 0) break;
    pass.batches++;
    // Chunks first: a crash between the two leaves jobs to delete next time, never chunks of jobs that are gone.
    if (opts.removeChunks) pass.chunks += await opts.removeChunks(ids);
    const gone = await deleteFinishedJobs(sql, { ids, cutoff });
    pass.jobs += gone.jobs.length;
    pass.events += gone.events;
    pass.deliveries += gone.deliveries;
    // Every id was held or retried by someone else: leave them to the next pass rather than spin.
    if (gone.jobs.length === 0) break;
  }
  while (pass.batches < (opts.maxBatches ?? Infinity) && !opts.signal?.aborted) {
    const gone = await deleteJoblessMessages(sql, { cutoff, limit: batch });
    if (gone.messages === 0) break;
    pass.batches++;
    pass.messages += gone.messages;
    pass.deliveries += gone.deliveries;
  }
  await sql`
    insert into retention_runs (started_at, finished_at, cutoff, jobs, events, deliveries, chunks, worker_id)
    values (${started}, now(), ${cutoff}, ${pass.jobs}, ${pass.events}, ${pass.deliveries}, ${pass.chunks}, ${opts.workerId ?? null})`;
  for (const what of ['jobs', 'events', 'deliveries', 'chunks'] as const) metrics.retained.inc({ what }, pass[what]);
  if (pass.jobs > 0 || pass.messages > 0) logger.info('retention pass', { cutoff: cutoff.toISOString(), jobs: pass.jobs, events: pass.events, deliveries: pass.deliveries, messages: pass.messages, chunks: pass.chunks, batches: pass.batches });
  return pass;
}

export function retentionTask(sql: Sql, logger: Logger, opts: RetentionOptions & { intervalMs?: number }): PeriodicTask {
  return { name: 'retention', intervalMs: opts.intervalMs ?? RETENTION_INTERVAL_MS, run: async (_state, signal) => void (await runRetention(sql, logger, { ...opts, signal })) };
}
