// The extraction routes (server/routes/extract.ts) in the OpenAPI document.
import { idempotencyHeader, submitErrors, syncBusy, type RouteSpec, type RouteSpecOptions } from '../routeSpec.js';
import { extractRequestSchema } from '../schemas.js';
import { jobAccepted, jobViewSchemas } from './jobs.openapi.js';

export function extractRouteSpecs(opts: RouteSpecOptions): RouteSpec[] {
  return [
    {
      method: 'post',
      path: '/v1/extract/async',
      tag: 'jobs',
      auth: true,
      summary: 'Submit a page for extraction',
      description: 'Records the job as pending and enqueues it in one transaction. With an Idempotency-Key, the same key and body return the same job (200, idempotent-replayed: true); a different body with the same key is a 409.',
      headers: idempotencyHeader,
      body: extractRequestSchema(opts),
      responses: {
        '202': { description: 'accepted: the job is pending', schema: jobAccepted },
        '200': { description: 'an idempotent replay: the job created earlier with this key and body', schema: jobAccepted, headers: { 'idempotent-replayed': 'true' } },
        ...submitErrors,
      },
    },
    {
      method: 'post',
      path: '/v1/extract',
      tag: 'jobs',
      auth: true,
      summary: 'Submit and wait for the result',
      description: 'The same job as /v1/extract/async, but the answer waits up to EXTRACT_SYNC_TIMEOUT: 200 with the finished job (completed or failed), else 202 with the jobId and a Location to poll.',
      headers: idempotencyHeader,
      body: extractRequestSchema(opts),
      responses: {
        '200': { description: 'the finished job', schema: jobViewSchemas(opts).job },
        '202': { description: 'still running: poll the Location', schema: jobAccepted, headers: { location: '/v1/jobs/{jobId}' } },
        ...submitErrors,
        ...syncBusy,
      },
    },
  ];
}
