// A route's entry in the OpenAPI document (server/openapi.ts assembles them),
// written beside its router (server/routes/*.openapi.ts, server/firecrawl/
// openapi.ts) from the zod schemas the router validates and answers with, and
// the parts those entries share: dates, the error body and its statuses.
import { z } from 'zod';
import { idempotencyKeySchema } from './schemas.js';

type Method = 'get' | 'post' | 'delete';

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RouteSpec {
  method: Method;
  /** Express form: /v1/jobs/:jobId */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** Needs an API key (x-api-key or Authorization: Bearer). */
  auth: boolean;
  query?: z.ZodObject;
  headers?: Record<string, { schema: z.ZodType; description: string }>;
  body?: z.ZodType;
  responses: Record<string, ResponseSpec>;
}

/** What the routes' own specs are built from: the server's limits that the request schemas carry. */
export interface RouteSpecOptions {
  allowPrivateNetworks: boolean;
  maxPages?: number;
}

export const isoDate = z.string().meta({ format: 'date-time' });
export const nullableDate = isoDate.nullable();
export const nextCursor = z.string().nullable().meta({ description: 'pass as ?cursor= for the next page; null on the last' });

const errorResponse = z
  .object({
    statusCode: z.int().meta({ description: 'the HTTP status, repeated' }),
    error: z.string().meta({ description: 'the HTTP status text, e.g. "Bad Request"' }),
    message: z.string(),
    code: z.string().meta({ description: 'stable, machine-readable: validation_error, unauthorized, not_found, invalid_state, idempotency_conflict, rate_limited, …' }),
    details: z.unknown().meta({ description: 'for validation errors: [{field, message}], one per problem; null when there are none' }),
  })
  .meta({ id: 'Error' });

/** An error answer: the API's error body. */
export const err = (description: string): ResponseSpec => ({ description, schema: errorResponse });

const retryAfter = { 'retry-after': 'seconds to wait' };

/** What any route with a key may answer. */
export const common = {
  '401': err('missing, unknown or revoked API key'),
  '429': { ...err('rate limit, or too many jobs in flight for the key'), headers: retryAfter },
  '503': { ...err('the database is unavailable'), headers: retryAfter },
};

/** What a route that submits a job may answer besides its success. */
export const submitErrors = {
  '400': err('validation error (every field and its problem in details) or malformed JSON'),
  '409': err('the Idempotency-Key was used with a different body'),
  '413': err('body over API_BODY_LIMIT_BYTES'),
  '415': err('body is not JSON'),
  ...common,
};

/** A route that holds a synchronous slot (scrape, sync extract). */
export const syncBusy = {
  '429': {
    ...err('rate limit, too many jobs in flight for the key, or too many synchronous requests (scrape, sync extract) in progress for the key or the service (SYNC_CONCURRENCY_PER_KEY, SYNC_CONCURRENCY)'),
    headers: retryAfter,
  },
};

export const notFound = { '404': err('no such job for this key (another key’s job is a 404 too)') };

export const idempotencyHeader = { 'Idempotency-Key': { schema: idempotencyKeySchema, description: 'makes retries of this request safe' } };
