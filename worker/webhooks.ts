// Delivers job.completed / job.failed callbacks and messages to any URL
// (account subscriptions, Firecrawl webhooks): signed per Standard Webhooks,
// retried on a schedule, every attempt recorded. The next attempt is queued in
// the same transaction that records this one, so a crash between attempts
// resumes the schedule; a crash during an attempt leaves the queue entry
// active until it expires and pg-boss hands it out again (at-least-once; the
// webhook-id lets receivers de-duplicate).
import { signingSecrets } from '../core/webhooks/secrets.js';
import { clientMessage, logDetail } from '../core/outbound/clientMessage.js';
import type { Sql } from '../core/platform/db.js';
import { plainBox, type SecretBox } from '../core/secretBox.js';
import { getJob, type Job } from '../core/jobs/index.js';
import type { Logger } from '../core/platform/logger.js';
import { metrics } from '../core/platform/metrics.js';
import { OutboundError, type OutboundClient } from '../core/outbound/index.js';
import { WEBHOOK_QUEUE, WEBHOOKS_CHANNEL, type Boss } from '../core/queue/index.js';
import {
  claimWebhookEntries,
  enqueueWebhooks,
  finishWebhookEntry,
  isAnnouncedState,
  isMessageTask,
  latestFinalEventId,
  recordAttempt,
  webhookEventFor,
  webhookIdFor,
  type DeliveryOutcome,
  type JobWebhookTask,
  type MessageTask,
  type WebhookEntry,
  type WebhookTask,
} from '../core/webhooks/deliveries.js';
import { fanOutFinalEvent, fanOutStarted, relayPageEvents } from '../core/webhooks/events.js';
import { getMessage } from '../core/webhooks/messages.js';
import { firecrawlSignature, signatureHeader } from '../core/webhooks/signature.js';
import { subscriptionToken } from '../core/webhooks/subscriptions.js';
import { ClaimLoop } from './claimLoop.js';

export interface WebhookSenderOptions {
  concurrency: number;
  /** Deliveries of one API key in flight at once in this sender (held below `concurrency`, see perKeyLimit). */
  concurrencyPerKey?: number;
  pollIntervalMs: number;
  timeoutMs: number;
  /** Delay before each retry (attempt n+1 waits retryScheduleMs[n-1]). */
  retryScheduleMs: number[];
  userAgent: string;
  maxResponseBytes?: number;
  random?: () => number;
  /** Opens the signing secrets (encrypted at rest when SECRETS_KEY is set). */
  secrets?: SecretBox;
  /** Interval of the page relay (relayPageEvents); 1 s by default. */
  pageRelayMs?: number;
}

const MAX_RETRY_AFTER_MS = 24 * 3_600_000;
/** How often running page-task crawls' finished pages are relayed to webhooks. */
const PAGE_RELAY_MS = 1000;

/** The body KnowledgeSDK clients expect; built from the job's final state, so identical on every attempt. */
export function webhookPayload(job: Job) {
  return {
    jobId: job.id,
    status: job.status,
    ...(job.status === 'completed' ? { result: job.result } : { error: job.error }),
    completedAt: job.completedAt?.toISOString() ?? null,
  };
}

/** Retry-After as seconds or an HTTP date, in ms; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const seconds = Number(value.trim());
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) ? Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms)) : null;
}

/**
 * The wait before the attempt after `attempt`: the receiver's Retry-After
 * when it gave one, else the schedule's delay with ±20 % jitter (`random` in
 * [0, 1]); null once the schedule is exhausted.
 */
export function retryDelayMs(scheduleMs: readonly number[], attempt: number, retryAfterMs: number | null, random: () => number = Math.random): number | null {
  const scheduled = scheduleMs[attempt - 1];
  if (scheduled === undefined) return null;
  return retryAfterMs ?? Math.round(scheduled * (0.8 + 0.4 * Math.min(1, Math.max(0, random()))));
}

interface AttemptResult {
  statusCode: number | null;
  durationMs: number | null;
  error: string | null;
  outcome: DeliveryOutcome;
  retryInMs: number | null;
}

/**
 * The per-key cap in effect: never all of the sender's slots, so a key whose
 * receiver is slow (or a tarpit) always leaves room for the others.
 */
export const perKeyLimit = (o: Pick<WebhookSenderOptions, 'concurrency' | 'concurrencyPerKey'>): number =>
  Math.max(1, Math.min(o.concurrencyPerKey ?? 2, o.concurrency - 1));

export class WebhookSender {
  private readonly claims: ClaimLoop<object, WebhookEntry>;
  /** Deliveries in flight here, by API key. */
  private readonly busyByKey = new Map<string, number>();

