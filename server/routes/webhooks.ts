import { Router, type Response } from 'express';
import type { ApiKey } from '../../core/apiKeys.js';
import { getWebhookSecret, rotateWebhookSecret } from '../../core/webhooks/secrets.js';
import type { Sql } from '../../core/platform/db.js';
import type { Boss } from '../../core/queue/index.js';
import { plainBox, type SecretBox } from '../../core/secretBox.js';
import { listDeliveries, redeliver, type DeliveryAttempt } from '../../core/webhooks/deliveries.js';
import { accountBody } from '../../core/webhooks/events.js';
import { emitMessages, listSubscriptionDeliveries, newMessageId, redeliverMessage, type MessageRedelivery } from '../../core/webhooks/messages.js';
import { TooManySubscriptionsError, createSubscription, deleteSubscription, getSubscription, listSubscriptions, type Subscription } from '../../core/webhooks/subscriptions.js';
import { HttpError } from '../errors.js';
import { ownJobFinder } from '../ownJob.js';
import { parseOr400 } from '../validation.js';
import { redeliverRequestSchema, subscriptionRequestSchema } from './webhookSchemas.js';

/** A subscription as KnowledgeSDK's client reads it (WebhookFull); `token` only where it is handed out. */
export const subscriptionView = (s: Subscription, token?: string) => ({
  id: s.id,
  url: s.url,
  events: s.events,
  displayName: s.displayName,
  status: s.status,
  createdAt: s.createdAt.toISOString(),
  updatedAt: s.updatedAt.toISOString(),
  ...(token === undefined ? {} : { token }),
});

const deliveryView = (d: DeliveryAttempt) => ({
  webhookId: d.webhookId,
  event: d.event,
  attempt: d.attempt,
  url: d.url,
  statusCode: d.statusCode,
  durationMs: d.durationMs,
  error: d.error,
  outcome: d.outcome,
  nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
  at: d.createdAt.toISOString(),
});

/** 409 while a chain of the message is under way, as for job callbacks; 404 for a message the key does not have. */
function redelivered(res: Response, result: MessageRedelivery, ids: Record<string, string>): void {
  if (!result) throw new HttpError(404, 'not_found', 'no such webhook message for this key');
  if (!result.queued) {
    throw new HttpError(409, 'delivery_in_progress', `a delivery of this message is already ${result.state === 'active' ? 'being sent' : 'queued'} (attempt ${result.attempt}); redeliver once it has ended`, {
      webhookId: result.webhookId,
      attempt: result.attempt,
    });
  }
  res.status(202).json({ ...ids, webhookId: result.webhookId, status: 'queued' });
}

