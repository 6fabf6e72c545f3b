// The claim loop shared by the job runner and the webhook sender.
//
// pg-boss 10's work() sleeps its polling interval after every fetch (≥ 0.5 s)
// and has no LISTEN/NOTIFY, so pickup would average hundreds of ms. This loop
// fetches again at once while there is work and a free slot, and otherwise
// sleeps until a NOTIFY from an enqueueing transaction, a freed slot, or the
// poll interval (which still catches delayed entries and missed notifications).
import type PgBoss from 'pg-boss';
import type { Sql } from '../core/db.js';
import type { Logger } from '../core/logger.js';
import { bossDb, type Boss } from '../core/queue.js';

export interface ClaimLoopOptions {
  queue: string;
  /** NOTIFY channel that announces new entries. */
  channel: string;
  concurrency: number;
  pollIntervalMs: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ClaimLoop<T extends object> {
  private readonly inFlight = new Map<string, Promise<void>>();
  private stopping = false;
  private wakeUp: (() => void) | null = null;
  private wakePending = false;
  private loopDone: Promise<void> | null = null;
  private unlisten: (() => Promise<void>) | null = null;

  constructor(
    private readonly sql: Sql,
    private readonly boss: Boss,
    private readonly logger: Logger,
    private readonly options: ClaimLoopOptions,
    /** Runs one entry; must not throw (errors are logged and dropped). */
    private readonly handle: (entry: PgBoss.Job<T>) => Promise<void>,
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
      const free = this.options.concurrency - this.inFlight.size;
      if (free > 0) {
        let entries: PgBoss.Job<T>[];
        try {
          this.wakePending = false;
          entries = await this.fetch(free);
          failures = 0;
        } catch (err) {
          failures++;
          this.logger.error('fetching from the queue failed', { queue: this.options.queue, error: (err as Error).message, failures });
          await sleep(Math.min(5000, 200 * 2 ** failures));
          continue;
        }
        for (const entry of entries) this.launch(entry);
        if (entries.length > 0) continue;
      }
      await this.waitForWake(this.options.pollIntervalMs);
    }
  }

  /**
   * pg-boss's fetch() swallows database errors and returns no entries, which
   * would make an outage look like an empty queue. Fetch through our own pool
   * (prepared statements) and rethrow what it swallowed.
   */
  private async fetch(batchSize: number): Promise<PgBoss.Job<T>[]> {
    let failure: unknown = null;
    const db = bossDb(this.sql);
    const entries = await this.boss.fetch<T>(this.options.queue, {
      batchSize,
      db: {
        executeSql: (text, values) =>
          db.executeSql(text, values).catch((err: unknown) => {
            failure = err;
            throw err;
          }),
      },
    });
    if (failure) throw failure;
    return entries;
  }

  private launch(entry: PgBoss.Job<T>): void {
    const done = this.handle(entry)
      .catch((err) => {
        this.logger.error('queue entry handler crashed', { queue: this.options.queue, entryId: entry.id, error: (err as Error).message });
      })
      .finally(() => {
        this.inFlight.delete(entry.id);
        this.wake();
      });
    this.inFlight.set(entry.id, done);
  }
}
