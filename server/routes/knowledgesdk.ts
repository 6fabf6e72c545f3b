// KnowledgeSDK's routes, in the shapes its official Node client reads
// (KnowledgeSDK/knowledgesdk-node src/api/*.ts): /v1/business (sync, async,
// stream), /v1/sitemap, /v1/classify and /v1/screenshot. Jobs are ordinary
// Gleaner extract jobs whose result carries the business profile.
import { Router, type Response } from 'express';
import type { ApiKey } from '../../core/apiKeys.js';
import { buildBusinessProfile, profilePage, type ProfilePage } from '../../core/business/profile.js';
import { clientMessage, logDetail } from '../../core/outbound/clientMessage.js';
import type { Sql } from '../../core/platform/db.js';
import { listPageEvents } from '../../core/crawlTasks/index.js';
import { getJob, type Job } from '../../core/jobs/index.js';
import type { Knowledge } from '../../core/modelAndIndex.js';
import type { Logger } from '../../core/platform/logger.js';
import type { OutboundClient } from '../../core/outbound/index.js';
import { PipelineError } from '../../core/page/errors.js';
import { fetchHtmlPage, type Extractor } from '../../core/page/scrape.js';
import { TELLING_PATH } from '../../worker/pipeline/businessProfile.js';
import { sameSite } from '../../worker/pipeline/crawl/urls.js';
import { mapSite } from '../firecrawl/map.js';
import { HttpError } from '../errors.js';
import { scrapeRequestSchema } from '../schemas.js';
import type { SyncLimit } from '../syncLimit.js';
import { parseOr400 } from '../validation.js';
import { waitForFinish, type SubmitJob } from './extract.js';
import { acceptedView } from './jobs.js';
import { upstreamError } from './scrape.js';

/** The client gives up after 30 s by default: answer before that, with the job reference if the job is still running. */
export const BUSINESS_SYNC_CAP_MS = 25_000;
/** About and pricing pages read by /v1/classify besides the home page. */
const CLASSIFY_EXTRA_PAGES = 2;

export interface KnowledgeSdkRouterDeps {
  sql: Sql;
  submit: SubmitJob;
  knowledge: Knowledge;
  client: OutboundClient;
  extract: Extractor;
  logger: Logger;
  allowPrivateNetworks: boolean;
  syncTimeoutMs: number;
  syncLimit: SyncLimit;
  /** takeScreenshot of core/browser, or null where this build has no browser support. */
  screenshot: ((url: string, opts: { signal: AbortSignal }) => Promise<{ base64: string }>) | null;
}

/** KnowledgeSDK's ExtractResult ({business, knowledgeItems, pagesScraped, sitemapUrls}) with the rest of Gleaner's result and the job reference. */
export function businessResult(job: Job): Record<string, unknown> {
  const result = (job.result ?? {}) as Record<string, unknown>;
  return { ...result, sitemapUrls: result.sitemapUrls ?? 0, jobId: job.id, status: job.status };
}

function aborted(res: Response): AbortSignal {
  const gone = new AbortController();
  res.on('close', () => gone.abort());
  return gone.signal;
}

