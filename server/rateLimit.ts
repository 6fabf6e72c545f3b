// Per-key token bucket, in memory in each API process (a key's limit is per
// process: with N API processes behind a balancer it can reach N times it).
import type { RequestHandler } from 'express';
import type { ApiKey } from '../core/apiKeys.js';
import { HttpError } from './errors.js';

interface Bucket {
  tokens: number;
  at: number;
}

export function rateLimit(opts: { perMinute: number; burst: number; now?: () => number }): RequestHandler {
  const buckets = new Map<string, Bucket>();
  const perMs = opts.perMinute / 60_000;
  const now = opts.now ?? Date.now;
  let lastSweep = now();

  return (_req, res, next) => {
    if (opts.perMinute === 0) return next();
    const key = (res.locals.apiKey as ApiKey).id;
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
    res.setHeader('ratelimit-limit', String(opts.perMinute));
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
      res.setHeader('ratelimit-remaining', '0');
      throw new HttpError(429, 'rate_limited', `too many requests for this API key: the limit is ${opts.perMinute} per minute`, undefined, { 'retry-after': String(retryAfter) });
    }
    bucket.tokens -= 1;
    res.setHeader('ratelimit-remaining', String(Math.floor(bucket.tokens)));
    next();
  };
}
