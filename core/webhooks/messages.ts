// Signed events to any URL (the webhook_messages table): an account
// subscription's events and a Firecrawl job's webhook. A message is written
// once, with the exact body every attempt sends, and queued in the same
// transaction; its attempts go through the webhook queue, the sender's per-key
// cap and the retry schedule like a job callback's (worker/webhooks.ts).
import type { Db, Sql } from '../platform/db.js';
import { randomBase62 } from '../ids.js';
import { liveWebhookEntry, type Boss } from '../queue/index.js';
import type { SecretBox } from '../secretBox.js';
import { deliveryAttemptOf, enqueueWebhooks, type DeliveryAttempt } from './deliveries.js';

export type MessageSource = 'account' | 'firecrawl';

export interface NewMessage {
  apiKeyId: string;
  jobId: string | null;
  subscriptionId: string | null;
  source: MessageSource;
  event: string;
  url: string;
  /** The client's own headers (Firecrawl's webhook.headers); sealed at rest. */
  headers: Record<string, string> | null;
  /** The JSON body, or a function of the message's id for bodies that carry it (Firecrawl's webhookId). */
  body: unknown;
  /** One message per key, however often the event is emitted (a fan-out run again after a crash). */
  dedupKey: string;
}

/** A stored message: the new message's addressing, its body as sent and its headers unsealed. */
export interface Message extends Pick<NewMessage, 'apiKeyId' | 'jobId' | 'subscriptionId' | 'source' | 'event' | 'url'> {
  id: string;
  headers: Record<string, string>;
  body: string;
  createdAt: Date;
}

export const newMessageId = () => `msg_${randomBase62(24)}`;

/**
 * Write the messages not written before (by dedup key) and queue their first
 * attempts, in the caller's transaction. Returns the ids of those written.
 */
export async function emitMessages(tx: Db, boss: Boss, box: SecretBox, messages: NewMessage[]): Promise<string[]> {
  if (messages.length === 0) return [];
  const rows = messages.map((m) => {
    const id = newMessageId();
    return {
      id,
      api_key_id: m.apiKeyId,
      job_id: m.jobId,
      subscription_id: m.subscriptionId,
      source: m.source,
      event: m.event,
      url: m.url,
      headers: m.headers && Object.keys(m.headers).length ? box.seal(JSON.stringify(m.headers), id) : null,
      body: JSON.stringify(typeof m.body === 'function' ? (m.body as (id: string) => unknown)(id) : m.body),
      dedup_key: m.dedupKey,
    };
  });
  const written = await tx`
    insert into webhook_messages ${tx(rows, 'id', 'api_key_id', 'job_id', 'subscription_id', 'source', 'event', 'url', 'headers', 'body', 'dedup_key')}
    on conflict (dedup_key) do nothing
    returning id, api_key_id`;
  // In the order emitted: the claim takes due entries oldest first, so a crawl's pages go out before its completion.
  const order = new Map(rows.map((r, i) => [r.id, i]));
  const tasks = written
    .map((r) => ({ messageId: r.id as string, apiKeyId: r.api_key_id as string, attempt: 1 }))
    .sort((a, b) => order.get(a.messageId)! - order.get(b.messageId)!);
  await enqueueWebhooks(tx, boss, tasks);
  return tasks.map((t) => t.messageId);
}

export async function getMessage(db: Db, box: SecretBox, id: string): Promise<Message | null> {
  const [r] = await db`select * from webhook_messages where id = ${id}`;
  if (!r) return null;
  return {
    id: r.id,
    apiKeyId: r.api_key_id,
    jobId: r.job_id,
    subscriptionId: r.subscription_id,
    source: r.source,
    event: r.event,
    url: r.url,
    headers: r.headers ? (JSON.parse(box.open(r.headers as string, r.id as string)) as Record<string, string>) : {},
    body: r.body,
    createdAt: r.created_at,
  };
}

/** Attempts of one subscription's messages, newest messages first (at most `limit` attempts). */
export async function listSubscriptionDeliveries(db: Db, subscriptionId: string, limit = 100): Promise<DeliveryAttempt[]> {
  const rows = await db`
    select d.* from webhook_deliveries d join webhook_messages m on m.id = d.message_id
    where m.subscription_id = ${subscriptionId}
    order by d.id desc limit ${limit}`;
  return rows.reverse().map(deliveryAttemptOf);
}

/**
 * Retention of messages that belong to no job (TESTING_CONNECTION; a job's
 * messages go with the job): up to `limit` created before `cutoff`, with their
 * delivery records, rows others hold skipped. Returns what was deleted.
 */
export async function deleteJoblessMessages(db: Db, p: { cutoff: Date; limit: number }): Promise<{ messages: number; deliveries: number }> {
  const [row] = await db`
    with doomed as (
      select id from webhook_messages
      where job_id is null and created_at < ${p.cutoff}
      order by created_at limit ${p.limit}
      for update skip locked
    ), deliveries as (
      delete from webhook_deliveries where message_id in (select id from doomed) returning 1
    ), gone as (
      delete from webhook_messages where id in (select id from doomed) returning 1
    )
    select (select count(*) from gone)::int as messages, (select count(*) from deliveries)::int as deliveries`;
  return { messages: row!.messages as number, deliveries: row!.deliveries as number };
}

export type MessageRedelivery = { queued: true; webhookId: string } | { queued: false; webhookId: string; attempt: number; state: string } | null;

/**
 * Queue attempt 1 of a message again (same webhook-id and body); null when the
 * key has no such message. As for job callbacks, at most one chain per
 * message: while one is queued or being sent, nothing new is queued.
 */
export async function redeliverMessage(sql: Sql, boss: Boss, p: { apiKeyId: string; messageId: string; subscriptionId?: string; jobId?: string }): Promise<MessageRedelivery> {
  return sql.begin(async (tx) => {
    const [message] = await tx`
      select id from webhook_messages where id = ${p.messageId} and api_key_id = ${p.apiKeyId}
      ${p.subscriptionId === undefined ? tx`` : tx`and subscription_id = ${p.subscriptionId}`}
      ${p.jobId === undefined ? tx`` : tx`and job_id = ${p.jobId}`}
      for update`;
    if (!message) return null;
    const live = await liveWebhookEntry(tx, { messageId: p.messageId });
    if (live) return { queued: false, webhookId: p.messageId, attempt: live.attempt, state: live.state };
    await enqueueWebhooks(tx, boss, [{ messageId: p.messageId, apiKeyId: p.apiKeyId, attempt: 1 }]);
    return { queued: true, webhookId: p.messageId };
  });
}
