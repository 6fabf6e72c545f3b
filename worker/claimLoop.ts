// The claim loop shared by the job runner and the webhook sender.
//
// pg-boss 10's work() sleeps its polling interval after every fetch (≥ 0.5 s)
// and has no LISTEN/NOTIFY, so pickup would average hundreds of ms. This loop
// fetches again at once while there is work and a free slot, and otherwise
// sleeps until a NOTIFY from an enqueueing transaction, a freed slot, or the
// poll interval (which still catches delayed entries and missed notifications).
import type PgBoss from 'pg-boss';
import type { Sql } from '../core/platform/db.js';
import type { Logger } from '../core/platform/logger.js';
import { fetchQueueEntries, type Boss } from '../core/queue/index.js';

export interface ClaimLoopOptions<E> {
  queue: string;
  /** NOTIFY channel that announces new entries. */
  channel: string;
  concurrency: number;
  pollIntervalMs: number;
  /**
   * Takes up to `limit` entries in one round trip; `seen` counts what it
   * looked at (taken or not), so the loop asks again at once while work is
   * waiting. By default: fetchQueueEntries of `queue`.
   */
  claim?: (limit: number) => Promise<{ entries: E[]; seen: number }>;
  /**
   * Claim ahead (a local queue, as graphile-worker's): while entries take
   * less time to run than a claim's round trip, a claim also takes what the
   * slots will use up while the next claim is on its way (at most `max` held
   * unstarted), so the slots are not left waiting on the database. An entry
   * held `ttlMs` without a slot (the work turned long) is handed back, and so
   * is every held entry when the loop stops. Off when unset.
   */
  ahead?: ClaimAhead<E>;
}

export interface ClaimAhead<E> {
  max: number;
  ttlMs: number;
  /** Gives a claimed, unstarted entry back for any worker to take; must not throw. */
  handBack: (entry: E, reason: string) => Promise<void>;
}

