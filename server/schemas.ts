// Request schemas: the single description of what each route accepts.
// Unknown fields are ignored (stripped), not refused: clients such as
// KnowledgeSDK's add their own (apiKeyId); a known field of the wrong type is a
// 400 naming it.
import { z } from 'zod';
import { JOB_STATUSES } from '../core/jobs/index.js';
import { checkUrlSyntax } from '../core/outbound/ssrf.js';
import { CATEGORIES } from '../core/page/categories.js';

export const MAX_URL_LENGTH = 2048;

export function publicUrl(allowPrivateNetworks: boolean) {
  return z
    .string({ error: 'must be a string URL' })
    .max(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`)
    .superRefine((value, ctx) => {
      const checked = checkUrlSyntax(value, { allowPrivateNetworks });
      if (!checked.ok) ctx.addIssue({ code: 'custom', message: checked.message });
    });
}

/** How a page is read (core/browser/pageSource.ts): static, rendered in the browser, or static first (auto). */
const renderFields = {
  render: z.enum(['auto', 'always', 'never'], { error: 'must be auto, always or never' }).optional(),
  waitFor: z.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be at least 0').max(60_000, 'must be at most 60000').optional(),
};

const pathPattern = z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters');

/** maxPages while one worker runs each crawl (CRAWL_PAGE_TASKS=false): what one process carries in one job. */
export const MAX_PAGES_IN_ONE_WORKER = 20;

/** The largest maxPages a job may ask for: MAX_PAGES_PER_JOB when crawls run as page tasks any worker claims, else 20 (or MAX_PAGES_PER_JOB when lower). */
export function maxPagesLimit(crawl: { pageTasks: boolean; maxPagesPerJob: number }): number {
  return crawl.pageTasks ? crawl.maxPagesPerJob : Math.min(MAX_PAGES_IN_ONE_WORKER, crawl.maxPagesPerJob);
}

/** `maxPages`: the server's limit (maxPagesLimit), 20 when not given. */
export function extractRequestSchema(opts: { allowPrivateNetworks: boolean; maxPages?: number }) {
  const url = publicUrl(opts.allowPrivateNetworks);
  const maxPages = opts.maxPages ?? MAX_PAGES_IN_ONE_WORKER;
  return z.object({
    url,
    callbackUrl: url.optional(),
    maxPages: z
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(maxPages, `must be at most ${maxPages} (this server's pages per job)`)
      .optional()
      .meta({
        description: `pages the crawl may reach: at most ${maxPages} on this server (${MAX_PAGES_IN_ONE_WORKER} while one worker runs each crawl; MAX_PAGES_PER_JOB, default 1000, when crawls run as page tasks, CRAWL_PAGE_TASKS=true)`,
      }),
    singlePage: z.boolean({ error: 'must be true or false' }).optional(),
    ...renderFields,
    includePatterns: z.array(pathPattern).max(20, 'at most 20 patterns').optional(),
    excludePatterns: z.array(pathPattern).max(20, 'at most 20 patterns').optional(),
    urls: z.array(url).min(1, 'must list at least one URL').max(20, 'at most 20 URLs').optional(),
  });
}
export type ExtractRequest = z.output<ReturnType<typeof extractRequestSchema>>;

export function scrapeRequestSchema(opts: { allowPrivateNetworks: boolean }) {
  return z.object({
    url: publicUrl(opts.allowPrivateNetworks),
    ...renderFields,
    screenshot: z.enum(['viewport', 'fullPage'], { error: 'must be viewport or fullPage' }).optional(),
  });
}

export const searchRequestSchema = z.object({
  query: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters'),
  limit: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(50, 'must be at most 50').default(10),
  filters: z
    .object({
      categories: z.array(z.enum(CATEGORIES, { error: `must be one of ${CATEGORIES.join(', ')}` })).min(1, 'must list at least one category').max(CATEGORIES.length).optional(),
      urlPrefixes: z.array(z.string().min(1, 'must not be empty').max(MAX_URL_LENGTH)).min(1, 'must list at least one prefix').max(20, 'at most 20 prefixes').optional(),
      jobIds: z.array(z.string().regex(/^job_[0-9A-Za-z]{1,64}$/, 'is not a job id')).min(1, 'must list at least one job id').max(100, 'at most 100 job ids').optional(),
    })
    .optional(),
});
export type SearchRequest = z.output<typeof searchRequestSchema>;

export const listJobsQuerySchema = z.object({
  status: z.enum(JOB_STATUSES, { error: `must be one of ${JOB_STATUSES.join(', ')}` }).optional(),
  limit: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(100, 'must be at most 100').default(20),
  cursor: z.string().max(500).optional(),
});

export const jobIdSchema = z.string().regex(/^job_[0-9A-Za-z]{1,64}$/, 'is not a job id');

export const idempotencyKeySchema = z.string().min(1, 'must not be empty').max(255, 'must be at most 255 characters');
