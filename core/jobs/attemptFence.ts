// Writes a worker makes outside the jobs table on behalf of an attempt (the
// search index) are fenced by that attempt: a worker that lost its job (reaped,
// rescued, cancelled) while still running must not overwrite what the job's
// next attempt, or another job, indexed since.
import type { Db } from '../platform/db.js';

export class AttemptOverError extends Error {
  constructor(
    readonly jobId: string,
    readonly attempt: number,
    readonly status: string | null,
  ) {
    super(`attempt ${attempt} of job ${jobId} is over (the job is ${status ?? 'gone'}): its write is refused`);
    this.name = 'AttemptOverError';
  }
}

/**
 * Refuse unless the job is still processing on this attempt. In a transaction
 * the job row stays locked FOR SHARE until the caller commits, so no reaper,
 * rescuer or cancel can end the attempt between this check and the write
 * (their SKIP LOCKED sweeps pass over it; a cancel waits). Outside one it is a
 * check just before the write.
 */
export async function holdAttempt(db: Db, p: { jobId: string; attempt: number }): Promise<void> {
  const [row] = await db`select status, attempts from jobs where id = ${p.jobId} for share`;
  if (!row || row.status !== 'processing' || row.attempts !== p.attempt) {
    throw new AttemptOverError(p.jobId, p.attempt, (row?.status as string | undefined) ?? null);
  }
}
