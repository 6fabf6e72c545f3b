// What a job's final state tells each destination besides its callbackUrl:
// the key's account subscriptions (KnowledgeSDK's {event, payload, timestamp,
// version: 1}) and the job's Firecrawl webhook (Firecrawl's {success, type,
// id, webhookId, data, metadata}). The messages are written with dedup keys
// naming the final event, so the fan-out may run again (a sender that died
// after it) without sending anything twice, and a retried job's new final
// state brings its own.
import type { Db, Sql } from '../platform/db.js';
import type { Job, JobInput } from '../jobs/model.js';
import { listCrawlItems } from '../crawlTasks/pageEvents.js';
import { firecrawlDocument } from '../page/firecrawlDocument.js';
import type { Boss } from '../queue/index.js';
import type { SecretBox } from '../secretBox.js';
import { emitMessages, type NewMessage } from './messages.js';
import { recordPageVersions } from './pageVersions.js';
import { subscribersOf, type AccountEvent, type Subscription } from './subscriptions.js';

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
  /** Names the page's outcome in dedup keys: a page task's event id (the same live and at the end), else the final event and position. */
  key: string;
  url: string;
  title: string;
  description: string;
  content: string;
}

/** The job's done pages: a page-task crawl's from its rows (all of them), any other job's from its result. */
/** A page task's done pages after `after` (an item cursor), at most `limit`. */
async function pageTaskPages(db: Db, jobId: string, after: string, limit: number): Promise<Page[]> {
  const items = await listCrawlItems(db, { jobId, after, limit });
  return items.map((i) => ({ key: `page:${i.cursor}`, url: i.source, title: i.title, description: i.description, content: i.content }));
}

async function donePages(db: Db, job: Job, eventId: string): Promise<Page[]> {
  const [crawl] = await db`select 1 from crawl_progress where job_id = ${job.id}`;
  if (crawl) {
    const pages: Page[] = [];
    let after = '0';
    while (pages.length < MAX_PAGE_EVENTS) {
      const batch = await pageTaskPages(db, job.id, after, 1000);
      pages.push(...batch);
      if (batch.length < 1000) break;
      after = batch[batch.length - 1]!.key.slice('page:'.length);
    }
    return pages.slice(0, MAX_PAGE_EVENTS);
  }
  const items = ((job.result ?? {}) as { knowledgeItems?: { title?: string; description?: string; content?: string; source?: string }[] }).knowledgeItems;
  return (Array.isArray(items) ? items : [])
    .slice(0, MAX_PAGE_EVENTS)
    .map((i, index) => ({ key: `${eventId}:page:${index}`, url: i.source ?? '', title: i.title ?? '', description: i.description ?? '', content: i.content ?? '' }));
}

type PageJob = Pick<Job, 'id' | 'apiKeyId'>;

const PAGE_EVENTS: AccountEvent[] = ['PAGE_SCRAPED', 'PAGE_UPDATED'];

/**
 * The pages whose text changed since the key's last recorded crawl of their
 * URL (url → that crawl's job id), recorded as the latest in the caller's
 * transaction; nothing when no subscription wants PAGE_UPDATED.
 */
async function updatedPages(tx: Db, job: PageJob, subs: Subscription[], pages: Page[]): Promise<Map<string, string>> {
  if (pages.length === 0 || !subs.some((s) => s.events.includes('PAGE_UPDATED'))) return new Map();
  return recordPageVersions(tx, { apiKeyId: job.apiKeyId, jobId: job.id, pages });
}

/**
 * A done page's messages: PAGE_SCRAPED to subscriptions that want it,
 * PAGE_UPDATED to those that want it when its text changed (`updated`: url →
 * the job that recorded the previous text), `page` to the Firecrawl webhook if it wants it.
 */
function pageMessages(job: PageJob, hook: FirecrawlWebhookInput | undefined, subs: Subscription[], box: SecretBox, pages: Page[], updated: ReadonlyMap<string, string>): NewMessage[] {
  const out: NewMessage[] = [];
  const pageSubs = subs.filter((s) => s.events.includes('PAGE_SCRAPED'));
  const updateSubs = subs.filter((s) => s.events.includes('PAGE_UPDATED'));
  const fcPages = hook !== undefined && firecrawlWants(hook.events, hook.type, 'page');
  for (const p of pages) {
    for (const sub of pageSubs) {
      out.push({ apiKeyId: job.apiKeyId, jobId: job.id, subscriptionId: sub.id, source: 'account', event: 'PAGE_SCRAPED', url: sub.url, headers: null, body: accountBody('PAGE_SCRAPED', { jobId: job.id, url: p.url, title: p.title, status: 'done' }), dedupKey: `${sub.id}:${job.id}:${p.key}` });
    }
    const previousJobId = updated.get(p.url);
    if (previousJobId !== undefined) {
      for (const sub of updateSubs) {
        out.push({ apiKeyId: job.apiKeyId, jobId: job.id, subscriptionId: sub.id, source: 'account', event: 'PAGE_UPDATED', url: sub.url, headers: null, body: accountBody('PAGE_UPDATED', { jobId: job.id, url: p.url, title: p.title, status: 'updated', previousJobId }), dedupKey: `${sub.id}:${job.id}:${p.key}:PAGE_UPDATED` });
      }
    }
    if (fcPages) out.push(firecrawlMessage(job, hook, box, 'page', `fc:${job.id}:${p.key}`, firecrawlBody(hook, job.id, 'page', { success: true, data: [firecrawlDocument({ ...p, source: p.url })] })));
  }
  return out;
}

