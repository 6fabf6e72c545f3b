// Politeness across every worker and job, through PostgreSQL: per host at most
// `concurrency` requests in flight and `delayMs` (or the host's robots.txt
// Crawl-delay, if longer) between two request starts, and a host that answered
// 429/503 with Retry-After is left alone until then by everyone. The database's
// clock decides, so workers on machines whose clocks differ agree.
import type { Db, Sql } from '../platform/db.js';

export interface HostLimits {
  concurrency: number;
  delayMs: number;
  /** A slot not given back within this long (its worker died mid-request) is free again. */
  leaseMs: number;
}

export interface HostLease {
  host: string;
  slot: number;
  holder: string;
}

export type HostGrant = { granted: true; lease: HostLease } | { granted: false; waitMs: number };

/** While every slot is taken, ask again this often (a release frees one at any time). */
const BUSY_RETRY_MS = 25;

/** What kind of request a slot is for (migration 032). */
export interface SlotKind {
  /** false: a robots.txt read, which counts toward the concurrency and waits out a Retry-After, but neither waits for nor moves the delay clock. */
  paced?: boolean | undefined;
  /** A one-page job's request: while it waits, other requests leave the host's next free slot and start to it. */
  urgent?: boolean | undefined;
}

/**
 * Take a slot of `host` for one request if its limits allow one now; else say
 * how long to wait before asking again. One statement (migration 032's
 * function), so the host's row is held for one round trip.
 */
export async function acquireHostSlot(db: Db, p: { host: string; holder: string; limits: HostLimits } & SlotKind): Promise<HostGrant> {
  const [r] = await db`
    select slot, wait_ms from crawl_acquire_host_slot(${p.host}, ${p.holder}, ${Math.max(1, p.limits.concurrency)}::int, ${Math.max(0, Math.round(p.limits.delayMs))}::int, ${Math.round(p.limits.leaseMs)}::int, ${p.paced !== false}::boolean, ${p.urgent === true}::boolean)`;
  if (r!.slot === null) return { granted: false, waitMs: (r!.wait_ms as number) < 0 ? BUSY_RETRY_MS : (r!.wait_ms as number) };
  return { granted: true, lease: { host: p.host, slot: r!.slot as number, holder: p.holder } };
}

export async function releaseHostSlot(db: Db, lease: HostLease): Promise<void> {
  await db`delete from crawl_host_leases where host = ${lease.host} and slot = ${lease.slot} and holder = ${lease.holder}`;
}

/** The slots of workers judged gone (their jobs or page tasks rescued): free now, not when their leases run out. */
export async function releaseHostSlotsOf(db: Db, holders: string[]): Promise<void> {
  if (holders.length > 0) await db`delete from crawl_host_leases where holder = any(${holders}::text[])`;
}

/** The host's robots.txt Crawl-delay (a floor on the configured delay for every job), or none. */
export async function setHostCrawlDelay(db: Db, host: string, delayMs: number | undefined): Promise<void> {
  await db`
    insert into crawl_hosts (host, delay_ms) values (${host}, ${delayMs ?? null})
    on conflict (host) do update set delay_ms = excluded.delay_ms, updated_at = now()
      where crawl_hosts.delay_ms is distinct from excluded.delay_ms`;
}

/** A 429/503 with Retry-After: no worker starts a request to `host` for `retryAfterMs` (never shortens a longer pause). */
export async function slowHost(db: Db, host: string, retryAfterMs: number): Promise<void> {
  await db`
    insert into crawl_hosts (host, slowed_until) values (${host}, now() + ${retryAfterMs} * interval '1 millisecond')
    on conflict (host) do update set slowed_until = greatest(crawl_hosts.slowed_until, excluded.slowed_until), updated_at = now()`;
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

/**
 * The host limits every fetch of a worker goes through (page tasks, one-page
 * jobs, the one-worker crawl): a slot held for the request, and what a
 * site's answers change for every job (Crawl-delay, Retry-After).
 */
export interface HostSlots {
  /** Wait for a slot of `host`, run the request, give the slot back (also when it throws or the signal aborts). */
  run<T>(host: string, signal: AbortSignal, fn: () => Promise<T>, kind?: SlotKind): Promise<T>;
  /** The host's robots.txt Crawl-delay (none clears it). */
  setCrawlDelay(host: string, delayMs: number | undefined): Promise<void>;
  /** A 429/503 with Retry-After: every worker leaves the host alone for `pauseMs`. */
  slow(host: string, pauseMs: number): Promise<void>;
  /** `origin`'s robots.txt answer as any worker read it within `maxAgeMs`, or null. */
  cachedRobots(origin: string, maxAgeMs: number): Promise<CachedRobots | null>;
  /** Keep `origin`'s robots.txt answer for every worker and job. */
  storeRobots(origin: string, answer: CachedRobots): Promise<void>;
}

/** The limits a worker's fetches share, from its config (a lease outlives the longest request by 30 s). */
export function hostLimitsOf(config: { crawl: { hostConcurrency: number; hostDelayMs: number }; fetch: { totalTimeoutMs: number } }): HostLimits {
  return { concurrency: config.crawl.hostConcurrency, delayMs: config.crawl.hostDelayMs, leaseMs: config.fetch.totalTimeoutMs + 30_000 };
}

/** A worker's way through the shared limits: wait for a slot of the host, run the request, give the slot back. */
export class SharedHostLimiter implements HostSlots {
  constructor(
    private readonly sql: Sql,
    private readonly holder: string,
    private readonly limits: HostLimits,
  ) {}

  setCrawlDelay(host: string, delayMs: number | undefined): Promise<void> {
    return setHostCrawlDelay(this.sql, host, delayMs);
  }

  slow(host: string, pauseMs: number): Promise<void> {
    return slowHost(this.sql, host, pauseMs);
  }

  cachedRobots(origin: string, maxAgeMs: number): Promise<CachedRobots | null> {
    return cachedRobots(this.sql, origin, maxAgeMs);
  }

  storeRobots(origin: string, answer: CachedRobots): Promise<void> {
    return storeRobots(this.sql, origin, answer);
  }

  async run<T>(host: string, signal: AbortSignal, fn: () => Promise<T>, kind: SlotKind = {}): Promise<T> {
    let lease: HostLease;
    for (;;) {
      if (signal.aborted) throw signal.reason;
      const grant = await acquireHostSlot(this.sql, { host, holder: this.holder, limits: this.limits, ...kind });
      if (grant.granted) {
        lease = grant.lease;
        break;
      }
      await sleep(grant.waitMs, signal);
    }
    try {
      return await fn();
    } finally {
      await releaseHostSlot(this.sql, lease).catch(() => {}); // the lease expires anyway
    }
  }
}

export interface CachedRobots {
  status: number;
  body: string;
}

/** The origin's robots.txt answer if one was cached within `maxAgeMs`. */
export async function cachedRobots(db: Db, origin: string, maxAgeMs: number): Promise<CachedRobots | null> {
  const [row] = await db`
    select status, body from crawl_robots where origin = ${origin} and fetched_at > now() - ${maxAgeMs} * interval '1 millisecond'`;
  return row ? { status: row.status as number, body: row.body as string } : null;
}

export async function storeRobots(db: Db, origin: string, answer: CachedRobots): Promise<void> {
  await db`
    insert into crawl_robots (origin, status, body) values (${origin}, ${answer.status}, ${answer.body})
    on conflict (origin) do update set status = excluded.status, body = excluded.body, fetched_at = now()`;
}
