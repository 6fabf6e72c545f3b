// GET /dashboard: the operator dashboard, served by the API process and
// mounted only when ADMIN_TOKEN is set (otherwise /dashboard/* is a 404).
import express, { Router, type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { createApiKey, listApiKeys, revokeApiKey } from '../../core/apiKeys.js';
import type { Config } from '../../core/platform/config.js';
import type { Sql } from '../../core/platform/db.js';
import { InvalidAdminCursorError, listAllJobs } from '../../core/jobs/adminQueries.js';
import { cancelJob, getJob, JOB_STATUSES, listJobEvents, retryJob } from '../../core/jobs/index.js';
import type { Logger } from '../../core/platform/logger.js';
import type { Boss } from '../../core/queue/index.js';
import { runReport } from '../../core/reports.js';
import { listDeliveries, redeliver } from '../../core/webhooks/deliveries.js';
import { jobIdSchema } from '../schemas.js';
import { textProblem, validate } from '../validation.js';
import { DASHBOARD_CSS, DASHBOARD_JS } from './assets.js';
import { authenticate, clearSessionCookie, mayChangeState, newSession, sameOrigin, setSessionCookie, tokenMatches, type AdminAuth } from './auth.js';
import { AuthThrottle } from './authThrottle.js';
import type { Html } from './html.js';
import { currentSessionEpoch, endAllSessions } from './sessionEpoch.js';
import { loadOverview, overviewFragment, SnapshotCache, type OverviewSnapshot } from './overview.js';
import { errorPage, jobPage, jobsPage, keysPage, loginPage, overviewPage, type JobFilterForm } from './pages.js';

export interface DashboardDeps {
  config: Config;
  sql: Sql;
  boss: Boss;
  logger: Logger;
  /** How long one set of report results is served (and the page's refresh period); default 10 s. */
  refreshMs?: number;
  /** Failed sign-ins allowed per client address: a burst, then so many per minute (default 30, then 10 per minute). */
  authThrottle?: { burst: number; perMinute: number };
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('content-security-policy', CSP);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'same-origin');
  res.setHeader('cache-control', 'no-store');
  next();
};

const send = (res: Response, status: number, page: Html) => {
  res.status(status).type('html').send(page.text);
};

const auth = (res: Response) => res.locals.admin as AdminAuth;

/** Only a path inside the dashboard: never an open redirect. */
function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/dashboard(\/[\w\-./?=&%]*)?$/.test(value) && !value.includes('//') ? value : '/dashboard';
}