function accountMessages(job: Job, eventId: string, subs: Subscription[]): NewMessage[] {
  const out: NewMessage[] = [];
  const final: AccountEvent = job.status === 'completed' ? 'EXTRACTION_COMPLETED' : 'EXTRACTION_FAILED';
  const finalPayload =
    job.status === 'completed'
      ? { jobId: job.id, status: job.status, result: job.result, completedAt: job.completedAt?.toISOString() ?? null }
      : { jobId: job.id, status: job.status, error: job.error?.message ?? 'failed', code: job.error?.code ?? null, completedAt: job.completedAt?.toISOString() ?? null };
  for (const sub of subs) {
    const base = { apiKeyId: job.apiKeyId, jobId: job.id, subscriptionId: sub.id, source: 'account' as const, url: sub.url, headers: null };
    if (sub.events.includes(final)) out.push({ ...base, event: final, body: accountBody(final, finalPayload), dedupKey: `${sub.id}:${job.id}:${eventId}:${final}` });
  }
  return out;
}

function firecrawlMessages(job: Job, eventId: string, hook: FirecrawlWebhookInput, box: SecretBox): NewMessage[] {
  const out: NewMessage[] = [];
  const key = (what: string) => `fc:${job.id}:${eventId}:${what}`;
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
  const wanted: AccountEvent[] = job.status === 'completed' ? ['EXTRACTION_COMPLETED', ...PAGE_EVENTS] : ['EXTRACTION_FAILED'];
  const subs = await subscribersOf(tx, box, job.apiKeyId, wanted);
  const hook = job.input.webhook;
  const needPages = job.status === 'completed' && (subs.some((s) => s.events.some((e) => PAGE_EVENTS.includes(e))) || (hook !== undefined && firecrawlWants(hook.events, hook.type, 'page')));
  // Pages first (those a page task's relay sent already are written once: same keys), then the final event.
  const pages = needPages ? await donePages(tx, job, eventId) : [];
  // A capped result's page texts are shortened: not compared, not recorded.
  const capped = (job.result as { truncated?: unknown } | null)?.truncated === true;
  const updated = capped ? new Map<string, string>() : await updatedPages(tx, job, subs, pages);
  const messages = [...pageMessages(job, hook, subs, box, pages, updated), ...accountMessages(job, eventId, subs), ...(hook ? firecrawlMessages(job, eventId, hook, box) : [])];
  return (await emitMessages(tx, boss, box, messages)).length;
}

/**
 * EXTRACTION_STARTED of the claim `eventId` (the job_events row of its move to
 * processing, queued by the claim: startedEntries) to the key's subscriptions
 * that want it, once whatever runs this again. Returns how many were new.
 */
export async function fanOutStarted(tx: Db, boss: Boss, box: SecretBox, job: Job, eventId: string): Promise<number> {
  const subs = await subscribersOf(tx, box, job.apiKeyId, ['EXTRACTION_STARTED']);
  const [event] = subs.length ? await tx`select at, attempt from job_events where id = ${eventId} and job_id = ${job.id} and to_status = 'processing'` : [];
  if (!event) return 0;
  const payload = { jobId: job.id, status: 'processing', url: job.input.url ?? null, attempt: event.attempt as number, startedAt: (event.at as Date).toISOString() };
  const messages: NewMessage[] = subs.map((sub) => ({
    apiKeyId: job.apiKeyId,
    jobId: job.id,
    subscriptionId: sub.id,
    source: 'account',
    event: 'EXTRACTION_STARTED',
    url: sub.url,
    headers: null,
    body: accountBody('EXTRACTION_STARTED', payload),
    dedupKey: `${sub.id}:${job.id}:${eventId}:EXTRACTION_STARTED`,
  }));
  return (await emitMessages(tx, boss, box, messages)).length;
}

/**
 * Announce the pages of running page-task crawls as they are done, rather
 * than only when the crawl ends. Best effort by design: `cursors` (job id →
 * last item cursor seen, kept by the caller) may pass over an outcome whose
 * transaction commits late, and the fan-out at the end sends whatever was
 * missed (the same dedup keys, so nothing twice). Returns messages written.
 */
export async function relayPageEvents(sql: Sql, boss: Boss, box: SecretBox, cursors: Map<string, string>): Promise<number> {
  const jobs = await sql`
    select j.id, j.api_key_id, j.input->'webhook' as webhook from jobs j join crawl_progress c on c.job_id = j.id
    where c.closed_at is null and j.status = 'processing'
      and (j.input ? 'webhook' or exists (select 1 from webhook_subscriptions s where s.api_key_id = j.api_key_id and s.status = 'active' and s.events && ${PAGE_EVENTS as string[]}::text[]))
    order by c.created_at limit 200`;
  const live = new Set(jobs.map((j) => j.id as string));
  for (const id of cursors.keys()) if (!live.has(id)) cursors.delete(id);
  let written = 0;
  for (const j of jobs) {
    const job: PageJob = { id: j.id as string, apiKeyId: j.api_key_id as string };
    const hook = (j.webhook as FirecrawlWebhookInput | null) ?? undefined;
    const pages = await pageTaskPages(sql, job.id, cursors.get(job.id) ?? '0', 200);
    if (pages.length === 0) continue;
    const subs = await subscribersOf(sql, box, job.apiKeyId, PAGE_EVENTS);
    written += (await sql.begin(async (tx) => emitMessages(tx, boss, box, pageMessages(job, hook, subs, box, pages, await updatedPages(tx, job, subs, pages))))).length;
    cursors.set(job.id, pages[pages.length - 1]!.key.slice('page:'.length));
  }
  return written;
}
