// Request schemas of the account webhook routes (server/routes/webhooks.ts).
import { z } from 'zod';
import { ACCOUNT_EVENTS, type AccountEvent } from '../../core/webhooks/subscriptions.js';
import { publicUrl } from '../schemas.js';

/** The names KnowledgeSDK's own README uses for the same events. */
const ALIASES: Record<string, AccountEvent> = { 'extract.completed': 'EXTRACTION_COMPLETED', 'extract.failed': 'EXTRACTION_FAILED' };

const accountEvent = z.string({ error: 'must be an event name' }).transform((name, ctx) => {
  const event = ALIASES[name] ?? name;
  if ((ACCOUNT_EVENTS as readonly string[]).includes(event)) return event as AccountEvent;
  ctx.addIssue({ code: 'custom', message: `must be one of ${ACCOUNT_EVENTS.join(', ')}` });
  return z.NEVER;
});

export function subscriptionRequestSchema(opts: { allowPrivateNetworks: boolean }) {
  return z.object({
    url: publicUrl(opts.allowPrivateNetworks),
    events: z
      .array(accountEvent, { error: 'must be a list of event names' })
      .min(1, 'must name at least one event')
      .max(10, 'at most 10 events')
      .transform((events) => [...new Set(events)]),
    displayName: z.string({ error: 'must be a string' }).max(200, 'must be at most 200 characters').optional(),
  });
}

/** POST /v1/webhooks/{id}/redeliver and /v1/jobs/{jobId}/redeliver: which message (msg_…) to send again. */
export const redeliverRequestSchema = z.object({
  webhookId: z.string({ error: 'must be a webhook message id (msg_…)' }).regex(/^msg_[0-9A-Za-z]{1,64}$/, 'must be a webhook message id (msg_…)').optional(),
});