export function webhooksRouter(deps: { sql: Sql; boss: Boss; secretGraceMs: number; secrets?: SecretBox; allowPrivateNetworks: boolean }): Router {
  const router = Router();
  const { sql, boss } = deps;
  const box = deps.secrets ?? plainBox;
  const ownJob = ownJobFinder(sql);
  const subscriptionSchema = subscriptionRequestSchema({ allowPrivateNetworks: deps.allowPrivateNetworks });
  /** The key's subscription, or 404 (another key's is indistinguishable from a missing one, and so is a malformed id). */
  const ownSubscription = async (res: Response, id: string) => {
    const sub = await getSubscription(sql, { apiKeyId: (res.locals.apiKey as ApiKey).id, id });
    if (!sub) throw new HttpError(404, 'not_found', 'no such webhook for this key');
    return sub;
  };

  // KnowledgeSDK's account webhooks: webhooks.create / list / delete / test.
  router.post('/v1/webhooks', async (req, res) => {
    const body = parseOr400(subscriptionSchema, req.body ?? {});
    try {
      const created = await createSubscription(sql, box, { apiKeyId: (res.locals.apiKey as ApiKey).id, url: body.url, events: body.events, displayName: body.displayName ?? null });
      res.status(201).json(subscriptionView(created, created.token));
    } catch (err) {
      if (err instanceof TooManySubscriptionsError) throw new HttpError(409, 'too_many_webhooks', err.message);
      throw err;
    }
  });

  router.get('/v1/webhooks', async (_req, res) => {
    res.json((await listSubscriptions(sql, (res.locals.apiKey as ApiKey).id)).map((s) => subscriptionView(s)));
  });

  router.delete('/v1/webhooks/:webhookId', async (req, res) => {
    const sub = await ownSubscription(res, req.params.webhookId);
    await deleteSubscription(sql, { apiKeyId: sub.apiKeyId, id: sub.id });
    res.json({ id: sub.id, deleted: true });
  });

  router.post('/v1/webhooks/:webhookId/test', async (req, res) => {
    const sub = await ownSubscription(res, req.params.webhookId);
    const dedupKey = `${sub.id}:test:${newMessageId()}`;
    const [messageId] = await sql.begin((tx) =>
      emitMessages(tx, boss, box, [
        {
          apiKeyId: sub.apiKeyId,
          jobId: null,
          subscriptionId: sub.id,
          source: 'account',
          event: 'TESTING_CONNECTION',
          url: sub.url,
          headers: null,
          body: accountBody('TESTING_CONNECTION', { webhookId: sub.id, message: 'A test event from Gleaner: this endpoint receives the webhook’s events.' }),
          dedupKey,
        },
      ]),
    );
    res.status(202).json({ id: sub.id, event: 'TESTING_CONNECTION', webhookId: messageId!, status: 'queued' });
  });

  router.get('/v1/webhooks/:webhookId/deliveries', async (req, res) => {
    const sub = await ownSubscription(res, req.params.webhookId);
    res.json({ id: sub.id, deliveries: (await listSubscriptionDeliveries(sql, sub.id)).map(deliveryView) });
  });

  router.post('/v1/webhooks/:webhookId/redeliver', async (req, res) => {
    const sub = await ownSubscription(res, req.params.webhookId);
    const body = parseOr400(redeliverRequestSchema.required(), req.body ?? {});
    redelivered(res, await redeliverMessage(sql, boss, { apiKeyId: sub.apiKeyId, messageId: body.webhookId, subscriptionId: sub.id }), { id: sub.id });
  });

  router.get('/v1/webhooks/secret', async (_req, res) => {
    res.json({ secret: await getWebhookSecret(sql, (res.locals.apiKey as ApiKey).id, deps.secrets) });
  });

  router.post('/v1/webhooks/secret/rotate', async (_req, res) => {
    const rotated = await rotateWebhookSecret(sql, (res.locals.apiKey as ApiKey).id, deps.secretGraceMs, deps.secrets);
    res.json({ secret: rotated.secret, previousSecretExpiresAt: rotated.previousExpiresAt?.toISOString() ?? null });
  });

  router.get('/v1/jobs/:jobId/deliveries', async (req, res) => {
    const job = await ownJob(res.locals.apiKey as ApiKey, req.params.jobId, res.locals);
    const deliveries = await listDeliveries(sql, job.id);
    res.json({ jobId: job.id, deliveries: deliveries.map(deliveryView) });
  });

  router.post('/v1/jobs/:jobId/redeliver', async (req, res) => {
    const job = await ownJob(res.locals.apiKey as ApiKey, req.params.jobId, res.locals);
    // With a webhookId: one of the job's messages (its Firecrawl webhook's, its subscriptions' events).
    const { webhookId } = parseOr400(redeliverRequestSchema, req.body ?? {});
    if (webhookId !== undefined) return redelivered(res, await redeliverMessage(sql, boss, { apiKeyId: job.apiKeyId, messageId: webhookId, jobId: job.id }), { jobId: job.id });
    if (!job.callbackUrl) throw new HttpError(409, 'invalid_state', 'job has no callbackUrl');
    const queued = await redeliver(sql, boss, job);
    if (!queued) throw new HttpError(409, 'invalid_state', `job is ${job.status}; only completed, failed or cancelled jobs have a final event to deliver`);
    // One chain per event: a second call while one is under way would only multiply attempts against the receiver.
    if (!queued.queued) {
      throw new HttpError(409, 'delivery_in_progress', `a delivery of this event is already ${queued.state === 'active' ? 'being sent' : 'queued'} (attempt ${queued.attempt}); redeliver once it has ended`, {
        webhookId: queued.webhookId,
        attempt: queued.attempt,
      });
    }
    res.status(202).json({ jobId: job.id, webhookId: queued.webhookId, status: 'queued' });
  });

  return router;
}
