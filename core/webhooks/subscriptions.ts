// Account webhooks (KnowledgeSDK's /v1/webhooks): per API key, a URL and the
// events it wants. Each gets a token at creation, sent with every event as
// x-knowledgesdk-webhook-token and stored sealed under SECRETS_KEY when set.
import { randomBytes } from 'node:crypto';
import type { Db, Sql } from '../platform/db.js';
import { randomBase62 } from '../ids.js';
import type { SecretBox } from '../secretBox.js';

/** KnowledgeSDK's event names, all of which Gleaner sends. */
export const ACCOUNT_EVENTS = ['EXTRACTION_STARTED', 'PAGE_SCRAPED', 'PAGE_UPDATED', 'EXTRACTION_COMPLETED', 'EXTRACTION_FAILED', 'TESTING_CONNECTION'] as const;
export type AccountEvent = (typeof ACCOUNT_EVENTS)[number];

/** Subscriptions one key may hold: each one multiplies the deliveries of every job. */
export const MAX_SUBSCRIPTIONS_PER_KEY = 20;

export interface Subscription {
  id: string;
  apiKeyId: string;
  url: string;
  events: AccountEvent[];
  displayName: string | null;
  status: 'active' | 'disabled';
  createdAt: Date;
  updatedAt: Date;
}

export class TooManySubscriptionsError extends Error {
  constructor() {
    super(`this API key already has ${MAX_SUBSCRIPTIONS_PER_KEY} webhooks; delete one first`);
  }
}

const toSubscription = (r: Record<string, unknown>): Subscription => ({
  id: r.id as string,
  apiKeyId: r.api_key_id as string,
  url: r.url as string,
  events: r.events as AccountEvent[],
  displayName: (r.display_name as string | null) ?? null,
  status: r.status as Subscription['status'],
  createdAt: r.created_at as Date,
  updatedAt: r.updated_at as Date,
});

export const newSubscriptionId = () => `wh_${randomBase62(20)}`;
const newToken = () => `whtok_${randomBytes(24).toString('base64url')}`;

/** Create a subscription; returns it with its token (in clear, for the client). */
export async function createSubscription(sql: Sql, box: SecretBox, p: { apiKeyId: string; url: string; events: AccountEvent[]; displayName: string | null }): Promise<Subscription & { token: string }> {
  const id = newSubscriptionId();
  const token = newToken();
  const [row] = await sql.begin(async (tx) => {
    // One creation per key at a time, so concurrent ones cannot all pass the count.
    await tx`select pg_advisory_xact_lock(${SUBSCRIBE_LOCK}, hashtext(${p.apiKeyId}))`;
    return tx`
      insert into webhook_subscriptions (id, api_key_id, url, events, display_name, token)
      select ${id}, ${p.apiKeyId}, ${p.url}, ${p.events}::text[], ${p.displayName}, ${box.seal(token, id)}
      where (select count(*) from webhook_subscriptions where api_key_id = ${p.apiKeyId}) < ${MAX_SUBSCRIPTIONS_PER_KEY}
      returning *`;
  });
  if (!row) throw new TooManySubscriptionsError();
  return { ...toSubscription(row), token };
}

const SUBSCRIBE_LOCK = 0x77687362; // "whsb"

export async function listSubscriptions(db: Db, apiKeyId: string): Promise<Subscription[]> {
  const rows = await db`select * from webhook_subscriptions where api_key_id = ${apiKeyId} order by created_at, id`;
  return rows.map(toSubscription);
}

/** The key's subscription by id; null for a missing one or another key's (indistinguishable). */
export async function getSubscription(db: Db, p: { apiKeyId: string; id: string }): Promise<Subscription | null> {
  const [row] = await db`select * from webhook_subscriptions where id = ${p.id} and api_key_id = ${p.apiKeyId}`;
  return row ? toSubscription(row) : null;
}

/** Delete with its messages and their delivery records; queued attempts find no message and are dropped. */
export async function deleteSubscription(db: Db, p: { apiKeyId: string; id: string }): Promise<boolean> {
  const rows = await db`delete from webhook_subscriptions where id = ${p.id} and api_key_id = ${p.apiKeyId} returning 1`;
  return rows.length === 1;
}

/** The key's active subscriptions wanting any of `events`, with their tokens opened. */
export async function subscribersOf(db: Db, box: SecretBox, apiKeyId: string, events: readonly AccountEvent[]): Promise<(Subscription & { token: string })[]> {
  const rows = await db`
    select * from webhook_subscriptions
    where api_key_id = ${apiKeyId} and status = 'active' and events && ${events as string[]}::text[]
    order by created_at, id`;
  return rows.map((r) => ({ ...toSubscription(r), token: box.open(r.token as string, r.id as string) }));
}

/** The token of one subscription (opened), for its deliveries' header. */
export async function subscriptionToken(db: Db, box: SecretBox, id: string): Promise<string | null> {
  const [row] = await db`select token from webhook_subscriptions where id = ${id}`;
  return row ? box.open(row.token as string, id) : null;
}
