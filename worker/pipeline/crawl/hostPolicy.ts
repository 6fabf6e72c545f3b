// Politeness within one crawl: per host, at most `concurrency` requests in
// flight and at least `delayMs` between two request starts. Every request of
// the crawl to a host (robots.txt, sitemaps, pages) goes through here.

export interface HostPolicyOptions {
  concurrency: number;
  delayMs: number;
}

interface Waiter {
  resolve(release: () => void): void;
  reject(err: unknown): void;
  signal: AbortSignal;
  onAbort: () => void;
}

interface HostState {
  active: number;
  /** performance.now() of the last request start (the delay counts from it, so a raised delay applies at once). */
  lastStartAt: number;
  /** Floor from robots.txt Crawl-delay, when larger than the default. */
  delayMs: number;
  waiters: Waiter[];
  timer: NodeJS.Timeout | undefined;
}

export class HostPolicy {
  private readonly hosts = new Map<string, HostState>();

  constructor(private readonly opts: HostPolicyOptions) {}

  private state(host: string): HostState {
    let s = this.hosts.get(host);
    if (s === undefined) {
      s = { active: 0, lastStartAt: -Infinity, delayMs: this.opts.delayMs, waiters: [], timer: undefined };
      this.hosts.set(host, s);
    }
    return s;
  }

  /** Raise one host's delay (robots.txt Crawl-delay); never lowers it below the configured delay. */
  setMinDelay(host: string, delayMs: number): void {
    const s = this.state(host);
    s.delayMs = Math.max(s.delayMs, this.opts.delayMs, delayMs);
  }

  delayFor(host: string): number {
    return this.hosts.get(host)?.delayMs ?? this.opts.delayMs;
  }

  /** Run `fn` once the host has a free slot and its delay has passed. */
  async run<T>(host: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(host, signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Wait for a slot; the returned function gives it back (call it exactly once). */
  acquire(host: string, signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const s = this.state(host);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = s.waiters.indexOf(waiter);
          if (i !== -1) s.waiters.splice(i, 1);
          reject(signal.reason);
          this.pump(s);
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      s.waiters.push(waiter);
      this.pump(s);
    });
  }

  private pump(s: HostState): void {
    while (s.waiters.length > 0 && s.active < this.opts.concurrency) {
      const now = performance.now();
      const nextStartAt = s.lastStartAt + s.delayMs;
      if (now < nextStartAt) {
        // Timers may fire a little early; pump() re-checks and re-arms.
        if (s.timer === undefined) {
          s.timer = setTimeout(() => {
            s.timer = undefined;
            this.pump(s);
          }, Math.ceil(nextStartAt - now));
        }
        return;
      }
      const waiter = s.waiters.shift()!;
      waiter.signal.removeEventListener('abort', waiter.onAbort);
      s.active++;
      s.lastStartAt = now;
      let released = false;
      waiter.resolve(() => {
        if (released) return;
        released = true;
        s.active--;
        this.pump(s);
      });
    }
    if (s.waiters.length === 0 && s.timer !== undefined) {
      clearTimeout(s.timer);
      s.timer = undefined;
    }
  }

  /** Cancel pending timers (the crawl is over). Waiters are rejected through their signals. */
  dispose(): void {
    for (const s of this.hosts.values()) {
      if (s.timer !== undefined) clearTimeout(s.timer);
      s.timer = undefined;
    }
  }
}
