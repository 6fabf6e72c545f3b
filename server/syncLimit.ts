// Caps on the requests that do their work while the client waits (POST
// /v1/scrape fetches and extracts a page; POST /v1/extract holds a request and
// polls its job): at most `max` in progress in this API process and at most
// `perKey` for one API key, so one tenant can neither exhaust the process nor
// crowd out the others. Over either cap: 429 with Retry-After. Per process,
// like the rate limit: N API processes allow N times as many.
import type { Response } from 'express';
import { HttpError } from './errors.js';

export class SyncLimit {
  private total = 0;
  private readonly byKey = new Map<string, number>();

  constructor(
    readonly max: number,
    readonly perKey: number,
  ) {}

  /** Take a slot for this key until the response closes (sent or abandoned), or throw 429. */
  hold(apiKeyId: string, res: Response): void {
    const held = this.byKey.get(apiKeyId) ?? 0;
    if (held >= this.perKey) {
      throw new HttpError(429, 'too_many_requests', `this API key already has ${held} scrape or synchronous extract requests in progress (the limit is ${this.perKey}); retry shortly or use POST /v1/extract/async`, undefined, { 'retry-after': '1' });
    }
    if (this.total >= this.max) {
      throw new HttpError(429, 'too_many_requests', 'the service is at its limit of scrape and synchronous extract requests in progress; retry shortly or use POST /v1/extract/async', undefined, { 'retry-after': '1' });
    }
    this.total++;
    this.byKey.set(apiKeyId, held + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.total--;
      const n = (this.byKey.get(apiKeyId) ?? 1) - 1;
      if (n > 0) this.byKey.set(apiKeyId, n);
      else this.byKey.delete(apiKeyId);
    };
    res.once('close', release);
    if (res.destroyed) release(); // the client left before the slot was taken: 'close' has already fired
  }

  /** Requests holding a slot: in all, and for one key. */
  inUse(apiKeyId?: string): number {
    return apiKeyId === undefined ? this.total : (this.byKey.get(apiKeyId) ?? 0);
  }
}
