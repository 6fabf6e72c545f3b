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
}

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

  constructor(
    private readonly sql: Sql,
    private readonly boss: Boss,
    private readonly logger: Logger,
    private readonly options: ClaimLoopOptions<E>,
    /**
     * Runs one entry; must not throw (errors are logged and dropped). It may
     * call `release` once its work is done to free its slot while it writes
     * the outcome; at most `concurrency` entries are released at a time.
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
    await this.unlisten?.().catch(() => {});
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

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      const { concurrency } = this.options;
      const free = Math.min(concurrency - (this.inFlight.size - this.released.size), 2 * concurrency - this.inFlight.size);
      if (free > 0) {
        let taken: { entries: E[]; seen: number };
        try {
          this.wakePending = false;
          taken = await this.claim(free);
          failures = 0;
        } catch (err) {
          failures++;
          this.logger.error('fetching from the queue failed', { queue: this.options.queue, error: (err as Error).message, failures });
          await sleep(Math.min(5000, 200 * 2 ** failures));
          continue;
        }
        for (const entry of taken.entries) this.launch(entry);
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

  private launch(entry: E): void {
    const release = () => {
      if (this.inFlight.has(entry.id) && !this.released.has(entry.id)) {
        this.released.add(entry.id);
        this.wake();
      }
    };
    const done = this.handle(entry, release)
      .catch((err) => {
        this.logger.error('queue entry handler crashed', { queue: this.options.queue, entryId: entry.id, error: (err as Error).message });
      })
      .finally(() => {
        this.inFlight.delete(entry.id);
        this.released.delete(entry.id);
        this.wake();
      });
    this.inFlight.set(entry.id, done);
  }
}
