// The webhook routes (server/routes/webhooks.ts) in the OpenAPI document:
// a job's deliveries and redelivery, the signing secret, and KnowledgeSDK's
// account webhooks.
import { z } from 'zod';
import { common, err, isoDate, notFound, nullableDate, type RouteSpec, type RouteSpecOptions } from '../routeSpec.js';
import { redeliverRequestSchema, subscriptionRequestSchema } from './webhookSchemas.js';

const deliveryAttempts = z.array(
  z.object({
    webhookId: z.string(),
    event: z.string(),
    attempt: z.int(),
    url: z.string(),
    statusCode: z.int().nullable(),
    durationMs: z.int().nullable(),
    error: z.string().nullable(),
    outcome: z.enum(['delivered', 'retrying', 'failed']),
    nextAttemptAt: nullableDate,
    at: isoDate,
  }),
);
const deliveries = z.object({ jobId: z.string(), deliveries: deliveryAttempts }).meta({ id: 'WebhookDeliveries' });

const redelivered = z.object({ jobId: z.string(), webhookId: z.string(), status: z.literal('queued') }).meta({ id: 'Redelivery' });
const webhookSecret = z.object({ secret: z.string().meta({ description: 'whsec_… (Standard Webhooks)' }) }).meta({ id: 'WebhookSecret' });
const rotatedSecret = z.object({ secret: z.string(), previousSecretExpiresAt: nullableDate }).meta({ id: 'RotatedWebhookSecret' });
const subscriptionFields = {
  id: z.string().meta({ description: 'wh_…' }),
  url: z.string(),
  events: z.array(z.string()),
  displayName: z.string().nullable(),
  status: z.enum(['active', 'disabled']),
  createdAt: isoDate,
  updatedAt: isoDate,
};
const subscription = z.object(subscriptionFields).meta({ id: 'WebhookSubscription' });
const createdSubscription = z
  .object({ ...subscriptionFields, token: z.string().meta({ description: 'sent with every event as x-knowledgesdk-webhook-token' }) })
  .meta({ id: 'CreatedWebhookSubscription' });
const subscriptionDeleted = z.object({ id: z.string(), deleted: z.literal(true) }).meta({ id: 'WebhookSubscriptionDeleted' });
const subscriptionTest = z.object({ id: z.string(), event: z.literal('TESTING_CONNECTION'), webhookId: z.string(), status: z.literal('queued') }).meta({ id: 'WebhookTestQueued' });
const subscriptionDeliveries = z.object({ id: z.string(), deliveries: deliveryAttempts }).meta({ id: 'WebhookSubscriptionDeliveries' });
const messageRedelivered = z.object({ id: z.string(), webhookId: z.string(), status: z.literal('queued') }).meta({ id: 'WebhookMessageRedelivery' });

const noWebhook = err('no such webhook for this key');

export function webhooksRouteSpecs(opts: RouteSpecOptions): RouteSpec[] {
  const tag = 'webhooks';
  return [
    {
      method: 'get',
      path: '/v1/jobs/:jobId/deliveries',
      tag,
      auth: true,
      summary: 'Every webhook delivery attempt for a job',
      responses: { '200': { description: 'the attempts, oldest first', schema: deliveries }, ...notFound, ...common },
    },
    {
      method: 'post',
      path: '/v1/jobs/:jobId/redeliver',
      tag,
      auth: true,
      summary: 'Queue the final event’s webhook again (same webhook-id)',
      description: 'Without a body: the callbackUrl’s delivery of the final event. With {webhookId}: that message of the job (its Firecrawl webhook’s events, its subscriptions’ events; ids from the deliveries).',
      body: redeliverRequestSchema,
      responses: {
        '202': { description: 'queued', schema: redelivered },
        '400': err('webhookId is not a message id'),
        ...notFound,
        '409': err('no callbackUrl, the job has no final event to deliver (invalid_state), or a delivery of that event is still queued or being sent (delivery_in_progress)'),
        ...common,
      },
    },
    {
      method: 'get',
      path: '/v1/webhooks/secret',
      tag,
      auth: true,
      summary: 'This key’s webhook signing secret (created on first use)',
      responses: { '200': { description: 'the secret', schema: webhookSecret }, ...common },
    },
    {
      method: 'post',
      path: '/v1/webhooks/secret/rotate',
      tag,
      auth: true,
      summary: 'Issue a new signing secret',
      description: 'The previous secret keeps signing alongside the new one for WEBHOOK_SECRET_GRACE.',
      responses: { '200': { description: 'the new secret', schema: rotatedSecret }, ...common },
    },
    {
      method: 'post',
      path: '/v1/webhooks',
      tag,
      auth: true,
      summary: 'Subscribe a URL to this key’s events (KnowledgeSDK’s webhooks.create)',
      description:
        'Events: EXTRACTION_STARTED (a worker took the job), PAGE_SCRAPED (each done page), PAGE_UPDATED (a done page whose text changed since the key’s last recorded crawl of its URL), EXTRACTION_COMPLETED, EXTRACTION_FAILED (also for a cancelled job, code cancelled), TESTING_CONNECTION. Each event is POSTed as {event, payload, timestamp, version: 1} with x-knowledgesdk-webhook-token (the token returned here), x-knowledgesdk-dedup-key and the Standard Webhooks signature, through the same queue, retries and delivery log as job callbacks.',
      body: subscriptionRequestSchema(opts),
      responses: { '201': { description: 'the subscription, with its token', schema: createdSubscription }, '400': err('validation error (every field and its problem in details)'), '409': err('the key already has 20 webhooks'), ...common },
    },
    {
      method: 'get',
      path: '/v1/webhooks',
      tag,
      auth: true,
      summary: 'This key’s webhook subscriptions (webhooks.list)',
      responses: { '200': { description: 'the subscriptions, oldest first', schema: z.array(subscription) }, ...common },
    },
    {
      method: 'delete',
      path: '/v1/webhooks/:webhookId',
      tag,
      auth: true,
      summary: 'Delete a subscription (webhooks.delete)',
      description: 'Its messages and their delivery records go with it; attempts still queued are dropped.',
      responses: { '200': { description: 'deleted', schema: subscriptionDeleted }, '404': noWebhook, ...common },
    },
    {
      method: 'post',
      path: '/v1/webhooks/:webhookId/test',
      tag,
      auth: true,
      summary: 'Queue a TESTING_CONNECTION event to the subscription (webhooks.test)',
      responses: { '202': { description: 'queued', schema: subscriptionTest }, '404': noWebhook, ...common },
    },
    {
      method: 'get',
      path: '/v1/webhooks/:webhookId/deliveries',
      tag,
      auth: true,
      summary: 'The latest 100 delivery attempts of the subscription’s events',
      responses: { '200': { description: 'the attempts, oldest first', schema: subscriptionDeliveries }, '404': noWebhook, ...common },
    },
    {
      method: 'post',
      path: '/v1/webhooks/:webhookId/redeliver',
      tag,
      auth: true,
      summary: 'Queue one of the subscription’s messages again (same webhook-id and body)',
      body: redeliverRequestSchema.required(),
      responses: {
        '202': { description: 'queued', schema: messageRedelivered },
        '400': err('webhookId missing or not a message id'),
        '404': err('no such webhook or message for this key'),
        '409': err('a delivery of that message is still queued or being sent (delivery_in_progress)'),
        ...common,
      },
    },
  ];
}
