// The job result and webhook bodies as README.md documents them, written from
// the README (not from server/openapi.ts) so a test holds the code to the
// documentation: "Result" in "Knowledge pipeline" and the two bodies in "Webhooks".
import { z } from 'zod';

/** README: "Labels: pricing, product, docs, blog, about, careers, legal, support, contact, changelog". */
export const DOCUMENTED_CATEGORIES = ['pricing', 'product', 'docs', 'blog', 'about', 'careers', 'legal', 'support', 'contact', 'changelog'] as const;

const nonEmpty = z.string().min(1);

export const documentedKnowledgeItem = z.strictObject({
  title: nonEmpty,
  description: z.string(),
  content: nonEmpty,
  category: z.enum(DOCUMENTED_CATEGORIES),
  source: z.url(),
});

/** A /v1/business job's `business` adds KnowledgeSDK's profile to the site fields: `{businessName, businessType, industrySector, targetAudience, valueProposition, painPoints, uniqueSellingPoints, keyInsights, confidenceScore}`. */
export const documentedProfileFields = {
  businessName: nonEmpty,
  businessType: nonEmpty,
  industrySector: nonEmpty,
  targetAudience: nonEmpty,
  valueProposition: nonEmpty,
  painPoints: z.array(nonEmpty),
  uniqueSellingPoints: z.array(nonEmpty),
  keyInsights: z.array(nonEmpty),
  confidenceScore: z.number().min(0).max(1),
};

const siteFields = { name: z.string().nullable(), description: z.string().nullable(), domain: nonEmpty, language: z.string().nullable() };

/** `{knowledgeItems, business?, pagesScraped, urlsDiscovered, sitemapUrls, chunksIndexed, pages, failedPages}`. */
export const documentedResult = z
  .strictObject({
    knowledgeItems: z.array(documentedKnowledgeItem),
    business: z.union([z.strictObject(siteFields), z.strictObject({ ...siteFields, description: nonEmpty, ...documentedProfileFields })]).optional(),
    pagesScraped: z.int().nonnegative(),
    urlsDiscovered: z.int().nonnegative(),
    sitemapUrls: z.int().nonnegative(),
    chunksIndexed: z.int().nonnegative(),
    pages: z.array(z.strictObject({ url: z.url(), title: nonEmpty, category: z.enum(DOCUMENTED_CATEGORIES), chunks: z.int().positive() })),
    failedPages: z.array(z.object({ url: z.string(), reason: nonEmpty, message: z.string() })),
  })
  .refine((r) => r.pagesScraped === r.knowledgeItems.length && r.pages.length === r.knowledgeItems.length, 'one knowledge item and one page entry per page scraped')
  .refine((r) => r.pages.reduce((n, p) => n + p.chunks, 0) === r.chunksIndexed, 'chunksIndexed is the sum of the pages’ chunks')
  .refine((r) => r.pages.every((p, i) => p.url === r.knowledgeItems[i]!.source), 'pages and knowledge items in the same order');

export type DocumentedResult = z.infer<typeof documentedResult>;

const isoDate = z.iso.datetime({ offset: true });

/** `{ "jobId", "status": "completed", "result": { … }, "completedAt" }`. */
export const documentedCompletedWebhook = z.strictObject({ jobId: z.string().regex(/^job_/), status: z.literal('completed'), result: documentedResult, completedAt: isoDate });

/** `{ "jobId", "status": "failed", "error": { "code", "message" }, "completedAt" }`. */
export const documentedFailedWebhook = z.strictObject({
  jobId: z.string().regex(/^job_/),
  status: z.literal('failed'),
  error: z.object({ code: nonEmpty, message: nonEmpty }),
  completedAt: isoDate,
});

/** Parses `value` and fails with every mismatch listed (zod's message), returning the typed value. */
export function assertDocumented<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`${what} does not match the README: ${z.prettifyError(parsed.error)}\n${JSON.stringify(value).slice(0, 2000)}`);
  return parsed.data;
}