/** Weight of the newest sample in the running averages of claim and run times. */
const ALPHA = 0.2;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ClaimLoop<T extends object, E extends { id: string } = PgBoss.Job<T>> {
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Entries whose handler gave its slot back early (its work is done, its bookkeeping is being written). */
  private readonly released = new Set<string>();
  private stopping = false;
  private wakeUp: (() => void) | null = null;
  private wakePending = false;
  private loopDone: Promise<void> | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  /** Claimed ahead, not started yet (options.ahead), oldest first. */
  private readonly held: { entry: E; at: number }[] = [];
  private heldTimer: NodeJS.Timeout | null = null;
  /** Running averages (ms) of a claim's round trip and of an entry's run until its slot is free; no claim ahead until measured. */
  private claimMs = 0;
  private runMs = Infinity;

  constructor(
    private readonly sql: Sql,
    private readonly boss: Boss,
    private readonly logger: Logger,
    private readonly options: ClaimLoopOptions<E>,
    /**
     * Runs one entry; must not throw (errors are logged and dropped). It may
     * call `release` once its work is done to free its slot while it writes
     * the outcome; at most `concurrency` entries (plus ahead.max when claiming
     * ahead) are released at a time.
     */
    private readonly handle: (entry: E, release: () => void) => Promise<void>,
  ) {}

  get busy(): number {
    return this.inFlight.size;
  }

  async start(): Promise<void> {
    const listener = await this.sql.listen(this.options.channel, () => this.wake());
    this.unlisten = () => listener.unlisten();
    this.loopDone = this.loop();
  }

  /** Stop fetching; entries already running carry on (see drain). */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.wake();
    await this.loopDone;
    this.handBackHeld(() => true, 'worker shutdown');
    await this.unlisten?.().catch(() => {});
  }

  /** Entries claimed ahead and not started. */
  get waiting(): number {
    return this.held.length;
  }

  /** Resolves when every running entry has finished. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight.values());
  }

  private wake(): void {
    if (this.wakeUp) {
      const wake = this.wakeUp;
      this.wakeUp = null;
      wake();
    } else {
      this.wakePending = true;
    }
  }

  private waitForWake(ms: number): Promise<void> {
    if (this.wakePending) {
      this.wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Slots free for an entry to start in now. */
  private freeSlots(): number {
    const { concurrency } = this.options;
    // Released entries still writing their outcome are capped too: their results wait in memory.
    const releasable = concurrency + (this.options.ahead?.max ?? 0);
    return Math.min(concurrency - (this.inFlight.size - this.released.size), concurrency + releasable - this.inFlight.size);
  }

  /**
   * How many entries to hold claimed ahead: what the slots get through during
   * one claim's round trip (concurrency × claim time / run time), at most
   * ahead.max; none unless entries take under a quarter of a claim's round
   * trip (work of any length, a page fetch say, is never held back).
   */
  private aheadTarget(): number {
    const ahead = this.options.ahead;
    if (!ahead || !Number.isFinite(this.runMs) || this.runMs * 4 > this.claimMs) return 0;
    const wanted = Math.floor((this.options.concurrency * this.claimMs) / Math.max(this.runMs, 0.01));
    return Math.max(0, Math.min(ahead.max, wanted));
  }

  private sample(average: number, ms: number): number {
    return Number.isFinite(average) ? average + ALPHA * (ms - average) : ms;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      this.expireHeld();
      this.startHeld();
      const free = this.freeSlots();
      const limit = free + Math.max(0, this.aheadTarget() - this.held.length);
      if (limit > 0 && (free > 0 || this.held.length < this.aheadTarget())) {
        let taken: { entries: E[]; seen: number };
        const t0 = performance.now();
        try {
          this.wakePending = false;
          taken = await this.claim(limit);
          failures = 0;
        } catch (err) {
          failures++;
          this.logger.error('fetching from the queue failed', { queue: this.options.queue, error: (err as Error).message, failures });
          await sleep(Math.min(5000, 200 * 2 ** failures));
          continue;
        }
        this.claimMs = this.sample(this.claimMs, performance.now() - t0);
        // Start what fits now (held entries first), hold the rest.
        for (const entry of taken.entries) this.hold(entry);
        this.startHeld();
        if (taken.seen > 0) continue;
      }
      await this.waitForWake(this.options.pollIntervalMs);
      // Let the rest of this turn's wake-ups land first (jobs finishing
      // together free their slots one after another): one claim for all of
      // them instead of one per slot.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Our own fetch over pg-boss's table (fetchQueueEntries: index-ordered, and
   * unlike pg-boss's fetch() it does not swallow database errors, which would
   * make an outage look like an empty queue), through our pool.
   */
  private async claim(limit: number): Promise<{ entries: E[]; seen: number }> {
    if (this.options.claim) return this.options.claim(limit);
    const entries = (await fetchQueueEntries<T>(this.sql, this.options.queue, limit)) as unknown as E[];
    return { entries, seen: entries.length };
  }

  /** Start held entries in the free slots, oldest first: called whenever a slot frees, so they never wait on the loop's claim. */
  private startHeld(): void {
    if (this.stopping) return;
    let free = this.freeSlots();
    while (free > 0 && this.held.length > 0) {
      this.launch(this.held.shift()!.entry);
      free--;
    }
  }

  private hold(entry: E): void {
    if (!this.options.ahead) return this.launch(entry);
    this.held.push({ entry, at: performance.now() });
    this.heldTimer ??= setTimeout(() => {
      this.heldTimer = null;
      this.wake();
    }, this.options.ahead!.ttlMs);
  }

  /** Hand back what has waited ttlMs for a slot: the entries ahead turned long, so stop claiming ahead until they are short again. */
  private expireHeld(): void {
    const ahead = this.options.ahead;
    if (!ahead || this.held.length === 0) return;
    const now = performance.now();
    const expired = this.handBackHeld((h) => now - h.at >= ahead.ttlMs, 'not started in time: the worker is busy');
    if (expired > 0) this.runMs = Math.max(this.sample(this.runMs, ahead.ttlMs), ahead.ttlMs);
    if (this.held.length > 0 && !this.heldTimer) {
      this.heldTimer = setTimeout(() => {
        this.heldTimer = null;
        this.wake();
      }, Math.max(1, ahead.ttlMs - (now - this.held[0]!.at)));
    }
  }

  /** Hands back the held entries `which` picks; each hand-back counts as in flight until written, so drain() waits for it. */
  private handBackHeld(which: (h: { entry: E; at: number }) => boolean, reason: string): number {
    const ahead = this.options.ahead;
    if (!ahead) return 0;
    let n = 0;
    for (let i = this.held.length - 1; i >= 0; i--) {
      const h = this.held[i]!;
      if (!which(h)) continue;
      this.held.splice(i, 1);
      n++;
      const entry = h.entry;
      const done = ahead
        .handBack(entry, reason)
        .catch((err) => {
          this.logger.error('handing back a queue entry failed', { queue: this.options.queue, entryId: entry.id, error: (err as Error).message });
        })
        .finally(() => {
          this.inFlight.delete(entry.id);
          this.wake();
        });
      this.inFlight.set(entry.id, done);
    }
    if (this.held.length === 0 && this.heldTimer) {
      clearTimeout(this.heldTimer);
      this.heldTimer = null;
    }
    return n;
  }

  private launch(entry: E): void {
    const launched = performance.now();
    let timed = false;
    const ran = () => {
      if (timed) return;
      timed = true;
      this.runMs = this.sample(this.runMs, performance.now() - launched);
    };
    const release = () => {
      if (this.inFlight.has(entry.id) && !this.released.has(entry.id)) {
        ran();
        this.released.add(entry.id);
        this.startHeld();
        this.wake();
      }
    };
    const done = this.handle(entry, release)
      .catch((err) => {
        this.logger.error('queue entry handler crashed', { queue: this.options.queue, entryId: entry.id, error: (err as Error).message });
      })
      .finally(() => {
        ran();
        this.inFlight.delete(entry.id);
        this.released.delete(entry.id);
        this.startHeld();
        this.wake();
      });
    this.inFlight.set(entry.id, done);
  }
}