const jobFilterSchema = z.object({
  status: z.union([z.enum(JOB_STATUSES), z.literal('')]).default(''),
  key: z.string().max(100).default(''),
  domain: z.string().trim().max(253).default(''),
  since: z.string().trim().max(40).default(''),
  before: z.string().trim().max(40).default(''),
  cursor: z.string().max(500).optional(),
});

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "24h" (before now) or an ISO date/time; undefined when empty; null when unreadable. */
function parseWhen(text: string, now: number): Date | undefined | null {
  if (!text) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(text);
  if (m) return new Date(now - Number(m[1]) * UNIT_MS[m[2]!]!);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return null;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function dashboardRouter(deps: DashboardDeps & { adminToken: string }): Router {
  const { sql, boss, config, adminToken } = deps;
  const refreshMs = deps.refreshMs ?? 10_000;
  const refreshSeconds = Math.max(1, Math.round(refreshMs / 1000));
  const staleAfterSeconds = Math.round(config.worker.staleAfterMs / 1000);
  const overview = new SnapshotCache<OverviewSnapshot>(() => loadOverview(sql, { staleAfterSeconds }), refreshMs);

  const throttle = new AuthThrottle(deps.authThrottle ?? { burst: 30, perMinute: 10 });
  const epoch = () => currentSessionEpoch(sql);
  const clientAddress = (req: Request) => req.socket.remoteAddress ?? 'unknown';
  /** 429 when this address has used up its failed sign-ins; true when it did. */
  const throttled = (req: Request, res: Response, next: string): boolean => {
    const wait = throttle.retryAfter(clientAddress(req));
    if (wait === 0) return false;
    res.setHeader('retry-after', String(wait));
    send(res, 429, loginPage({ error: `Too many failed sign-ins from this address; try again in ${wait} s.`, next }));
    return true;
  };

  const router = Router();
  router.use(securityHeaders);

  router.get('/static/dashboard.css', (_req, res) => {
    res.setHeader('cache-control', 'public, max-age=300');
    res.type('text/css').send(DASHBOARD_CSS);
  });
  router.get('/static/dashboard.js', (_req, res) => {
    res.setHeader('cache-control', 'public, max-age=300');
    res.type('text/javascript').send(DASHBOARD_JS);
  });

  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });

  router.get('/login', async (req, res) => {
    if (await authenticate(adminToken, req, epoch)) {
      res.redirect(303, safeNext(req.query.next));
      return;
    }
    send(res, 200, loginPage({ next: safeNext(req.query.next) }));
  });

  router.post('/login', form, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const next = safeNext(body.next);
    if (!sameOrigin(req)) {
      send(res, 403, loginPage({ error: 'This sign-in came from another site and was refused.', next }));
      return;
    }
    if (throttled(req, res, next)) return;
    if (!tokenMatches(adminToken, typeof body.token === 'string' ? body.token : undefined)) {
      throttle.failed(clientAddress(req));
      deps.logger.warn('dashboard sign-in refused', { requestId: res.locals.requestId });
      send(res, 401, loginPage({ error: 'That is not the admin token.', next }));
      return;
    }
    setSessionCookie(req, res, newSession(adminToken, await epoch()));
    res.redirect(303, next);
  });

  // Everything below needs the admin token (cookie or bearer). Without it:
  // a 401 page with the sign-in form and no data at all.
  router.use(async (req, res, next) => {
    const bearer = req.header('authorization') !== undefined;
    const nextPage = req.method === 'GET' && !req.path.endsWith('/fragment') ? safeNext(req.originalUrl) : '/dashboard';
    if (bearer && throttled(req, res, nextPage)) return;
    const a = await authenticate(adminToken, req, epoch);
    if (!a) {
      if (bearer) throttle.failed(clientAddress(req));
      res.setHeader('www-authenticate', 'Bearer realm="gleaner-dashboard"');
      send(res, 401, loginPage({ error: bearer ? 'That is not the admin token.' : undefined, next: nextPage }));
      return;
    }
    res.locals.admin = a;
    next();
  });

  // State-changing requests: bearer, or cookie + same origin + CSRF token.
  const guarded = (handler: (req: Request, res: Response) => Promise<void> | void) => [
    form,
    async (req: Request, res: Response) => {
      if (!mayChangeState(auth(res), req)) {
        send(res, 403, errorPage(auth(res), 403, 'Request refused', 'The form was stale or came from another site (CSRF check). Reload the page and try again.'));
        return;
      }
      await handler(req, res);
      overview.invalidate();
    },
  ];

  router.post(
    '/logout',
    ...guarded(async (req, res) => {
      // Ends every session, this one and any other (a copied cookie included), in every API process.
      await endAllSessions(sql);
      deps.logger.info('dashboard action', { action: 'sign out: all sessions ended' });
      clearSessionCookie(req, res);
      res.redirect(303, '/dashboard/login');
    }),
  );

  // -- overview -------------------------------------------------------------

  router.get('/', async (_req, res) => {
    const snapshot = await overview.get();
    send(res, 200, overviewPage(auth(res), overviewFragment(snapshot, refreshSeconds), refreshSeconds));
  });

  router.get('/overview/fragment', async (_req, res) => {
    const snapshot = await overview.get();
    res.setHeader('x-snapshot-generated-at', snapshot.generatedAt.toISOString());
    send(res, 200, overviewFragment(snapshot, refreshSeconds));
  });

  router.get('/overview.json', async (_req, res) => {
    const s = await overview.get();
    res.json({ generatedAt: s.generatedAt.toISOString(), staleAfterSeconds: s.staleAfterSeconds, reports: s.reports });
  });

  // -- jobs -----------------------------------------------------------------

  router.get('/jobs', async (req, res) => {
    const keys = await listApiKeys(sql);
    const parsed = validate(jobFilterSchema, req.query, 'query');
    const filter: JobFilterForm = parsed.success
      ? { status: parsed.data.status, key: parsed.data.key, domain: parsed.data.domain, since: parsed.data.since, before: parsed.data.before }
      : { status: '', key: '', domain: '', since: '', before: '' };
    const show = (status: number, error: string) => send(res, status, jobsPage({ auth: auth(res), filter, keys, jobs: [], nextCursor: null, paged: false, error }));
    if (!parsed.success) return show(400, 'Those filters cannot be read: ' + parsed.problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    const now = Date.now();
    const since = parseWhen(filter.since, now);
    const before = parseWhen(filter.before, now);
    if (since === null) return show(400, '“Created since” must be a duration like 24h or 7d, or a date like 2026-01-31.');
    if (before === null) return show(400, '“Created before” must be a duration like 24h or 7d, or a date like 2026-01-31.');
    try {
      const page = await listAllJobs(sql, {
        status: parsed.data.status || undefined,
        apiKeyId: filter.key || undefined,
        domain: filter.domain || undefined,
        createdSince: since,
        createdBefore: before,
        limit: 50,
        cursor: parsed.data.cursor,
      });
      send(res, 200, jobsPage({ auth: auth(res), filter, keys, jobs: page.jobs, nextCursor: page.nextCursor, paged: Boolean(parsed.data.cursor) }));
    } catch (err) {
      if (err instanceof InvalidAdminCursorError) return show(400, 'That page link is not valid any more; start from the first page.');
      throw err;
    }
  });

  const findJob = async (req: Request, res: Response) => {
    const id = jobIdSchema.safeParse(req.params.jobId);
    const job = id.success ? await getJob(sql, { jobId: id.data }) : null;
    if (!job) send(res, 404, errorPage(auth(res), 404, 'Job not found', 'There is no job with that id.'));
    else res.locals.jobId = job.id;
    return job;
  };

  router.get('/jobs/:jobId', async (req, res) => {
    const job = await findJob(req, res);
    if (!job) return;
    const [events, deliveries, keys] = await Promise.all([listJobEvents(sql, job.id), listDeliveries(sql, job.id), listApiKeys(sql)]);
    const keyName = keys.find((k) => k.id === job.apiKeyId)?.name ?? '?';
    const done = typeof req.query.done === 'string' ? req.query.done : undefined;
    const error = typeof req.query.error === 'string' ? req.query.error : undefined;
    send(res, 200, jobPage({ auth: auth(res), job, keyName, events, deliveries, done, error }));
  });

  // The same operations as the API's, on behalf of the key that owns the job.
  const back = (res: Response, jobId: string, q: string) => res.redirect(303, `/dashboard/jobs/${jobId}?${q}`);
  router.post(
    '/jobs/:jobId/retry',
    ...guarded(async (req, res) => {
      const job = await findJob(req, res);
      if (!job) return;
      const retried = await retryJob(sql, { jobId: job.id, apiKeyId: job.apiKeyId, extraAttempts: config.worker.maxAttempts });
      deps.logger.info('dashboard action', { action: 'retry', jobId: job.id, ok: Boolean(retried) });
      back(res, job.id, retried ? 'done=retried' : 'error=not_retryable');
    }),
  );
  router.post(
    '/jobs/:jobId/cancel',
    ...guarded(async (req, res) => {
      const job = await findJob(req, res);
      if (!job) return;
      const cancelled = await cancelJob(sql, boss, { jobId: job.id, apiKeyId: job.apiKeyId });
      deps.logger.info('dashboard action', { action: 'cancel', jobId: job.id, ok: Boolean(cancelled) });
      back(res, job.id, cancelled ? 'done=cancelled' : 'error=not_cancellable');
    }),
  );
  router.post(
    '/jobs/:jobId/redeliver',
    ...guarded(async (req, res) => {
      const job = await findJob(req, res);
      if (!job) return;
      const queued = await redeliver(sql, boss, job);
      deps.logger.info('dashboard action', { action: 'redeliver', jobId: job.id, ok: Boolean(queued) });
      back(res, job.id, queued ? 'done=redelivered' : 'error=not_redeliverable');
    }),
  );

  // -- API keys -------------------------------------------------------------

  const showKeys = async (res: Response, status: number, extra: { created?: Awaited<ReturnType<typeof createApiKey>>; done?: string; error?: string } = {}) => {
    const [keys, usage] = await Promise.all([listApiKeys(sql), runReport(sql, 'usage', { since: '24h' })]);
    send(res, status, keysPage({ auth: auth(res), keys, usage, ...extra }));
  };

  router.get('/keys', async (req, res) => {
    const done = req.query.done === 'revoked' ? 'Key revoked: requests with it now get 401.' : undefined;
    const error = req.query.error === 'not_found' ? 'No active key with that id.' : req.query.error === 'ambiguous' ? 'Another key is named like that id; revoke it with npm run keys.' : undefined;
    await showKeys(res, 200, { done, error });
  });

  router.post(
    '/keys',
    ...guarded(async (req, res) => {
      const name = typeof req.body?.name === 'string' ? req.body.name.trim() : '';
      if (!name || name.length > 100) return showKeys(res, 400, { error: 'A key needs a name of 1 to 100 characters.' });
      const problem = textProblem(name);
      if (problem) return showKeys(res, 400, { error: `The key name ${problem}.` });
      const created = await createApiKey(sql, name);
      deps.logger.info('dashboard action', { action: 'create key', apiKeyId: created.apiKey.id });
      // Rendered directly (never in a URL or a redirect) and not cached: shown once.
      await showKeys(res, 201, { created });
    }),
  );

  router.post(
    '/keys/:keyId/revoke',
    ...guarded(async (req, res) => {
      const id = String(req.params.keyId);
      const keys = await listApiKeys(sql);
      // revokeApiKey matches an id or a name: refuse when that would catch another key by name.
      if (keys.some((k) => k.name === id && k.id !== id)) return res.redirect(303, '/dashboard/keys?error=ambiguous');
      if (!keys.some((k) => k.id === id && !k.revokedAt)) return res.redirect(303, '/dashboard/keys?error=not_found');
      await revokeApiKey(sql, id);
      deps.logger.info('dashboard action', { action: 'revoke key', apiKeyId: id });
      res.redirect(303, '/dashboard/keys?done=revoked');
    }),
  );

  router.use((req, res) => {
    send(res, 404, errorPage(auth(res) ?? null, 404, 'Not found', `Nothing at ${req.originalUrl}.`));
  });

  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    if (res.headersSent) return;
    const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) deps.logger.error('dashboard request failed', { requestId: res.locals.requestId, path: req.path, error: (err as Error)?.message });
    send(res, status, errorPage((res.locals.admin as AdminAuth | undefined) ?? null, status, status === 500 ? 'Something went wrong' : 'Bad request', status === 500 ? 'The request failed; details are in the server log.' : 'The request could not be read.'));
  };
  router.use(onError);
  return router;
}