  constructor(
    private readonly sql: Sql,
    private readonly boss: Boss,
    private readonly logger: Logger,
    private readonly client: OutboundClient,
    private readonly options: WebhookSenderOptions,
  ) {
    const perKey = perKeyLimit(options);
    const claim = async (limit: number) => {
      const entries = await claimWebhookEntries(sql, { limit, perKey, busy: this.busyByKey });
      for (const e of entries) this.busyByKey.set(e.apiKeyId, (this.busyByKey.get(e.apiKeyId) ?? 0) + 1);
      return { entries, seen: entries.length };
    };
    this.claims = new ClaimLoop<object, WebhookEntry>(
      sql,
      boss,
      logger,
      { queue: WEBHOOK_QUEUE, channel: WEBHOOKS_CHANNEL, concurrency: options.concurrency, pollIntervalMs: options.pollIntervalMs, claim },
      (entry) =>
        this.deliver(entry).finally(() => {
          const n = (this.busyByKey.get(entry.apiKeyId) ?? 1) - 1;
          if (n > 0) this.busyByKey.set(entry.apiKeyId, n);
          else this.busyByKey.delete(entry.apiKeyId);
        }),
    );
  }

  async start(): Promise<void> {
    await this.claims.start();
    this.relayPages();
  }

  /** Stop fetching and let attempts under way finish (each is bounded by the timeout). */
  async stop(): Promise<void> {
    this.relayStopped = true;
    if (this.relayTimer) clearTimeout(this.relayTimer);
    await this.relayRun;
    await this.claims.stop();
    await this.claims.drain();
  }

  private relayStopped = false;
  private relayTimer: NodeJS.Timeout | null = null;
  private relayRun: Promise<void> = Promise.resolve();
  /** Per running page-task crawl, the last page outcome relayed by this sender. */
  private readonly relayCursors = new Map<string, string>();

  /** Every PAGE_RELAY_MS, the pages running page-task crawls finished since, to their subscriptions and Firecrawl webhooks. */
  private relayPages(): void {
    if (this.relayStopped) return;
    this.relayTimer = setTimeout(() => {
      this.relayRun = relayPageEvents(this.sql, this.boss, this.box, this.relayCursors)
        .then(
          (n) => {
            if (n > 0) this.logger.debug('page webhook events queued', { messages: n });
          },
          (err: unknown) => {
            this.logger.warn('relaying page webhook events failed; the crawl’s end sends them', { error: err instanceof Error ? err.message : String(err) });
          },
        )
        .finally(() => this.relayPages());
    }, this.options.pageRelayMs ?? PAGE_RELAY_MS);
  }

  private async deliver(entry: WebhookEntry): Promise<void> {
    const task = entry.data;
    if (isMessageTask(task)) await this.deliverMessage(entry, task);
    else await this.deliverJobEvent(entry, task);
  }

  private get box(): SecretBox {
    return this.options.secrets ?? plainBox;
  }

  /**
   * A job's final state: on its first attempt, fanned out to the key's
   * subscriptions and the job's Firecrawl webhook (each a message of its own,
   * written once whatever runs this again), then sent to its callbackUrl.
   */
  private async deliverJobEvent(entry: WebhookEntry, task: JobWebhookTask): Promise<void> {
    const logger = this.logger.child({ jobId: task.jobId });
    const job = await getJob(this.sql, { jobId: task.jobId });
    if (task.started) {
      // EXTRACTION_STARTED: subscriptions only (a callbackUrl hears of final states), even once the job has ended.
      const queued = job ? await this.sql.begin((tx) => fanOutStarted(tx, this.boss, this.box, job, task.eventId)) : 0;
      if (queued > 0) logger.info('webhook events queued', { eventId: task.eventId, messages: queued });
      await finishWebhookEntry(this.sql, entry);
      return;
    }
    if (!job || !isAnnouncedState(job) || (await latestFinalEventId(this.sql, job)) !== task.eventId) {
      // The job was retried since (its new final state brings its own delivery, under its own id) or is gone.
      await finishWebhookEntry(this.sql, entry);
      logger.info('webhook dropped: the job no longer has this final state', { eventId: task.eventId });
      return;
    }
    if (task.attempt === 1) {
      const queued = await this.sql.begin((tx) => fanOutFinalEvent(tx, this.boss, this.box, job, task.eventId));
      if (queued > 0) logger.info('webhook events queued', { eventId: task.eventId, messages: queued });
    }
    if (!job.callbackUrl) {
      await finishWebhookEntry(this.sql, entry);
      return;
    }
    const webhookId = webhookIdFor(job.id, task.eventId);
    const body = JSON.stringify(webhookPayload(job));
    const result = await this.attempt({ url: job.callbackUrl, body, webhookId, apiKeyId: job.apiKeyId, headers: { 'x-knowledgesdk-dedup-key': webhookId } }, task.attempt, { jobId: job.id });
    await this.settle(entry, task, result, { jobId: job.id, event: webhookEventFor(job), webhookId, url: job.callbackUrl }, logger);
  }

