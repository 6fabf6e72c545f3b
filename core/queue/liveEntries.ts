// Whether a webhook delivery chain is still under way (redelivery queues at most one per event or message).
import type { Db } from '../platform/db.js';
import { WEBHOOK_QUEUE } from './schema.js';

/** What a live chain's entry says: its pg-boss state (created, retry, active) and the attempt it carries. */
export interface LiveEntry {
  state: string;
  attempt: number;
}

/**
 * The webhook entry not yet finished (queued, waiting for its retry, or being
 * sent) of this job event (data.jobId and data.eventId) or this message
 * (data.messageId); null when none is.
 */
export async function liveWebhookEntry(db: Db, of: { jobId: string; eventId: string } | { messageId: string }): Promise<LiveEntry | null> {
  const match = 'messageId' in of ? db`data->>'messageId' = ${of.messageId}` : db`data->>'jobId' = ${of.jobId} and data->>'eventId' = ${of.eventId}`;
  const [live] = await db`
    select state::text, (data->>'attempt')::int as attempt from pgboss.job
    where name = ${WEBHOOK_QUEUE} and state < 'completed' and ${match}
    limit 1`;
  return live ? { state: live.state as string, attempt: live.attempt as number } : null;
}
