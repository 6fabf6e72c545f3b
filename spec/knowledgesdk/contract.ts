// What KnowledgeSDK's official Node client (@knowledgesdk/node, MIT; source
// KnowledgeSDK/knowledgesdk-node, not on the npm registry these machines
// reach) sends and reads, reproduced for contract tests: its HTTP client's
// exact requests and error handling, and zod schemas written from its
// response types. Each schema names the client file it was taken from.
import { z } from 'zod';

// --- src/api/extract.ts -----------------------------------------------------

/** src/api/extract.ts: KnowledgeItem. */
export const knowledgeItem = z.object({ title: z.string(), description: z.string(), content: z.string(), category: z.string(), source: z.string() });

/** src/api/extract.ts: BusinessProfile (and src/api/classify.ts: BusinessClassification, the same fields). */
export const businessProfile = z.object({
  businessName: z.string(),
  businessType: z.string(),
  industrySector: z.string(),
  targetAudience: z.string(),
  description: z.string(),
  valueProposition: z.string(),
  painPoints: z.array(z.string()),
  uniqueSellingPoints: z.array(z.string()),
  keyInsights: z.array(z.string()),
  confidenceScore: z.number(),
});

/** src/api/extract.ts: ExtractResult. */
export const extractResult = z.object({ business: businessProfile, knowledgeItems: z.array(knowledgeItem), pagesScraped: z.number(), sitemapUrls: z.number() });

/** src/api/extract.ts: ExtractAsyncResult. */
export const extractAsyncResult = z.object({ jobId: z.string(), status: z.string() });

/** src/api/extract.ts: ExtractStreamEvent (each SSE data line is JSON with its `type`). */
export const extractStreamEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('connected'), message: z.string() }),
  z.object({ type: z.literal('progress'), message: z.string() }),
  z.object({ type: z.literal('business_classified'), business: z.object({ businessName: z.string(), businessType: z.string(), industry: z.string(), description: z.string() }) }),
  z.object({ type: z.literal('pages_planned'), pages: z.array(z.object({ url: z.string(), purpose: z.string() })) }),
  z.object({ type: z.literal('page_scraped'), url: z.string(), index: z.number(), total: z.number(), status: z.enum(['done', 'failed']) }),
  z.object({ type: z.literal('urls_triaged'), suggestedUrls: z.array(z.object({ url: z.string(), reason: z.string() })) }),
  z.object({ type: z.literal('complete'), result: extractResult }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);

// --- src/api/jobs.ts ----------------------------------------------------------

/** src/api/jobs.ts: JobResult. */
export const jobResult = z.object({
  jobId: z.string(),
  status: z.enum(['pending', 'processing', 'completed', 'failed']),
  result: z.any().optional(),
  error: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  completedAt: z.string().optional(),
});

// --- src/api/scrape.ts, sitemap.ts, search.ts, screenshot.ts, classify.ts ----

/** src/api/scrape.ts: ScrapeResult. */
export const scrapeResult = z.object({ url: z.string(), markdown: z.string(), title: z.string().nullable(), description: z.string().nullable(), links: z.array(z.string()) });

/** src/api/sitemap.ts: SitemapResult. */
export const sitemapResult = z.object({ url: z.string(), urls: z.array(z.string()), count: z.number() });

/** src/api/search.ts: SearchHit and SearchResult. */
export const searchHit = z.object({ id: z.string(), title: z.string(), content: z.string(), category: z.string(), source: z.string(), score: z.number() });
export const searchResult = z.object({ hits: z.array(searchHit), total: z.number(), query: z.string() });

/** src/api/screenshot.ts (0.1/0.2 line, commit f63edede): ScreenshotResult. */
export const screenshotResult = z.object({ url: z.string(), screenshot: z.string() });

/** src/api/classify.ts: BusinessClassification. */
export const businessClassification = businessProfile;

// --- src/api/webhooks.ts --------------------------------------------------------

/** src/api/webhooks.ts: WebhookFull. */
export const webhookFull = z.object({ id: z.string(), url: z.string(), events: z.array(z.string()), displayName: z.string().optional(), status: z.string(), createdAt: z.string(), updatedAt: z.string() });

// --- src/utils/http-client.ts -------------------------------------------------

/** src/constants.ts VERSION, as the client's User-Agent carries it. */
const CLIENT_VERSION = '0.1.0';

/** The client's error (src/errors.ts APIError/AuthenticationError/RateLimitError): message, code and status as it derives them. */
export class ClientError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
    readonly code: string,
    readonly data: unknown,
  ) {
    super(message);
  }
}

/**
 * src/utils/http-client.ts HttpClient.request, minus retries: `baseUrl + "/v1" + path`,
 * the same headers, JSON.stringify(data) for non-GET, the same body parsing and
 * error mapping (401 → "Invalid API key"; other 4xx → body.message || body.error).
 * `timeoutMs` is the client's default of 30 s.
 */
export async function clientRequest<T = unknown>(baseUrl: string, apiKey: string, method: 'GET' | 'POST' | 'DELETE', path: string, data?: unknown, timeoutMs = 30_000): Promise<T> {
  const url = new URL(`/v1${path}`, baseUrl).toString();
  const headers = { 'x-api-key': apiKey, 'Content-Type': 'application/json', 'User-Agent': `KnowledgeSDK Node SDK v${CLIENT_VERSION}`, Accept: 'application/json' };
  const response = await fetch(url, { method, headers, ...(method !== 'GET' && data !== undefined ? { body: JSON.stringify(data) } : {}), signal: AbortSignal.timeout(timeoutMs) });
  const contentType = response.headers.get('content-type');
  const body: unknown = contentType && contentType.includes('application/json') ? await response.json() : await response.text();
  if (response.status === 401) throw new ClientError('Invalid API key', 401, 'invalid_api_key', body);
  if (response.status === 429) throw new ClientError('Rate limit exceeded', 429, 'rate_limited', body);
  if (response.status >= 500) throw new ClientError(`Server error: ${response.status}`, response.status, 'server_error', body);
  if (!response.ok) {
    let message = `API error: ${response.status}`;
    let code = 'api_error';
    if (body && typeof body === 'object') {
      const b = body as { message?: unknown; error?: unknown; code?: unknown };
      message = (b.message || b.error || message) as string;
      code = (b.code || code) as string;
    }
    throw new ClientError(String(message), response.status, code, body);
  }
  return body as T;
}

/** src/index.ts: the constructor refuses keys that do not start with sk_ks_. */
export function clientKey(key: string): string {
  const sdkKey = key.replace(/^knowledgesdk_live_/, 'sk_ks_');
  if (!sdkKey.startsWith('sk_ks_')) throw new Error('Invalid API key format. Keys must start with sk_ks_');
  return sdkKey;
}

/** Parses with the client's schema, failing with every mismatch. */
export function asClientReads<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`${what} is not what the client reads: ${z.prettifyError(parsed.error)}\n${JSON.stringify(value).slice(0, 1500)}`);
  return parsed.data;
}