  /** A message to any URL: its stored body, the client's headers, and the signatures its source calls for. */
  private async deliverMessage(entry: WebhookEntry, task: MessageTask): Promise<void> {
    const logger = this.logger.child({ webhookId: task.messageId });
    const message = await getMessage(this.sql, this.box, task.messageId);
    if (!message) {
      // Its subscription or job was deleted since.
      await finishWebhookEntry(this.sql, entry);
      logger.info('webhook dropped: its message is gone');
      return;
    }
    const headers: Record<string, string> = {};
    if (message.source === 'account') {
      const token = message.subscriptionId ? await subscriptionToken(this.sql, this.box, message.subscriptionId) : null;
      if (token) headers['x-knowledgesdk-webhook-token'] = token;
      headers['x-knowledgesdk-dedup-key'] = message.id;
    }
    const result = await this.attempt(
      { url: message.url, body: message.body, webhookId: message.id, apiKeyId: message.apiKeyId, headers, clientHeaders: message.headers, firecrawl: message.source === 'firecrawl' },
      task.attempt,
      { webhookId: message.id },
    );
    await this.settle(entry, task, result, { jobId: message.jobId, messageId: message.id, event: message.event, webhookId: message.id, url: message.url }, logger);
  }

  /** Record the attempt and queue the next one, fenced on the activation this sender took. */
  private async settle(entry: WebhookEntry, task: WebhookTask, result: AttemptResult, what: { jobId: string | null; messageId?: string; event: string; webhookId: string; url: string }, logger: Logger): Promise<void> {
    const recorded = await this.sql.begin(async (tx) => {
      // Only the activation that took the entry may record and schedule: if it
      // expired meanwhile (this sender stalled), it was handed to another
      // sender (same entry id, a later activation), and a second record would
      // fork the retry chain.
      if (!(await finishWebhookEntry(tx, entry))) return false;
      await recordAttempt(tx, {
        ...what,
        attempt: task.attempt,
        statusCode: result.statusCode,
        durationMs: result.durationMs,
        error: result.error,
        outcome: result.outcome,
        nextAttemptAt: result.retryInMs === null ? null : new Date(Date.now() + result.retryInMs),
      });
      if (result.retryInMs !== null) {
        await enqueueWebhooks(tx, this.boss, [{ ...task, attempt: task.attempt + 1 }], result.retryInMs / 1000);
      }
      return true;
    });
    if (!recorded) {
      logger.warn('webhook attempt not recorded: its queue entry expired and was handed to another sender', { webhookId: what.webhookId, attempt: task.attempt });
      return;
    }

    metrics.webhooks.inc({ outcome: result.outcome });
    const fields = { webhookId: what.webhookId, event: what.event, attempt: task.attempt, statusCode: result.statusCode, ms: result.durationMs };
    if (result.outcome === 'delivered') logger.info('webhook delivered', fields);
    else if (result.outcome === 'retrying') logger.warn('webhook attempt failed, will retry', { ...fields, error: result.error, retryInMs: result.retryInMs });
    else logger.warn('webhook delivery failed for good', { ...fields, error: result.error });
  }

  private async attempt(
    req: { url: string; body: string; webhookId: string; apiKeyId: string; headers: Record<string, string>; clientHeaders?: Record<string, string>; firecrawl?: boolean },
    attempt: number,
    logContext: Record<string, string>,
  ): Promise<AttemptResult> {
    const retryIn = (retryAfterMs: number | null) => retryDelayMs(this.options.retryScheduleMs, attempt, retryAfterMs, this.options.random);
    try {
      const timestamp = Math.floor(Date.now() / 1000);
      const secrets = await signingSecrets(this.sql, req.apiKeyId, this.options.secrets);
      const headers = {
        // The client's own first: Gleaner's signature and framing headers cannot be overridden.
        ...req.clientHeaders,
        ...req.headers,
        'content-type': 'application/json',
        'user-agent': this.options.userAgent,
        'webhook-id': req.webhookId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader(secrets, req.webhookId, timestamp, req.body),
        ...(req.firecrawl ? { 'x-firecrawl-signature': firecrawlSignature(secrets[0]!, req.body) } : {}),
      };
      const res = await this.client.post(req.url, req.body, { headers, timeoutMs: this.options.timeoutMs, maxResponseBytes: this.options.maxResponseBytes ?? 4096 });
      const base = { statusCode: res.status, durationMs: Math.round(res.durationMs) };
      if (res.status >= 200 && res.status < 300) return { ...base, error: null, outcome: 'delivered', retryInMs: null };
      if (res.status === 410) return { ...base, error: 'receiver answered 410 Gone: no further attempts', outcome: 'failed', retryInMs: null };
      const retryAfter = res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers['retry-after']) : null;
      const next = retryIn(retryAfter);
      const error = res.status >= 300 && res.status < 400 ? `receiver answered ${res.status} (redirects are not followed)` : `receiver answered ${res.status}`;
      return { ...base, error, outcome: next === null ? 'failed' : 'retrying', retryInMs: next };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // A refused address will not become acceptable by waiting.
      if (err instanceof OutboundError && (err.code === 'blocked_address' || err.code === 'invalid_url' || err.code === 'unsupported_protocol')) {
        const detail = logDetail(err); // the resolved address is the log's, never the delivery record's
        if (detail) this.logger.warn('webhook destination refused', { ...logContext, detail });
        return { statusCode: null, durationMs: null, error: clientMessage(err), outcome: 'failed', retryInMs: null };
      }
      const next = retryIn(null);
      return { statusCode: null, durationMs: null, error: message, outcome: next === null ? 'failed' : 'retrying', retryInMs: next };
    }
  }
}
