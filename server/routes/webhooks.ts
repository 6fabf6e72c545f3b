import { Router } from 'express';
import { getWebhookSecret, rotateWebhookSecret, type ApiKey } from '../../core/apiKeys.js';
import type { Sql } from '../../core/platform/db.js';
import type { Boss } from '../../core/queue.js';
import type { SecretBox } from '../../core/secretBox.js';
import { listDeliveries, redeliver } from '../../core/webhookDeliveries.js';
import { HttpError } from '../errors.js';
import { ownJobFinder } from '../ownJob.js';

export function webhooksRouter(deps: { sql: Sql; boss: Boss; secretGraceMs: number; secrets?: SecretBox }): Router {
  const router = Router();
  const { sql, boss } = deps;
  const ownJob = ownJobFinder(sql);

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
    res.json({
      jobId: job.id,
      deliveries: deliveries.map((d) => ({
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
      })),
    });
  });

  router.post('/v1/jobs/:jobId/redeliver', async (req, res) => {
    const job = await ownJob(res.locals.apiKey as ApiKey, req.params.jobId, res.locals);
    if (!job.callbackUrl) throw new HttpError(409, 'invalid_state', 'job has no callbackUrl');
    const queued = await redeliver(sql, boss, job);
    if (!queued) throw new HttpError(409, 'invalid_state', `job is ${job.status}; only completed or failed jobs have a final event to deliver`);
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