export function knowledgeSdkRouter(deps: KnowledgeSdkRouterDeps): Router {
  const router = Router();
  const urlSchema = scrapeRequestSchema({ allowPrivateNetworks: deps.allowPrivateNetworks });

  /** A page-level failure as the client reads it (400 for a refused address, 502/504/422 for the page), the refused address logged only. */
  const pageFailure = (res: Response, err: unknown): unknown => {
    const detail = logDetail(err);
    if (detail) deps.logger.warn('destination refused', { requestId: res.locals.requestId, detail });
    return upstreamError(err) ?? err;
  };

  router.post('/v1/business', async (req, res) => {
    const apiKey = res.locals.apiKey as ApiKey;
    const { job: created } = await deps.submit(req, res, () => deps.syncLimit.hold(apiKey.id, res), { profile: true });
    const job = (await waitForFinish(deps.sql, created.id, created.apiKeyId, Math.min(deps.syncTimeoutMs, BUSINESS_SYNC_CAP_MS), aborted(res))) ?? created;
    if (job.status === 'completed') {
      res.status(200).json(businessResult(job));
      return;
    }
    if (job.status === 'failed') {
      // 422, not 5xx: the client retries a 5xx, which would start the same failing crawl again.
      throw new HttpError(422, job.error?.code ?? 'extraction_failed', job.error?.message ?? 'the extraction failed', { jobId: job.id, ...job.error });
    }
    res
      .status(202)
      .setHeader('location', `/v1/jobs/${job.id}`)
      .json({ ...acceptedView(job), message: `the job is still ${job.status}; poll GET /v1/jobs/${job.id} or use POST /v1/business/async` });
  });

  router.post('/v1/business/async', async (req, res) => {
    const { job, replayed } = await deps.submit(req, res, undefined, { profile: true });
    res.status(replayed ? 200 : 202).json(acceptedView(job));
  });

  // Server-sent events of the job: each data line JSON with the client's `type`
  // (src/api/extract.ts ExtractStreamEvent). Built on the job row (short polling,
  // the interval growing to 1 s) and, for crawls run as page tasks, their page
  // events as they are recorded; pages not yet reported when the job ends are
  // reported from its result, so every page is reported exactly once.
  router.post('/v1/business/stream', async (req, res) => {
    const apiKey = res.locals.apiKey as ApiKey;
    const { job: created } = await deps.submit(req, res, () => deps.syncLimit.hold(apiKey.id, res), { profile: true });
    const signal = aborted(res);
    res.status(200).setHeader('content-type', 'text/event-stream; charset=utf-8').setHeader('cache-control', 'no-cache, no-transform').setHeader('x-accel-buffering', 'no');
    res.flushHeaders();
    let eventId = 0;
    const send = (event: Record<string, unknown>) => {
      if (!signal.aborted) res.write(`id: ${++eventId}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    send({ type: 'connected', message: `job ${created.id} accepted; streaming its progress`, jobId: created.id });

    const reported = new Set<string>();
    let pageIndex = 0;
    let cursor = '0';
    let lastProgress = '';
    let lastBeat = Date.now();
    let delay = 100;
    let job: Job | null = created;
    try {
      while (!signal.aborted) {
        job = await getJob(deps.sql, { jobId: created.id, apiKeyId: apiKey.id });
        if (!job) break;
        const progress = job.progress as { currentStep?: string; pagesScraped?: number; totalPages?: number } | null;
        const total = progress?.totalPages ?? 0;
        const line = progress ? `${progress.currentStep ?? 'working'}: ${progress.pagesScraped ?? 0} of ${total} pages scraped` : `job ${job.status}`;
        if (line !== lastProgress) send({ type: 'progress', message: line });
        lastProgress = line;
        for (const e of await listPageEvents(deps.sql, { jobId: job.id, after: cursor, limit: 200 })) {
          cursor = e.eventId;
          if ((e.state !== 'done' && e.state !== 'failed') || reported.has(e.url)) continue;
          reported.add(e.url);
          send({ type: 'page_scraped', url: e.url, index: pageIndex++, total: Math.max(total, pageIndex), status: e.state === 'done' ? 'done' : 'failed' });
        }
        if (job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled') break;
        if (Date.now() - lastBeat > 15_000) {
          res.write(': keep-alive\n\n');
          lastBeat = Date.now();
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 1000);
      }
      if (job && !signal.aborted) {
        if (job.status === 'completed') {
          const result = businessResult(job);
          const pages = (result.pages as { url: string; category: string }[] | undefined) ?? [];
          const failed = (result.failedPages as { url: string }[] | undefined) ?? [];
          send({ type: 'pages_planned', pages: [...pages.map((p) => ({ url: p.url, purpose: p.category })), ...failed.map((f) => ({ url: f.url, purpose: 'failed' }))] });
          const total = pages.length + failed.length;
          for (const p of pages) if (!reported.has(p.url)) send({ type: 'page_scraped', url: p.url, index: pageIndex++, total, status: 'done' });
          for (const f of failed) if (!reported.has(f.url)) send({ type: 'page_scraped', url: f.url, index: pageIndex++, total, status: 'failed' });
          const b = result.business as { businessName?: string; businessType?: string; industrySector?: string; description?: string } | undefined;
          if (b) send({ type: 'business_classified', business: { businessName: b.businessName ?? '', businessType: b.businessType ?? '', industry: b.industrySector ?? '', description: b.description ?? '' } });
          send({ type: 'complete', result });
        } else {
          send({ type: 'error', message: job.status === 'cancelled' ? 'the job was cancelled' : (job.error?.message ?? `the job ${job.status}`), code: job.error?.code ?? job.status, jobId: job.id });
        }
      }
    } catch (err) {
      deps.logger.error('business stream failed', { requestId: res.locals.requestId, jobId: created.id, error: (err as Error).message });
      send({ type: 'error', message: 'the stream failed; the job goes on: poll GET /v1/jobs/' + created.id, jobId: created.id });
    }
    res.end();
  });

  router.post('/v1/sitemap', async (req, res) => {
    const { url } = parseOr400(urlSchema, req.body ?? {});
    const owner = (res.locals.apiKey as ApiKey).id;
    deps.syncLimit.hold(owner, res);
    try {
      const links = await mapSite({ client: deps.client, extract: (html, baseUrl) => deps.extract(html, baseUrl, owner) }, { url }, aborted(res));
      const urls = links.map((l) => l.url);
      res.json({ url, urls, count: urls.length });
    } catch (err) {
      throw pageFailure(res, err);
    }
  });

  router.post('/v1/classify', async (req, res) => {
    const { url } = parseOr400(urlSchema, req.body ?? {});
    const owner = (res.locals.apiKey as ApiKey).id;
    deps.syncLimit.hold(owner, res);
    const signal = aborted(res);
    const logger = deps.logger.child({ requestId: res.locals.requestId });
    const read = async (pageUrl: string): Promise<{ page: ProfilePage; links: string[] }> => {
      const fetched = await fetchHtmlPage(deps.client, pageUrl, { signal, logger });
      const content = await deps.extract(fetched.html, fetched.url, owner);
      return { page: profilePage(fetched.url, content, fetched.html), links: content.links };
    };
    let home: Awaited<ReturnType<typeof read>>;
    try {
      home = await read(url);
    } catch (err) {
      throw pageFailure(res, err);
    }
    if (!home.page.text.trim()) throw new HttpError(422, 'unprocessable_page', `no text content found at ${home.page.url}`, { code: 'empty_content', url: home.page.url });
    // One about and one pricing page when linked: a failure there only leaves the profile thinner.
    const extra: string[] = [];
    const pathOf = (l: string) => (URL.canParse(l) ? new URL(l).pathname : '');
    for (const kind of [/\/(?:about|company|team|our-story)/i, /\/(?:pricing|plans|prices)/i]) {
      const link = home.links.find((l) => TELLING_PATH.test(pathOf(l)) && kind.test(pathOf(l)) && sameSite(l, home.page.url) && !extra.includes(l));
      if (link && extra.length < CLASSIFY_EXTRA_PAGES) extra.push(link);
    }
    const more = await Promise.all(extra.map((l) => read(l).then((r) => r.page, () => null)));
    const embedder = await deps.knowledge.embedder();
    const profile = await buildBusinessProfile([home.page, ...more.filter((p): p is ProfilePage => p !== null)], embedder, { signal });
    res.json(profile);
  });

  router.post('/v1/screenshot', async (req, res) => {
    const { url } = parseOr400(urlSchema, req.body ?? {});
    if (!deps.screenshot) throw new HttpError(503, 'browser_unavailable', 'screenshots need a browser, and this server has none configured (see BROWSER_EXECUTABLE / BROWSER_WS_URL)');
    deps.syncLimit.hold((res.locals.apiKey as ApiKey).id, res);
    try {
      const shot = await deps.screenshot(url, { signal: aborted(res) });
      res.json({ url, screenshot: shot.base64 });
    } catch (err) {
      if (err instanceof PipelineError && err.code === 'browser_unavailable') throw new HttpError(503, 'browser_unavailable', clientMessage(err), undefined, { 'retry-after': '60' });
      throw pageFailure(res, err);
    }
  });

  return router;
}
