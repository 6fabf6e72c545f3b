// How much queued work is waiting (the gleaner_queue_depth gauge).
import type { Db } from '../platform/db.js';

/** Entries of `queue` that are due and wait for a worker (created or retry, start_after passed). */
export async function queueDepth(db: Db, queue: string): Promise<number> {
  const [row] = await db`select count(*)::int as n from pgboss.job where name = ${queue} and state < 'active' and start_after <= now()`;
  return row!.n as number;
}

/** Entries of `queue` taken by a worker and not finished yet (state active). */
export async function activeEntries(db: Db, queue: string): Promise<number> {
  const [row] = await db`select count(*)::int as n from pgboss.job where name = ${queue} and state = 'active'`;
  return row!.n as number;
}
