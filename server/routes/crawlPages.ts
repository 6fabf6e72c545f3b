// A crawl's pages and knowledge items, page by page (crawls run as page tasks,
// CRAWL_PAGE_TASKS): GET /v1/jobs/{jobId}/items and /pages. A job that is not
// such a crawl has none; another key's job is a 404.
import { Router } from 'express';
import { z } from 'zod';
import type { ApiKey } from '../../core/apiKeys.js';
import { listCrawlItems, listCrawlPages, PAGE_TASK_STATES } from '../../core/crawlTasks/index.js';
import type { Sql } from '../../core/platform/db.js';
import { ownJobFinder } from '../ownJob.js';
import { parseOr400 } from '../validation.js';

const cursor = z.string().regex(/^\d{1,18}$/, 'is not a cursor from this listing').optional();
const limit = z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(100);
const unknownFields = (issue: { code?: string; keys?: string[] }) => (issue.code === 'unrecognized_keys' ? `unknown field(s): ${(issue.keys ?? []).join(', ')}` : undefined);

export const crawlItemsQuerySchema = z.strictObject({ cursor, limit }, { error: unknownFields });
export const crawlPagesQuerySchema = z.strictObject(
  { status: z.enum(PAGE_TASK_STATES as [string, ...string[]], { error: `must be one of ${PAGE_TASK_STATES.join(', ')}` }).optional(), cursor, limit },
  { error: unknownFields },
);

export function crawlPagesRouter(deps: { sql: Sql }): Router {
  const router = Router();
  const ownJob = ownJobFinder(deps.sql);

  router.get('/v1/jobs/:jobId/items', async (req, res) => {
    const query = parseOr400(crawlItemsQuerySchema, req.query, 'query');
    const job = await ownJob(res.locals.apiKey as ApiKey, req.params.jobId, res.locals);
    const items = await listCrawlItems(deps.sql, { jobId: job.id, ...(query.cursor ? { after: query.cursor } : {}), limit: query.limit + 1 });
    const page = items.slice(0, query.limit);
    res.json({ items: page.map(({ cursor: _c, ...item }) => item), nextCursor: items.length > query.limit ? page.at(-1)!.cursor : null });
  });

  router.get('/v1/jobs/:jobId/pages', async (req, res) => {
    const query = parseOr400(crawlPagesQuerySchema, req.query, 'query');
    const job = await ownJob(res.locals.apiKey as ApiKey, req.params.jobId, res.locals);
    const pages = await listCrawlPages(deps.sql, {
      jobId: job.id,
      ...(query.status ? { state: query.status as (typeof PAGE_TASK_STATES)[number] } : {}),
      ...(query.cursor ? { after: query.cursor } : {}),
      limit: query.limit + 1,
    });
    const page = pages.slice(0, query.limit);
    res.json({
      pages: page.map(({ id: _id, state, ...p }) => ({ ...p, status: state })),
      nextCursor: pages.length > query.limit ? page.at(-1)!.id : null,
    });
  });

  return router;
}
