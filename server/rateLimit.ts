// Per-key token bucket, in memory in each API process (a key's limit is per
// process: with N API processes behind a balancer it can reach N times it).
import type { ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { ApiKey } from '../core/apiKeys.js';
import { HttpError } from './errors.js';

interface Bucket {
  tokens: number;
  at: number;
}

/** The per-key limit as express middleware (after requireApiKey), and as `take` for a path that runs without express (server/acceptPath.ts). */
export type RateLimiter = RequestHandler & {
  /** Takes a token for the key or throws the 429, setting the ratelimit headers on `res` either way. */
  take(apiKeyId: string, res: ServerResponse): void;
};

export function rateLimit(opts: { perMinute: number; burst: number; now?: () => number }): RateLimiter {
  const buckets = new Map<string, Bucket>();
  const perMs = opts.perMinute / 60_000;
  const now = opts.now ?? Date.now;
  let lastSweep = now();
  const limit = String(opts.perMinute);

  const take = (key: string, res: ServerResponse): void => {
    if (opts.perMinute === 0) return;
    const t = now();
    // Forget full buckets now and then so idle keys cost no memory.
    if (t - lastSweep > 60_000) {
      for (const [k, b] of buckets) if (b.tokens + (t - b.at) * perMs >= opts.burst) buckets.delete(k);
      lastSweep = t;
    }
    const bucket = buckets.get(key) ?? { tokens: opts.burst, at: t };
    bucket.tokens = Math.min(opts.burst, bucket.tokens + (t - bucket.at) * perMs);
    bucket.at = t;
    buckets.set(key, bucket);
    res.setHeader('ratelimit-limit', limit);
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
      res.setHeader('ratelimit-remaining', '0');
      throw new HttpError(429, 'rate_limited', `too many requests for this API key: the limit is ${opts.perMinute} per minute`, undefined, { 'retry-after': String(retryAfter) });
    }
    bucket.tokens -= 1;
    res.setHeader('ratelimit-remaining', String(Math.floor(bucket.tokens)));
  };

  const middleware: RequestHandler = (_req, res, next) => {
    take((res.locals.apiKey as ApiKey).id, res);
    next();
  };
  return Object.assign(middleware, { take });
}
