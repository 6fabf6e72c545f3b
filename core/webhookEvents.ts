// What a job's final state tells each destination besides its callbackUrl:
// the key's account subscriptions (KnowledgeSDK's {event, payload, timestamp,
// version: 1}) and the job's Firecrawl webhook (Firecrawl's {success, type,
// id, webhookId, data, metadata}). The messages are written with dedup keys
// naming the final event, so the fan-out may run again (a sender that died
// after it) without sending anything twice, and a retried job's new final
// state brings its own.
import type { Db } from './platform/db.js';
import type { Job, JobInput } from './jobs/model.js';
import { listCrawlItems } from './crawlTasks/pageEvents.js';
import type { Boss } from './queue/index.js';
import type { SecretBox } from './secretBox.js';
import { emitMessages, type NewMessage } from './webhookMessages.js';
import { subscribersOf, type AccountEvent, type Subscription } from './webhookSubscriptions.js';

export type FirecrawlWebhookType = 'crawl' | 'batch_scrape';
export type FirecrawlWebhookInput = NonNullable<JobInput['webhook']>;
export const FIRECRAWL_EVENTS = ['started', 'page', 'completed', 'failed'] as const;
export type FirecrawlEvent = (typeof FIRECRAWL_EVENTS)[number];

/** Pages announced one by one at most; a bigger crawl's later pages are in its status and /v1/jobs/{id}/items. */
export const MAX_PAGE_EVENTS = 10_000;

/** KnowledgeSDK's envelope. */
export const accountBody = (event: AccountEvent, payload: unknown, at = new Date()) => ({ event, payload, timestamp: at.toISOString(), version: 1 });

/** Firecrawl's filter: no list means every event; an entry names the full type or its suffix ("page"). */
export function firecrawlWants(events: readonly string[] | undefined, type: FirecrawlWebhookType, event: FirecrawlEvent): boolean {
  return !events?.length || events.includes(event) || events.includes(`${type}.${event}`);
}

/** Firecrawl's webhook body for one event; `webhookId` is the message's id (the same on every attempt). */
export function firecrawlBody(hook: FirecrawlWebhookInput, jobId: string, event: FirecrawlEvent, p: { success: boolean; data?: unknown[]; error?: string }) {
  return (webhookId: string) => ({
    success: p.success,
    type: `${hook.type}.${event}`,
    id: jobId,
    webhookId,
    data: p.data ?? [],
    ...(p.error !== undefined ? { error: p.error } : {}),
    ...(hook.metadata ? { metadata: hook.metadata } : {}),
  });
}

/** The client's headers for the webhook, stored sealed in the job's input (bound to its key). */
export function firecrawlHeaders(hook: FirecrawlWebhookInput, apiKeyId: string, box: SecretBox): Record<string, string> | null {
  return hook.headers ? (JSON.parse(box.open(hook.headers, apiKeyId)) as Record<string, string>) : null;
}

export function firecrawlMessage(job: Pick<Job, 'id' | 'apiKeyId'>, hook: FirecrawlWebhookInput, box: SecretBox, event: FirecrawlEvent, dedupKey: string, body: ReturnType<typeof firecrawlBody>): NewMessage {
  return { apiKeyId: job.apiKeyId, jobId: job.id, subscriptionId: null, source: 'firecrawl', event: `${hook.type}.${event}`, url: hook.url, headers: firecrawlHeaders(hook, job.apiKeyId, box), body, dedupKey };
}

interface Page {
  url: string;
  title: string;
  description: string;
  content: string;
}

/** A done page as a Firecrawl document, as its status pages show it (server/firecrawl/jobs.ts). */
const firecrawlDocument = (p: Page) => ({
  markdown: p.content,
  metadata: { ...(p.title ? { title: p.title } : {}), ...(p.description ? { description: p.description } : {}), sourceURL: p.url, url: p.url, statusCode: 200, contentType: 'text/html' },
});

