// The search index on Typesense (TYPESENSE_URL): one collection, one document
// per chunk, hybrid search by Typesense's rank fusion of the keyword ranking
// (q over title, heading_path, content) and the nearest vectors
// (vector_query on `embedding`, the query's vector passed in; alpha = weight
// of the vector ranking).
//
// Filters never put a caller's string into filter_by. Typesense's string
// filters fold case and drop symbols (`key_Ab` matches `key_ab`, `4.5`
// matches `45`), which would let two base62 API key ids that differ only in
// case see each other's chunks, and a backtick inside a backtick-quoted value
// has no escape that its filter parser honours everywhere. So every filtered
// field has a companion `*_key`: the first 128 bits of the value's SHA-256 in
// hex, [0-9a-f] only, which needs no quoting and matches exactly. The readable
// values (tenant, category, url, job_id) are stored alongside for facets and
// for the hits; each hit's tenant is checked again before it is returned.
//
// URL prefixes: `url_prefix_keys` holds the keys of the url's prefixes that
// end in "/" and of every prefix of its origin ("https://e", "https://ex", …).
// A filter prefix that is one of those is matched exactly by Typesense; any
// other ("https://e.com/do") is narrowed by its last "/" and finished here with
// startsWith, from a larger page of hits.
//
// Writes: a page's chunks are upserted with a fresh page_version, then the
// page's documents with another version are deleted; document ids are derived
// from (tenant, chunk id), so one tenant can never overwrite another's.
// Typesense has no transactions: replacements of one url are serialised
// within a process; two processes replacing the same url at the same instant
// can lose that page's chunks until it is indexed again.
import { createHash, randomBytes } from 'node:crypto';
import { Client, Errors, type CollectionCreateSchema } from 'typesense';
import { z } from 'zod';
import type { Logger } from '../platform/logger.js';
import { leadSnippet, MARK_END, MARK_START, renderSnippet } from './snippet.js';
import type { IndexedChunk, SearchHit, SearchIndex, SearchQuery, WriteFence } from './types.js';
import { checkPage, checkQuery, checkTenant, type NormalisedFilters, type NormalisedQuery, SearchInputError } from './validate.js';

export interface TypesenseSettings {
  url: string;
  apiKey: string;
  collection: string;
}

/** Weight of the vector ranking in Typesense's rank fusion (its default is 0.3). */
export const VECTOR_ALPHA = 0.5;
export const QUERY_BY = 'title,heading_path,content';
export const QUERY_BY_WEIGHTS = '3,2,1';
/** Typesense's largest page. */
const MAX_PER_PAGE = 250;
/** Origin prefixes indexed per url: enough for any real host name. */
const MAX_ORIGIN_PREFIXES = 100;

/** Exact-match key of a filtered value: 32 hex digits. */
export function filterKey(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 32);
}

export function documentId(tenant: string, chunkId: string): string {
  return filterKey(`${tenant}\n${chunkId}`);
}

