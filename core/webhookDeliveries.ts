// The webhook_deliveries table (one row per attempt) and the webhook queue.
import type { Db, Sql } from './db.js';
import type { Job } from './jobs/model.js';
import { WEBHOOK_QUEUE, WEBHOOKS_CHANNEL, bossDb, type Boss } from './queue.js';

export type DeliveryOutcome = 'delivered' | 'retrying' | 'failed';

export interface WebhookTask {
  jobId: string;
  /** The job_events row of the final state this delivery announces. */
  eventId: string;
  attempt: number;
}

export interface DeliveryAttempt {
  jobId: string;
  event: string;
  webhookId: string;
  attempt: number;
  url: string;
  statusCode: number | null;
  durationMs: number | null;
  error: string | null;
  outcome: DeliveryOutcome;
  nextAttemptAt: Date | null;
  createdAt: Date;
}

/** Only these final states are announced to a callbackUrl. */
export const announcesWebhook = (job: Pick<Job, 'status' | 'callbackUrl'>): boolean =>
  job.callbackUrl !== null && (job.status === 'completed' || job.status === 'failed');

/** The job's latest final event, the only one a delivery may still announce; null if it has none. */
export async function latestFinalEventId(db: Db, job: Pick<Job, 'id' | 'status'>): Promise<string | null> {
  const [event] = await db`select id from job_events where job_id = ${job.id} and to_status = ${job.status} order by id desc limit 1`;
  return event ? String(event.id) : null;
}

/** Same for every attempt of one event, new for a later final event of the same job. */
export const webhookIdFor = (jobId: string, eventId: string) => `msg_${jobId}_${eventId}`;
export const webhookEventFor = (job: Pick<Job, 'status'>) => `job.${job.status}`;

/** Queue delivery attempts in the caller's transaction; those due now wake the senders (one NOTIFY for the lot). */
export async function enqueueWebhooks(tx: Db, boss: Boss, tasks: WebhookTask[], startAfterSeconds = 0): Promise<void> {
  for (const task of tasks) {
    const id = await boss.send(WEBHOOK_QUEUE, task, { db: bossDb(tx), startAfter: startAfterSeconds });
    if (!id) throw new Error(`queue refused webhook for ${task.jobId}`);
  }
  if (tasks.length > 0 && startAfterSeconds === 0) await tx`select pg_notify(${WEBHOOKS_CHANNEL}, '')`;
}

export async function recordAttempt(tx: Db, a: Omit<DeliveryAttempt, 'createdAt'>): Promise<void> {
  await tx`
    insert into webhook_deliveries (job_id, event, webhook_id, attempt, url, status_code, duration_ms, error, outcome, next_attempt_at)
    values (${a.jobId}, ${a.event}, ${a.webhookId}, ${a.attempt}, ${a.url}, ${a.statusCode}, ${a.durationMs}, ${a.error}, ${a.outcome}, ${a.nextAttemptAt})`;
}

export async function listDeliveries(db: Db, jobId: string): Promise<DeliveryAttempt[]> {
  const rows = await db`select * from webhook_deliveries where job_id = ${jobId} order by id`;
  return rows.map((r) => ({
    jobId: r.job_id,
    event: r.event,
    webhookId: r.webhook_id,
    attempt: r.attempt,
    url: r.url,
    statusCode: r.status_code,
    durationMs: r.duration_ms,
    error: r.error,
    outcome: r.outcome,
    nextAttemptAt: r.next_attempt_at,
    createdAt: r.created_at,
  }));
}

/** Queue a fresh delivery (attempt 1) of the job's final event; null when the job has none to announce. */
export async function redeliver(sql: Sql, boss: Boss, job: Job): Promise<{ webhookId: string } | null> {
  if (!announcesWebhook(job)) return null;
  return sql.begin(async (tx) => {
    const eventId = await latestFinalEventId(tx, job);
    if (!eventId) return null;
    await enqueueWebhooks(tx, boss, [{ jobId: job.id, eventId, attempt: 1 }]);
    return { webhookId: webhookIdFor(job.id, eventId) };
  });
}
