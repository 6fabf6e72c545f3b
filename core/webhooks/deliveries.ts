// The webhook_deliveries table (one row per attempt) and the webhook queue.
import type { Db, Sql } from '../platform/db.js';
import type { Job } from '../jobs/model.js';
import { claimWebhookQueueEntries, finishActivation, liveWebhookEntry } from '../queue/index.js';
import { WEBHOOK_QUEUE, WEBHOOKS_CHANNEL, bossDb, insertQueueEntries, type Boss, type Fragment } from '../queue/index.js';

export type DeliveryOutcome = 'delivered' | 'retrying' | 'failed';

/** A job's final state: its callbackUrl's delivery, and the fan-out to its other destinations (worker/webhooks.ts). */
export interface JobWebhookTask {
  jobId: string;
  /** The job_events row of the final state this delivery announces. */
  eventId: string;
  attempt: number;
  /** Set for EXTRACTION_STARTED: `eventId` is the claim's move to processing, fanned out to subscriptions only. */
  started?: true;
}

/** A message to any URL (core/webhooks/messages.ts), carrying its key for the per-key cap. */
export interface MessageTask {
  messageId: string;
  apiKeyId: string;
  attempt: number;
}

export type WebhookTask = JobWebhookTask | MessageTask;

export const isMessageTask = (t: WebhookTask): t is MessageTask => 'messageId' in t;

