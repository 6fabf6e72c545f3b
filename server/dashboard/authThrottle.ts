// Failed dashboard sign-ins (login form or bearer token) per client address:
// a token bucket of `burst` failures refilled at `perMinute`. An empty bucket
// refuses every sign-in attempt from that address (429, Retry-After) without
// checking the token, so guessing runs at `perMinute` at most. In memory, per
// API process. Behind a reverse proxy every client shares the proxy's address
// (trust proxy is off), so a guesser there slows everyone's sign-in too.

export interface AuthThrottleOptions {
  burst: number;
  perMinute: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const MAX_TRACKED = 10_000;

export class AuthThrottle {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private readonly now: () => number;

  constructor(private readonly options: AuthThrottleOptions) {
    this.perMs = options.perMinute / 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Seconds this address must wait before its next attempt, or 0 when it may try now. */
  retryAfter(address: string): number {
    const bucket = this.refill(address);
    if (!bucket || bucket.tokens >= 1) return 0;
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
  }

  /** Count a failed attempt from this address. */
  failed(address: string): void {
    const bucket = this.refill(address) ?? { tokens: this.options.burst, at: this.now() };
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    this.buckets.set(address, bucket);
    if (this.buckets.size > MAX_TRACKED) this.sweep();
  }

  private refill(address: string): Bucket | undefined {
    const bucket = this.buckets.get(address);
    if (!bucket) return undefined;
    const t = this.now();
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + (t - bucket.at) * this.perMs);
    bucket.at = t;
    return bucket;
  }

  /** Forget addresses whose bucket is full again; if still too many, the fullest. */
  private sweep(): void {
    const t = this.now();
    for (const [address, b] of this.buckets) if (b.tokens + (t - b.at) * this.perMs >= this.options.burst) this.buckets.delete(address);
    if (this.buckets.size > MAX_TRACKED) {
      const byTokens = [...this.buckets].sort((a, b) => b[1].tokens - a[1].tokens);
      for (const [address] of byTokens.slice(0, this.buckets.size - MAX_TRACKED)) this.buckets.delete(address);
    }
  }
}