/** The job's done pages: a page-task crawl's from its rows (all of them), any other job's from its result. */
async function donePages(db: Db, job: Job): Promise<Page[]> {
  const [crawl] = await db`select 1 from crawl_progress where job_id = ${job.id}`;
  if (crawl) {
    const pages: Page[] = [];
    let after = '0';
    while (pages.length < MAX_PAGE_EVENTS) {
      const batch = await listCrawlItems(db, { jobId: job.id, after, limit: 1000 });
      pages.push(...batch.map((i) => ({ url: i.source, title: i.title, description: i.description, content: i.content })));
      if (batch.length < 1000) break;
      after = batch[batch.length - 1]!.cursor;
    }
    return pages.slice(0, MAX_PAGE_EVENTS);
  }
  const items = ((job.result ?? {}) as { knowledgeItems?: { title?: string; description?: string; content?: string; source?: string }[] }).knowledgeItems;
  return (Array.isArray(items) ? items : []).slice(0, MAX_PAGE_EVENTS).map((i) => ({ url: i.source ?? '', title: i.title ?? '', description: i.description ?? '', content: i.content ?? '' }));
}

function accountMessages(job: Job, eventId: string, subs: (Subscription & { token: string })[], pages: Page[]): NewMessage[] {
  const out: NewMessage[] = [];
  const final: AccountEvent = job.status === 'completed' ? 'EXTRACTION_COMPLETED' : 'EXTRACTION_FAILED';
  const finalPayload =
    job.status === 'completed'
      ? { jobId: job.id, status: job.status, result: job.result, completedAt: job.completedAt?.toISOString() ?? null }
      : { jobId: job.id, status: job.status, error: job.error?.message ?? 'failed', code: job.error?.code ?? null, completedAt: job.completedAt?.toISOString() ?? null };
  for (const sub of subs) {
    const base = { apiKeyId: job.apiKeyId, jobId: job.id, subscriptionId: sub.id, source: 'account' as const, url: sub.url, headers: null };
    if (sub.events.includes('PAGE_SCRAPED')) {
      pages.forEach((p, index) =>
        out.push({ ...base, event: 'PAGE_SCRAPED', body: accountBody('PAGE_SCRAPED', { jobId: job.id, url: p.url, title: p.title, status: 'done', index, total: pages.length }), dedupKey: `${sub.id}:${job.id}:${eventId}:page:${index}` }),
      );
    }
    if (sub.events.includes(final)) out.push({ ...base, event: final, body: accountBody(final, finalPayload), dedupKey: `${sub.id}:${job.id}:${eventId}:${final}` });
  }
  return out;
}

function firecrawlMessages(job: Job, eventId: string, hook: FirecrawlWebhookInput, box: SecretBox, pages: Page[]): NewMessage[] {
  const out: NewMessage[] = [];
  const key = (what: string) => `fc:${job.id}:${eventId}:${what}`;
  if (job.status === 'completed' && firecrawlWants(hook.events, hook.type, 'page')) {
    pages.forEach((p, i) => out.push(firecrawlMessage(job, hook, box, 'page', key(`page:${i}`), firecrawlBody(hook, job.id, 'page', { success: true, data: [firecrawlDocument(p)] }))));
  }
  if (job.status === 'completed' && firecrawlWants(hook.events, hook.type, 'completed')) {
    out.push(firecrawlMessage(job, hook, box, 'completed', key('completed'), firecrawlBody(hook, job.id, 'completed', { success: true })));
  }
  if (job.status === 'failed' && firecrawlWants(hook.events, hook.type, 'failed')) {
    out.push(firecrawlMessage(job, hook, box, 'failed', key('failed'), firecrawlBody(hook, job.id, 'failed', { success: false, error: job.error?.message ?? 'failed' })));
  }
  return out;
}

/**
 * Write and queue the messages announcing this final state (`eventId`, the
 * job_events row) to the key's subscriptions and the job's Firecrawl webhook,
 * pages first. Returns how many were new.
 */
export async function fanOutFinalEvent(tx: Db, boss: Boss, box: SecretBox, job: Job, eventId: string): Promise<number> {
  const wanted: AccountEvent[] = job.status === 'completed' ? ['EXTRACTION_COMPLETED', 'PAGE_SCRAPED'] : ['EXTRACTION_FAILED'];
  const subs = await subscribersOf(tx, box, job.apiKeyId, wanted);
  const hook = job.input.webhook;
  const needPages = job.status === 'completed' && (subs.some((s) => s.events.includes('PAGE_SCRAPED')) || (hook !== undefined && firecrawlWants(hook.events, hook.type, 'page')));
  const pages = needPages ? await donePages(tx, job) : [];
  const messages = [...accountMessages(job, eventId, subs, pages), ...(hook ? firecrawlMessages(job, eventId, hook, box, pages) : [])];
  return (await emitMessages(tx, boss, box, messages)).length;
}
