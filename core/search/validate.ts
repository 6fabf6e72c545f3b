// The edge of the search index: what callers hand to replacePage and search is
// checked here, once, for every backend.
import { z } from 'zod';
import type { IndexedChunk, SearchQuery } from './types.js';

export const MAX_LIMIT = 100;
const MAX_FILTER_VALUES = 100;
const MAX_QUERY_CHARS = 2000;

export class SearchInputError extends Error {
  override name = 'SearchInputError';
}

const tenantSchema = z.string().min(1).max(200);

const filterList = z.array(z.string().min(1).max(2048)).max(MAX_FILTER_VALUES).optional();

const querySchema = z.object({
  text: z.string().max(MAX_QUERY_CHARS),
  embedding: z.instanceof(Float32Array),
  limit: z.number().int().min(1).max(MAX_LIMIT),
  filters: z.object({ categories: filterList, urlPrefixes: filterList, jobIds: filterList }).optional(),
});

const chunkSchema = z.object({
  id: z.string().min(1).max(512),
  jobId: z.string().min(1).max(200),
  url: z.string().min(1).max(8192),
  title: z.string(),
  headingPath: z.array(z.string()),
  content: z.string(),
  category: z.string().max(200),
  position: z.number().int().min(0).max(2 ** 31 - 1),
  embedding: z.instanceof(Float32Array),
});

function fail(what: string, error: z.ZodError): never {
  throw new SearchInputError(`${what}: ${error.issues.map((i) => `${i.path.join('.') || '(value)'} ${i.message}`).join('; ')}`);
}

/** The vector scaled to length 1 (cosine = dot product downstream); throws on a wrong length, NaN or zero vector. */
export function unitVector(v: Float32Array, dimension: number, what: string): Float32Array {
  if (v.length !== dimension) throw new SearchInputError(`${what}: embedding has ${v.length} dimensions, the index has ${dimension}`);
  let sum = 0;
  for (const x of v) sum += x * x;
  if (!Number.isFinite(sum) || sum === 0) throw new SearchInputError(`${what}: embedding must be finite and non-zero`);
  const norm = Math.sqrt(sum);
  return Math.abs(norm - 1) < 1e-6 ? v : v.map((x) => x / norm);
}

export interface NormalisedFilters {
  /** Undefined = no filter on that field. An empty list counts as no filter. */
  categories?: string[];
  urlPrefixes?: string[];
  jobIds?: string[];
}

export interface NormalisedQuery {
  text: string;
  embedding: Float32Array;
  limit: number;
  filters: NormalisedFilters;
}

export function checkTenant(tenant: string): string {
  const parsed = tenantSchema.safeParse(tenant);
  if (!parsed.success) fail('tenant', parsed.error);
  return parsed.data;
}

export function checkQuery(query: SearchQuery, dimension: number): NormalisedQuery {
  const parsed = querySchema.safeParse(query);
  if (!parsed.success) fail('search query', parsed.error);
  const q = parsed.data;
  const nonEmpty = (list: string[] | undefined) => (list && list.length > 0 ? [...new Set(list)] : undefined);
  return {
    text: q.text.trim(),
    embedding: unitVector(q.embedding, dimension, 'search query'),
    limit: q.limit,
    filters: {
      categories: nonEmpty(q.filters?.categories),
      urlPrefixes: nonEmpty(q.filters?.urlPrefixes),
      jobIds: nonEmpty(q.filters?.jobIds),
    },
  };
}

/** Checks every chunk belongs to `url`, ids are unique, vectors have the index's dimension; returns them with unit vectors. */
export function checkPage(url: string, chunks: IndexedChunk[], dimension: number): IndexedChunk[] {
  const seen = new Set<string>();
  return chunks.map((chunk, i) => {
    const parsed = chunkSchema.safeParse(chunk);
    if (!parsed.success) fail(`chunk ${i}`, parsed.error);
    if (chunk.url !== url) throw new SearchInputError(`chunk ${i}: url ${JSON.stringify(chunk.url)} is not the page's ${JSON.stringify(url)}`);
    if (seen.has(chunk.id)) throw new SearchInputError(`chunk ${i}: id ${JSON.stringify(chunk.id)} appears twice`);
    seen.add(chunk.id);
    return { ...chunk, embedding: unitVector(chunk.embedding, dimension, `chunk ${i}`) };
  });
}
