// POST /v1/scrape (server/routes/scrape.ts) in the OpenAPI document.
import { z } from 'zod';
import { common, err, syncBusy, type RouteSpec, type RouteSpecOptions } from '../routeSpec.js';
import { scrapeRequestSchema } from '../schemas.js';

const scrapedPage = z
  .object({
    url: z.string(),
    finalUrl: z.string(),
    statusCode: z.int(),
    contentType: z.string().nullable(),
    title: z.string().nullable(),
    description: z.string().nullable(),
    language: z.string().nullable(),
    canonicalUrl: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    markdown: z.string(),
    text: z.string(),
    headings: z.array(z.object({ level: z.int(), text: z.string() })),
    links: z.array(z.string()),
    rendered: z.boolean().meta({ description: 'read from the browser after scripts ran' }),
    warnings: z.array(z.string()).optional().meta({ description: 'e.g. the page needed a browser and none was available' }),
    screenshot: z
      .object({ base64: z.string(), contentType: z.literal('image/png'), fullPage: z.boolean(), width: z.int(), height: z.int() })
      .optional()
      .meta({ description: 'when the request asked for one' }),
  })
  .catchall(z.unknown())
  .meta({ id: 'ScrapedPage' });

/** Answers of the routes that read a page now (scrape, sitemap, classify, screenshot) when it is refused or fails. */
export const pageErrors = {
  '400': err('validation error, or the URL resolves to a refused address'),
  '502': err('the page could not be fetched'),
  '504': err('the page did not answer in time'),
};

export function scrapeRouteSpecs(opts: RouteSpecOptions): RouteSpec[] {
  return [
    {
      method: 'post',
      path: '/v1/scrape',
      tag: 'knowledge',
      auth: true,
      summary: 'One page’s Markdown, metadata and links, now',
      description: 'Synchronous: no job and no indexing; the same fetcher, address guard and extraction as a job.',
      body: scrapeRequestSchema(opts),
      responses: {
        '200': { description: 'the page', schema: scrapedPage },
        '400': pageErrors['400'],
        '422': err('the page answered with something that is not a usable HTML page (code in details)'),
        '502': err('the page could not be fetched (code and status in details)'),
        '504': pageErrors['504'],
        ...common,
        ...syncBusy,
      },
    },
  ];
}