export interface DeliveryAttempt {
  jobId: string | null;
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
  job.callbackUrl !== null && isAnnouncedState(job);

/**
 * The final states announced at all (to a callbackUrl, a subscription or a
 * Firecrawl webhook). A cancelled job is announced too: its callbackUrl gets
 * `job.cancelled`, its subscriptions EXTRACTION_FAILED with code `cancelled`
 * (KnowledgeSDK's clients know no cancelled event); Firecrawl sends nothing.
 */
export const isAnnouncedState = (job: Pick<Job, 'status'>): boolean => job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled';

/**
 * The ids of these jobs (just moved to a final state, in the caller's
 * transaction) that have anyone to tell: see job_announces_webhooks (migration 015).
 */
export async function jobsToAnnounce(db: Db, jobs: Pick<Job, 'id' | 'status' | 'apiKeyId' | 'callbackUrl' | 'input'>[]): Promise<Set<string>> {
  const final = jobs.filter(isAnnouncedState);
  if (final.length === 0) return new Set();
  if (final.every((j) => j.callbackUrl !== null)) return new Set(final.map((j) => j.id));
  const rows = await db`select id from jobs where id = any(${final.map((j) => j.id)}::text[]) and job_announces_webhooks(api_key_id, callback_url, input)`;
  return new Set(rows.map((r) => r.id as string));
}

/** The job's latest final event, the only one a delivery may still announce; null if it has none. */
export async function latestFinalEventId(db: Db, job: Pick<Job, 'id' | 'status'>): Promise<string | null> {
  const [event] = await db`select id from job_events where job_id = ${job.id} and to_status = ${job.status} order by id desc limit 1`;
  return event ? String(event.id) : null;
}

/**
 * For the claim statement (core/jobs/workerTransitions.ts): the body of a CTE
 * that queues, with the claim, a webhook entry for each job it moved to
 * processing (its `moved` and `event` CTEs) whose key has a subscription
 * wanting EXTRACTION_STARTED (job_announces_start, which also wakes the
 * senders). The sender fans each out (fanOutStarted).
 */
export function startedEntries(db: Db): Fragment {
  return insertQueueEntries(
    db,
    WEBHOOK_QUEUE,
    db`(select gen_random_uuid() as id, jsonb_build_object('jobId', moved.id, 'eventId', event.id::text, 'apiKeyId', moved.api_key_id, 'attempt', 1, 'started', true) as data, now() as start_after
        from moved join event on event.job_id = moved.id
        where job_announces_start(moved.api_key_id, ${WEBHOOKS_CHANNEL}))`,
  );
}

/** Same for every attempt of one event, new for a later final event of the same job. */
export const webhookIdFor = (jobId: string, eventId: string) => `msg_${jobId}_${eventId}`;
export const webhookEventFor = (job: Pick<Job, 'status'>) => `job.${job.status}`;

/** Queue delivery attempts in the caller's transaction; those due now wake the senders (one NOTIFY for the lot). */
export async function enqueueWebhooks(tx: Db, boss: Boss, tasks: WebhookTask[], startAfterSeconds = 0): Promise<void> {
  for (const task of tasks) {
    const id = await boss.send(WEBHOOK_QUEUE, task, { db: bossDb(tx), startAfter: startAfterSeconds });
    if (!id) throw new Error(`queue refused webhook for ${isMessageTask(task) ? task.messageId : task.jobId}`);
  }
  if (tasks.length > 0 && startAfterSeconds === 0) await tx`select pg_notify(${WEBHOOKS_CHANNEL}, '')`;
}

export async function recordAttempt(tx: Db, a: Omit<DeliveryAttempt, 'createdAt'> & { messageId?: string }): Promise<void> {
  await tx`
    insert into webhook_deliveries (job_id, message_id, event, webhook_id, attempt, url, status_code, duration_ms, error, outcome, next_attempt_at)
    values (${a.jobId}, ${a.messageId ?? null}, ${a.event}, ${a.webhookId}, ${a.attempt}, ${a.url}, ${a.statusCode}, ${a.durationMs}, ${a.error}, ${a.outcome}, ${a.nextAttemptAt})`;
}

export async function listDeliveries(db: Db, jobId: string): Promise<DeliveryAttempt[]> {
  const rows = await db`select * from webhook_deliveries where job_id = ${jobId} order by id`;
  return rows.map(deliveryAttemptOf);
}

/** A webhook_deliveries row as the API shows it. */
export function deliveryAttemptOf(r: Record<string, any>): DeliveryAttempt {
  return {
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
  };
}

export type RedeliverResult = { queued: true; webhookId: string } | { queued: false; webhookId: string; attempt: number; state: string } | null;

/**
 * Queue a fresh delivery (attempt 1) of the job's final event; null when the
 * job has none to announce. At most one chain per event: while an attempt of
 * this event is queued, waiting for its retry or being sent, nothing new is
 * queued and the chain under way is returned (`queued: false`), so repeated
 * calls cannot multiply attempts against a receiver.
 */
export async function redeliver(sql: Sql, boss: Boss, job: Job): Promise<RedeliverResult> {
  if (!announcesWebhook(job)) return null;
  return sql.begin(async (tx) => {
    // Serialises redeliveries of one job, so two calls cannot both find no chain and both queue one.
    await tx`select pg_advisory_xact_lock(${REDELIVER_LOCK}, hashtext(${job.id}))`;
    const eventId = await latestFinalEventId(tx, job);
    if (!eventId) return null;
    const webhookId = webhookIdFor(job.id, eventId);
    const live = await liveWebhookEntry(tx, { jobId: job.id, eventId });
    if (live) return { queued: false, webhookId, attempt: live.attempt, state: live.state };
    await enqueueWebhooks(tx, boss, [{ jobId: job.id, eventId, attempt: 1 }]);
    return { queued: true, webhookId };
  });
}

const REDELIVER_LOCK = 0x77686b72; // "whkr"

/** A webhook queue entry as one sender activation took it; `retryCount` and `startedOn` name that activation. */
export interface WebhookEntry {
  id: string;
  data: WebhookTask;
  /** The key whose job or message this delivery announces ('' when the job is gone). */
  apiKeyId: string;
  retryCount: number;
  /** started_on as the database's text, exact to the microsecond (a Date would round it to ms). */
  startedOn: string;
}

/**
 * Take up to `limit` due webhook entries, marking them active as pg-boss's
 * fetch() does, but never more than `perKey` at a time for one API key:
 * `busy` says how many each key already has in flight here. Entries of keys
 * at their cap are passed over (not reordered), so one key's backlog or slow
 * receiver cannot hold the slots other keys' deliveries need.
 */
export async function claimWebhookEntries(db: Db, opts: { limit: number; perKey: number; busy: ReadonlyMap<string, number> }): Promise<WebhookEntry[]> {
  return claimWebhookQueueEntries<WebhookTask>(db, opts);
}

/**
 * Finish an entry only if it is still the activation this sender took: once an
 * entry expires (its sender stalled past its time) and another sender takes
 * it, the stalled sender's finish matches nothing. True when it matched.
 */
export async function finishWebhookEntry(db: Db, entry: Pick<WebhookEntry, 'id' | 'retryCount' | 'startedOn'>): Promise<boolean> {
  return finishActivation(db, WEBHOOK_QUEUE, entry);
}
