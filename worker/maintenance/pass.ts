// What every periodic maintenance task shares: one pass per interval across
// all workers, and a timer that runs it.
//
// A pass is taken by moving the task's started_at in maintenance_passes
// forward (migration 011). The row lock makes concurrent takers queue and the
// loser sees the fresh time, so however many workers run, each task runs once
// per interval; a worker that died mid-pass only delays the next one by an
// interval. The batches inside a pass still skip rows others hold, so a pass
// overlapping a manual run (npm run reap, tests) stays correct.
import type { Sql } from '../../core/platform/db.js';
import type { Logger } from '../../core/platform/logger.js';

export interface TakenPass {
  /** What the previous pass left for this one (e.g. a cursor). */
  state: unknown;
  /** Record the pass as done, with state for the next one. */
  finish(state?: unknown): Promise<void>;
}

/** Take this interval's pass of `task`, or null when another worker has it. */
export async function takePass(sql: Sql, task: string, intervalMs: number, workerId: string): Promise<TakenPass | null> {
  const [row] = await sql`
    insert into maintenance_passes as p (task, started_at, worker_id) values (${task}, now(), ${workerId})
    on conflict (task) do update set started_at = now(), finished_at = null, worker_id = excluded.worker_id
      where p.started_at <= now() - ${intervalMs} * interval '1 millisecond'
    returning state`;
  if (!row) return null;
  return {
    state: row.state ?? null,
    async finish(state?: unknown) {
      await sql`
        update maintenance_passes set finished_at = now()
          ${state === undefined ? sql`` : sql`, state = ${state === null ? null : sql.json(state as never)}`}
        where task = ${task} and worker_id = ${workerId}`;
    },
  };
}

export interface PeriodicTask {
  /** Key in maintenance_passes and in logs. */
  name: string;
  intervalMs: number;
  /** One pass; `state` is what the last pass finished with. Returns the state for the next. `signal` aborts on stop: a long pass ends between batches. */
  run(state: unknown, signal: AbortSignal): Promise<unknown>;
}

/**
 * Run `task` every interval (checked four times per interval, so a pass
 * another worker skipped is picked up promptly); returns a stop function that
 * waits for a running pass.
 */
export function startPeriodic(sql: Sql, logger: Logger, workerId: string, task: PeriodicTask): () => Promise<void> {
  let running: Promise<void> | null = null;
  const stopping = new AbortController();
  const tick = () => {
    running ??= (async () => {
      const pass = await takePass(sql, task.name, task.intervalMs, workerId);
      if (!pass) return;
      const next = await task.run(pass.state, stopping.signal);
      await pass.finish(next);
    })()
      .catch((err) => {
        logger.error('maintenance pass failed', { task: task.name, error: (err as Error).message });
      })
      .finally(() => (running = null));
  };
  const timer = setInterval(tick, Math.max(250, Math.floor(task.intervalMs / 4)));
  timer.unref();
  return async () => {
    clearInterval(timer);
    stopping.abort();
    await running;
  };
}
