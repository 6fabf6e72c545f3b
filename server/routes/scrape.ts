// POST /v1/scrape: one page's Markdown, metadata and links, synchronously.
// No job and no indexing; the same guarded client and extraction as a job.
import { Router } from 'express';
import type { ApiKey } from '../../core/apiKeys.js';
import type { BrowserService } from '../../core/browser/index.js';
import { clientMessage, logDetail } from '../../core/clientMessage.js';
import type { Logger } from '../../core/platform/logger.js';
import { OutboundError, type OutboundClient } from '../../core/outbound/index.js';
import { PageTooComplexError } from '../../core/extraction/index.js';
import { PipelineError } from '../../core/pipelineError.js';
import { scrapePage, type Extractor } from '../../core/scrape.js';
import { HttpError } from '../errors.js';
import { scrapeRequestSchema } from '../schemas.js';
import type { SyncLimit } from '../syncLimit.js';
import { parseOr400 } from '../validation.js';

// The page, not the request, is at fault: 502 for an upstream that failed,
// 504 when it was too slow, 422 when it answered with something we can't use.
export function upstreamError(err: unknown): HttpError | null {
  if (err instanceof OutboundError) {
    if (err.code === 'blocked_address' || err.code === 'invalid_url' || err.code === 'unsupported_protocol') {
      const message = clientMessage(err);
      return new HttpError(400, 'validation_error', `invalid body: url: ${message}`, [{ field: 'url', message }]);
    }
    const details = { code: err.code === 'http_status' ? 'upstream_status' : err.code, url: err.url, ...(err.status === undefined ? {} : { status: err.status }) };
    if (err.code === 'timeout') return new HttpError(504, 'upstream_timeout', err.message, details);
    if (err.code === 'too_large' || err.code === 'unsupported_content_type') return new HttpError(422, 'unprocessable_page', err.message, details);
    return new HttpError(502, 'upstream_error', err.message, details);
  }
  if (err instanceof PipelineError && err.code === 'browser_unavailable') return new HttpError(503, 'browser_unavailable', err.message);
  if (err instanceof PipelineError) return new HttpError(422, 'unprocessable_page', err.message, { code: err.code, ...err.details });
  if (err instanceof PageTooComplexError) return new HttpError(422, 'unprocessable_page', err.message, { code: 'too_complex' });
  return null;
}

export function scrapeRouter(deps: { client: OutboundClient; logger: Logger; allowPrivateNetworks: boolean; limit: SyncLimit; extract: Extractor; browser?: BrowserService | undefined }): Router {
  const router = Router();
  const schema = scrapeRequestSchema({ allowPrivateNetworks: deps.allowPrivateNetworks });
  router.post('/v1/scrape', async (req, res) => {
    const { url, render, waitFor, screenshot } = parseOr400(schema, req.body ?? {});
    deps.limit.hold((res.locals.apiKey as ApiKey).id, res);
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    try {
      const rendering = { mode: render ?? 'auto', waitForMs: waitFor, screenshot, browser: deps.browser };
      const page = await scrapePage(deps.client, url, { signal: gone.signal, logger: deps.logger.child({ requestId: res.locals.requestId }), extract: deps.extract, rendering });
      res.json(page);
    } catch (err) {
      const detail = logDetail(err); // e.g. the internal address a refused host resolved to: logged, never answered
      if (detail) deps.logger.warn('scrape destination refused', { requestId: res.locals.requestId, detail });
      throw upstreamError(err) ?? err;
    }
  });
  return router;
}