/** Where the host starts (after "://") and the origin ends (first / ? # after it); undefined without "://". */
function originBounds(url: string): { hostStart: number; originEnd: number } | undefined {
  const scheme = url.indexOf('://');
  if (scheme < 0) return undefined;
  const hostStart = scheme + 3;
  const rest = url.slice(hostStart).search(/[/?#]/);
  return { hostStart, originEnd: rest < 0 ? url.length : hostStart + rest };
}

/** The prefixes of `url` a filter can name exactly (see the header). */
export function urlPrefixes(url: string): string[] {
  const out = new Set<string>();
  const bounds = originBounds(url);
  if (bounds) {
    const last = Math.min(bounds.originEnd, bounds.hostStart + MAX_ORIGIN_PREFIXES);
    for (let i = bounds.hostStart + 1; i <= last; i++) out.add(url.slice(0, i));
  }
  for (let i = url.indexOf('/'); i >= 0; i = url.indexOf('/', i + 1)) out.add(url.slice(0, i + 1));
  return [...out];
}

/** How Typesense can narrow to urls starting with `prefix`: the indexed prefix to require, and whether that is already exact. */
export function prefixCondition(prefix: string): { indexed: string; exact: boolean } | undefined {
  const bounds = originBounds(prefix);
  if (bounds && bounds.originEnd === prefix.length && prefix.length > bounds.hostStart && prefix.length - bounds.hostStart <= MAX_ORIGIN_PREFIXES) {
    return { indexed: prefix, exact: true };
  }
  const slash = prefix.lastIndexOf('/');
  if (slash < 0) return undefined;
  return { indexed: prefix.slice(0, slash + 1), exact: slash === prefix.length - 1 };
}

export function buildCollectionSchema(name: string, dimension: number): CollectionCreateSchema {
  const key = (field: string) => ({ name: field, type: 'string' as const });
  const stored = (field: string) => ({ name: field, type: 'string' as const, index: false, optional: true });
  return {
    name,
    fields: [
      { name: 'tenant', type: 'string', facet: true },
      key('tenant_key'),
      stored('chunk_id'),
      stored('job_id'),
      key('job_key'),
      stored('url'),
      key('url_key'),
      { name: 'url_prefix_keys', type: 'string[]' },
      key('page_version'),
      { name: 'title', type: 'string' },
      { name: 'heading_path', type: 'string[]' },
      { name: 'content', type: 'string' },
      { name: 'category', type: 'string', facet: true },
      key('category_key'),
      { name: 'position', type: 'int32' },
      { name: 'embedding', type: 'float[]', num_dim: dimension, vec_dist: 'cosine' },
    ],
  };
}

export interface ChunkDocument {
  id: string;
  chunk_id: string;
  tenant: string;
  tenant_key: string;
  job_id: string;
  job_key: string;
  url: string;
  url_key: string;
  url_prefix_keys: string[];
  page_version: string;
  title: string;
  heading_path: string[];
  content: string;
  category: string;
  category_key: string;
  position: number;
  embedding: number[];
}

/** A checked chunk (unit vector) → its Typesense document. */
export function toDocument(tenant: string, chunk: IndexedChunk, pageVersion: string): ChunkDocument {
  return {
    id: documentId(tenant, chunk.id),
    chunk_id: chunk.id,
    tenant,
    tenant_key: filterKey(tenant),
    job_id: chunk.jobId,
    job_key: filterKey(chunk.jobId),
    url: chunk.url,
    url_key: filterKey(chunk.url),
    url_prefix_keys: urlPrefixes(chunk.url).map(filterKey),
    page_version: pageVersion,
    title: chunk.title,
    heading_path: chunk.headingPath,
    content: chunk.content,
    category: chunk.category,
    category_key: filterKey(chunk.category),
    position: chunk.position,
    embedding: Array.from(chunk.embedding),
  };
}

export interface TypesenseFilter {
  filterBy: string;
  /** Set when Typesense's answer is a superset: hits must still start with one of these. */
  urlPrefixes?: string[];
}

const oneOf = (field: string, values: string[]) => `${field}:=[${values.map(filterKey).join(',')}]`;

/** filter_by for a tenant and filters: always the tenant first; only hex keys inside. */
export function buildFilter(tenant: string, filters: NormalisedFilters): TypesenseFilter {
  const clauses = [`tenant_key:=${filterKey(tenant)}`];
  if (filters.categories) clauses.push(oneOf('category_key', filters.categories));
  if (filters.jobIds) clauses.push(oneOf('job_key', filters.jobIds));
  let postFilter: string[] | undefined;
  if (filters.urlPrefixes) {
    const conditions = filters.urlPrefixes.map(prefixCondition);
    if (conditions.every((c) => c !== undefined)) clauses.push(oneOf('url_prefix_keys', [...new Set(conditions.map((c) => c.indexed))]));
    if (!conditions.every((c) => c?.exact)) postFilter = filters.urlPrefixes;
  }
  return { filterBy: clauses.join(' && '), urlPrefixes: postFilter };
}

/** Full-text candidates per query, as for Postgres. */
const candidates = (limit: number) => Math.min(500, Math.max(50, limit * 5));

/** One search of a multi_search request (POST body: the vector is too long for a URL). */
export function buildSearchParams(collection: string, tenant: string, query: NormalisedQuery): { params: Record<string, string | number | boolean>; filter: TypesenseFilter } {
  const filter = buildFilter(tenant, query.filters);
  const k = candidates(query.limit);
  const vector = `[${Array.from(query.embedding).join(',')}]`;
  const params: Record<string, string | number | boolean> = {
    collection,
    q: query.text === '' ? '*' : query.text,
    query_by: QUERY_BY,
    query_by_weights: QUERY_BY_WEIGHTS,
    // alpha only weighs a fusion; with q = * the answer is the nearest vectors.
    vector_query: query.text === '' ? `embedding:(${vector}, k: ${k})` : `embedding:(${vector}, k: ${k}, alpha: ${VECTOR_ALPHA})`,
    filter_by: filter.filterBy,
    per_page: filter.urlPrefixes ? Math.min(MAX_PER_PAGE, k) : query.limit,
    page: 1,
    exclude_fields: 'embedding',
    highlight_fields: 'content',
    highlight_start_tag: MARK_START,
    highlight_end_tag: MARK_END,
    highlight_affix_num_tokens: 12,
    // Long queries (questions) would otherwise be re-run with words dropped.
    drop_tokens_threshold: 0,
    prefix: false,
    rerank_hybrid_matches: true,
  };
  return { params, filter };
}

const hitSchema = z.object({
  document: z.object({
    tenant: z.string(),
    chunk_id: z.string(),
    url: z.string(),
    title: z.string(),
    heading_path: z.array(z.string()),
    content: z.string(),
    category: z.string(),
    job_id: z.string(),
  }),
  highlight: z.object({ content: z.object({ snippet: z.string().optional() }).partial().optional() }).partial().optional(),
  text_match: z.number().optional(),
  vector_distance: z.number().optional(),
  hybrid_search_info: z.object({ rank_fusion_score: z.number().optional() }).partial().optional(),
});

/**
 * A Typesense hit → a SearchHit, or undefined when it is not the tenant's or
 * fails the url post-filter. Score: the rank-fusion score when both rankings
 * ran, else 1 − distance / 2 (vector only).
 */
export function mapHit(raw: unknown, tenant: string, urlPrefixesFilter?: string[]): SearchHit | undefined {
  const parsed = hitSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`unexpected Typesense hit: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
  const { document: d, highlight, vector_distance, hybrid_search_info, text_match } = parsed.data;
  if (d.tenant !== tenant) return undefined;
  if (urlPrefixesFilter && !urlPrefixesFilter.some((p) => d.url.startsWith(p))) return undefined;
  const snippet = highlight?.content?.snippet;
  return {
    chunkId: d.chunk_id,
    score: hybrid_search_info?.rank_fusion_score ?? (vector_distance !== undefined ? 1 - vector_distance / 2 : (text_match ?? 0)),
    url: d.url,
    title: d.title,
    headingPath: d.heading_path,
    snippet: snippet && snippet.includes(MARK_START) ? renderSnippet(snippet) : leadSnippet(d.content),
    content: d.content,
    category: d.category,
    jobId: d.job_id,
  };
}

export class TypesenseSearchIndex implements SearchIndex {
  readonly kind = 'typesense' as const;
  readonly dimension: number;
  readonly #client: Client;
  readonly #collection: string;
  /** Per (tenant, url): the replacement in flight, so the next one waits for it. */
  readonly #pages = new Map<string, Promise<void>>();

  constructor(
    settings: TypesenseSettings,
    private readonly logger: Logger,
    options: { dimension: number },
  ) {
    if (!Number.isInteger(options.dimension) || options.dimension < 1) throw new SearchInputError(`dimension must be a positive whole number (got ${options.dimension})`);
    this.dimension = options.dimension;
    this.#collection = settings.collection;
    this.#client = new Client({
      nodes: [{ url: settings.url }],
      apiKey: settings.apiKey,
      connectionTimeoutSeconds: 10,
      numRetries: 2,
      logLevel: 'warn',
    });
  }

  async init(): Promise<void> {
    const schema = buildCollectionSchema(this.#collection, this.dimension);
    try {
      const existing = await this.#client.collections(this.#collection).retrieve();
      const embedding = existing.fields?.find((f) => f.name === 'embedding');
      if (embedding?.num_dim !== undefined && embedding.num_dim !== this.dimension) {
        throw new Error(`Typesense collection ${this.#collection} has ${embedding.num_dim}-dimensional embeddings, the model ${this.dimension}`);
      }
      const missing = schema.fields!.filter((f) => !existing.fields?.some((e) => e.name === f.name)).map((f) => f.name);
      if (missing.length > 0) throw new Error(`Typesense collection ${this.#collection} lacks fields ${missing.join(', ')}: drop it or choose another TYPESENSE_COLLECTION`);
    } catch (err) {
      if (!(err instanceof Errors.ObjectNotFound)) throw err;
      try {
        await this.#client.collections().create(schema);
      } catch (createErr) {
        // Another process created it between our look and our create.
        if (!(createErr instanceof Errors.ObjectAlreadyExists)) throw createErr;
      }
    }
    this.logger.info('search index: typesense', { collection: this.#collection, dimension: this.dimension });
  }

  async replacePage(tenant: string, url: string, chunks: IndexedChunk[], fence?: WriteFence): Promise<void> {
    checkTenant(tenant);
    const checked = checkPage(url, chunks, this.dimension);
    const key = `${tenant}\n${url}`;
    const previous = this.#pages.get(key) ?? Promise.resolve();
    // No transaction spans Typesense and the jobs table: the fence is checked just before the write.
    const run = previous.catch(() => {}).then(async () => {
      await fence?.();
      await this.#replace(tenant, url, checked);
    });
    this.#pages.set(key, run);
    try {
      await run;
    } finally {
      if (this.#pages.get(key) === run) this.#pages.delete(key);
    }
  }

  async #replace(tenant: string, url: string, chunks: IndexedChunk[]): Promise<void> {
    const version = randomBytes(8).toString('hex');
    const documents = this.#client.collections<ChunkDocument>(this.#collection).documents();
    if (chunks.length > 0) {
      try {
        await documents.import(chunks.map((c) => toDocument(tenant, c, version)), { action: 'upsert' });
      } catch (err) {
        if (err instanceof Errors.ImportError) {
          const failed = err.importResults.find((r) => !r.success);
          throw new Error(`Typesense refused ${err.importResults.filter((r) => !r.success).length} of ${chunks.length} chunks of ${url}: ${failed?.error ?? err.message}`, { cause: err });
        }
        throw err;
      }
    }
    // The new set is in place; now the page's older documents go.
    await documents.delete({ filter_by: `tenant_key:=${filterKey(tenant)} && url_key:=${filterKey(url)} && page_version:!=${version}` });
  }

  async removeJobs(jobIds: string[]): Promise<number> {
    if (jobIds.length === 0) return 0;
    const documents = this.#client.collections<ChunkDocument>(this.#collection).documents();
    let count = 0;
    // The filter travels in the URL: a hundred keys at a time keeps it short.
    for (let i = 0; i < jobIds.length; i += 100) {
      const removed = (await documents.delete({ filter_by: oneOf('job_key', jobIds.slice(i, i + 100)) })) as { num_deleted?: number };
      count += removed.num_deleted ?? 0;
    }
    return count;
  }

  async search(tenant: string, query: SearchQuery): Promise<SearchHit[]> {
    checkTenant(tenant);
    const q = checkQuery(query, this.dimension);
    const { params, filter } = buildSearchParams(this.#collection, tenant, q);
    const response = (await this.#client.multiSearch.perform({ searches: [params] } as never, {})) as unknown as { results: unknown[] };
    const result = response.results[0] as { hits?: unknown[]; error?: string; code?: number } | undefined;
    if (!result || result.error !== undefined) throw new Error(`Typesense search failed: ${result?.error ?? 'no result'} (${result?.code ?? '?'})`);
    const hits: SearchHit[] = [];
    for (const raw of result.hits ?? []) {
      const hit = mapHit(raw, tenant, filter.urlPrefixes);
      if (hit) hits.push(hit);
      if (hits.length === q.limit) break;
    }
    return hits;
  }

  async close(): Promise<void> {
    // The client holds no connection between requests.
  }
}
