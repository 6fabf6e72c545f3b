// POST /v1/extract/async, the API's busiest route, served without express's
// per-request machinery: express (request and response prototypes swapped in,
// the router's walk over every layer, body-parser, on-finished) cost several
// times what Node's HTTP server does per request (docs/benchmarks.md). The
// same steps in the same order as the express chain it stands for
// (requestLog, requireApiKey, the rate limit, requireJson, express.json, the
// route), from the same functions and the same instances (key cache, rate
// limit buckets, job writer); an error is answered by the app's own error
// handler. Only requests whose headers leave express.json nothing to decide
// are taken (a JSON body of a known length within the limit, no content or
// transfer encoding, no charset but UTF-8); every other request, a query
// string included, goes through express as before. spec/performance/
// acceptFastPath.test.ts sends the same requests both ways.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import type { ErrorRequestHandler, Express } from 'express';
import type { KeyCache } from '../core/apiKeys.js';
import { HttpError } from './errors.js';
import { authenticateRequest, trackRequest, type RequestLocals } from './middleware.js';
import type { RateLimiter } from './rateLimit.js';
import { sendAccepted, type CreateSubmitted } from './routes/extract.js';
import type { Logger } from '../core/platform/logger.js';

export const ACCEPT_PATH = '/v1/extract/async';

// application/json, alone or with a UTF-8 charset: what requireJson and express.json accept without a further question.
const JSON_UTF8 = /^application\/json\s*(?:;\s*charset\s*=\s*(?:utf-8|"utf-8")\s*)?$/i;
const DIGITS = /^\d{1,15}$/;

export interface AcceptPathDeps {
  logger: Logger;
  keys: KeyCache;
  limiter: RateLimiter;
  create: CreateSubmitted;
  bodyLimitBytes: number;
  /** The app's error handler, which answers on an express response. */
  errorHandler: ErrorRequestHandler;
}

/** The request's length when this path may take it, else null (express takes it). */
function takenLength(req: IncomingMessage, limit: number): number | null {
  if (req.method !== 'POST' || req.url !== ACCEPT_PATH) return null;
  const h = req.headers;
  if (h['transfer-encoding'] !== undefined || (h['content-encoding'] !== undefined && h['content-encoding'].toLowerCase() !== 'identity')) return null;
  if (h['content-type'] === undefined || !JSON_UTF8.test(h['content-type'])) return null;
  const length = h['content-length'] !== undefined && DIGITS.test(h['content-length']) ? Number(h['content-length']) : 0;
  return length > 0 && length <= limit ? length : null;
}

/** The body, decoded as body-parser decodes it (UTF-8, a leading byte order mark dropped). */
function readBody(req: IncomingMessage, length: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    let text = '';
    let received = 0;
    const aborted = () => {
      cleanup();
      // What raw-body's 'request aborted' error becomes in the error handler.
      reject(new HttpError(400, 'bad_request', 'request aborted'));
    };
    const cleanup = () => {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('aborted', aborted);
      req.removeListener('error', aborted);
      req.removeListener('close', aborted);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      text += decoder.write(chunk);
    };
    const onEnd = () => {
      cleanup();
      text += decoder.end();
      // Node's parser ends the body at content-length; fewer bytes means the peer closed early.
      if (received !== length) return reject(new HttpError(400, 'bad_request', 'request size did not match content length'));
      resolve(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('aborted', aborted);
    req.once('error', aborted);
    req.once('close', aborted);
  });
}

const FIRST_NON_WHITESPACE = /^[ \t\n\r]*([^ \t\n\r]|$)/;

/** express.json({ strict: true })'s parse: {} for an empty body, only an object or array, invalid JSON the same 400. */
function parseJson(text: string): unknown {
  if (text.length === 0) return {};
  const first = text[0] === '{' || text[0] === '[' ? text[0] : FIRST_NON_WHITESPACE.exec(text)?.[1];
  if (first !== '{' && first !== '[') throw new HttpError(400, 'invalid_json', 'request body is not valid JSON');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'invalid_json', 'request body is not valid JSON');
  }
}

/**
 * Serve POST /v1/extract/async ahead of `app`'s express handling (on the
 * app itself, so whatever listens with it gets the path); everything else
 * reaches express unchanged.
 */
export function installAcceptPath(app: Express, deps: AcceptPathDeps): void {
  const expressApp = app as Express & { handle(req: IncomingMessage, res: ServerResponse, next?: unknown): void };
  const handle = expressApp.handle.bind(app);

  /** An error answered exactly as express answers it: the app's error handler on an express request and response. */
  const answerError = (err: unknown, req: IncomingMessage, res: ServerResponse, locals: RequestLocals) => {
    const r = req as IncomingMessage & { res?: ServerResponse };
    const s = res as ServerResponse & { req?: IncomingMessage; locals?: RequestLocals };
    r.res = res;
    s.req = req;
    s.locals = locals;
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
    deps.errorHandler(err, req as never, res as never, () => {});
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, length: number) => {
    const locals: RequestLocals = Object.create(null) as RequestLocals;
    let routed = false;
    trackRequest(deps.logger, req, res, locals, () => ACCEPT_PATH, () => (routed ? ACCEPT_PATH : undefined));
    try {
      const apiKey = await authenticateRequest(deps.keys, req);
      locals.apiKey = apiKey;
      deps.limiter.take(apiKey.id, res);
      const body = parseJson(await readBody(req, length));
      routed = true;
      const created = await deps.create({ apiKey, body, idempotencyKey: req.headers['idempotency-key'] as string | undefined });
      locals.jobId = created.job.id;
      if (created.replayed) res.setHeader('idempotent-replayed', 'true');
      sendAccepted(res, created);
    } catch (err) {
      answerError(err, req, res, locals);
    }
  };

  expressApp.handle = (req, res, next) => {
    const length = next === undefined ? takenLength(req, deps.bodyLimitBytes) : null;
    if (length === null) return handle(req, res, next);
    void serve(req, res, length);
  };
}
