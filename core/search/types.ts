import type { Db } from '../platform/db.js';

/**
 * Throws unless the writer may still write (core/jobs/attemptFence.ts): called
 * with the write's own transaction where the index is in PostgreSQL, so the
 * check holds until the commit, and without one just before the write elsewhere.
 */
export type WriteFence = (tx?: Db) => Promise<void>;

/** One chunk of one page, ready for the index. Tenant = the API key's id. */
export interface IndexedChunk {
  /** Stable per (tenant, url, position): re-indexing a page overwrites by id. */
  id: string;
  jobId: string;
  url: string;
  title: string;
  /** Headings above the chunk, outermost first. */
  headingPath: string[];
  content: string;
  category: string;
  /** Order of the chunk within its page, from 0. */
  position: number;
  embedding: Float32Array;
}

export interface SearchFilters {
  categories?: string[];
  /** Only chunks whose url starts with one of these. */
  urlPrefixes?: string[];
  jobIds?: string[];
}

export interface SearchQuery {
  text: string;
  /** The query's embedding from the same model as the chunks. */
  embedding: Float32Array;
  limit: number;
  filters?: SearchFilters;
}

export interface SearchHit {
  chunkId: string;
  /** Higher is better; comparable only within one answer. */
  score: number;
  url: string;
  title: string;
  headingPath: string[];
  /** A short passage of the chunk around the query's words. */
  snippet: string;
  content: string;
  category: string;
  jobId: string;
}

/** The search index: Postgres by default, Typesense when configured. */
export interface SearchIndex {
  readonly kind: 'postgres' | 'typesense';
  /** Prepare storage (collection, extension detection); idempotent, called at start-up. */
  init(): Promise<void>;
  /**
   * Make `chunks` the only chunks of page `url` for `tenant`: earlier chunks of
   * that url (from any job) are removed, so re-extracting never duplicates.
   * With a fence, nothing is written unless it passes.
   */
  replacePage(tenant: string, url: string, chunks: IndexedChunk[], fence?: WriteFence): Promise<void>;
  /** Remove every chunk the given jobs produced (retention); returns how many went, when the index can tell. */
  removeJobs(jobIds: string[]): Promise<number>;
  /** Ranked hits for the tenant only; never another tenant's chunks. */
  search(tenant: string, query: SearchQuery): Promise<SearchHit[]>;
  close(): Promise<void>;
}
