// POST /v1/scrape: one page's Markdown, metadata and links, synchronously.
// No job and no indexing; the same guarded client and extraction as a job.
import { Router } from 'express';
import type { ApiKey } from '../../core/apiKeys.js';
import type { BrowserService } from '../../core/browser/index.js';
import { logDetail } from '../../core/outbound/clientMessage.js';
import type { Logger } from '../../core/platform/logger.js';
import type { OutboundClient } from '../../core/outbound/index.js';
import { classifyPageError } from '../../core/page/errors.js';
import { scrapePage, type Extractor } from '../../core/page/scrape.js';
import { HttpError } from '../errors.js';
import { scrapeRequestSchema } from '../schemas.js';
import type { SyncLimit } from '../syncLimit.js';
import { parseOr400 } from '../validation.js';

// The page, not the request, is at fault: 502 for an upstream that failed,
// 504 when it was too slow, 422 when it answered with something we can't use.
// A destination refused by policy or unusable as a URL is the request's fault (400).
const REFUSED_URL = new Set(['blocked_address', 'invalid_url', 'unsupported_protocol']);

export function upstreamError(err: unknown): HttpError | null {
  const page = classifyPageError(err);
  if (!page) return null;
  const details = { code: page.code, ...page.details };
  if (page.source === 'fetch') {
    if (REFUSED_URL.has(page.code)) return new HttpError(400, 'validation_error', `invalid body: url: ${page.message}`, [{ field: 'url', message: page.message }]);
    if (page.code === 'timeout') return new HttpError(504, 'upstream_timeout', page.message, details);
    if (page.code === 'too_large' || page.code === 'unsupported_content_type') return new HttpError(422, 'unprocessable_page', page.message, details);
    return new HttpError(502, 'upstream_error', page.message, details);
  }
  if (page.code === 'browser_unavailable') return new HttpError(503, 'browser_unavailable', page.message);
  return new HttpError(422, 'unprocessable_page', page.message, details);
}

export function scrapeRouter(deps: { client: OutboundClient; logger: Logger; allowPrivateNetworks: boolean; limit: SyncLimit; extract: Extractor; browser?: BrowserService | undefined }): Router {
  const router = Router();
  const schema = scrapeRequestSchema({ allowPrivateNetworks: deps.allowPrivateNetworks });
  router.post('/v1/scrape', async (req, res) => {
    const { url, render, waitFor, screenshot } = parseOr400(schema, req.body ?? {});
    const owner = (res.locals.apiKey as ApiKey).id;
    deps.limit.hold(owner, res);
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    try {
      const rendering = { mode: render ?? 'auto', waitForMs: waitFor, screenshot, browser: deps.browser };
      const page = await scrapePage(deps.client, url, { signal: gone.signal, logger: deps.logger.child({ requestId: res.locals.requestId }), extract: deps.extract, owner, rendering });
      res.json(page);
    } catch (err) {
      const detail = logDetail(err); // e.g. the internal address a refused host resolved to: logged, never answered
      if (detail) deps.logger.warn('scrape destination refused', { requestId: res.locals.requestId, detail });
      throw upstreamError(err) ?? err;
    }
  });
  return router;
}
