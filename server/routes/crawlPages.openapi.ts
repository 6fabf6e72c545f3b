// A crawl's items and pages (server/routes/crawlPages.ts) in the OpenAPI document.
import { z } from 'zod';
import { CATEGORIES } from '../../core/page/categories.js';
import { common, err, nextCursor, notFound, type RouteSpec } from '../routeSpec.js';
import { crawlItemsQuerySchema, crawlPagesQuerySchema } from './crawlPages.js';

const crawlItems = z
  .object({
    items: z.array(z.object({ title: z.string(), description: z.string(), content: z.string(), category: z.enum(CATEGORIES), source: z.string() })),
    nextCursor,
  })
  .meta({ id: 'CrawlItems' });

const crawlPages = z
  .object({
    pages: z.array(
      z.object({
        url: z.string(),
        finalUrl: z.string().nullable(),
        depth: z.int(),
        status: z.enum(['queued', 'running', 'done', 'failed', 'skipped', 'cancelled']),
        error: z.object({ code: z.string(), message: z.string() }).catchall(z.unknown()).nullable(),
        chunks: z.int().nullable(),
        attempts: z.int(),
      }),
    ),
    nextCursor,
  })
  .meta({ id: 'CrawlPages' });

const badQuery = err('invalid query, cursor or job id');

export const crawlPagesRouteSpecs: RouteSpec[] = [
  {
    method: 'get',
    path: '/v1/jobs/:jobId/items',
    tag: 'jobs',
    auth: true,
    summary: 'A crawl’s knowledge items, in the order they were indexed (crawls run as page tasks; none for other jobs)',
    query: crawlItemsQuerySchema,
    responses: { '200': { description: 'a page of items', schema: crawlItems }, '400': badQuery, ...notFound, ...common },
  },
  {
    method: 'get',
    path: '/v1/jobs/:jobId/pages',
    tag: 'jobs',
    auth: true,
    summary: 'A crawl’s pages with their state and error, in discovery order (crawls run as page tasks; none for other jobs)',
    query: crawlPagesQuerySchema,
    responses: { '200': { description: 'a page of pages', schema: crawlPages }, '400': badQuery, ...notFound, ...common },
  },
];
