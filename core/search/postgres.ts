// The search index on PostgreSQL (table `chunks`, sql/migrations/005_chunks.sql).
// Every SQL text that touches that table lives in this module.
//
// Ranking (hybrid): the query's words select candidates by full text
// (websearch_to_tsquery, the tenant's best K = max(50, 5 × limit) by
// ts_rank_cd with normalisation 32, i.e. rank / (rank + 1)); each candidate is
// then scored
//
//   fused = 0.5 × text_rank / max(text_rank over the candidates) + 0.5 × max(cosine, 0)
//
// (a weighted sum of the text rank, scaled to [0, 1] within the answer, and the
// cosine similarity of the chunk's vector to the query's), and the best `limit`
// are returned with score 1 + fused. When fewer than `limit` chunks match the
// words (none at all, or a few), the rest of the answer is the nearest vectors
// within the tenant, score (1 + cosine) / 2, so they always rank below the
// lexical matches.
//
// Vectors: with pgvector (detected at init()), a generated vector(dim) column
// with an HNSW index (cosine) serves the nearest-vector search. Without it,
// vectors are real[] and an exact scan does not scale: a dot product in SQL
// costs ~80-130 µs a row here (1.7 s for a 20k-chunk tenant). So the tenant's
// chunks are ranked by the Hamming distance of their 1-bit-per-dimension
// signatures (a generated column; bit_count of an XOR is a C loop, ~1 µs a
// row) and only the best max(200, 20 × limit) are re-scored by the exact dot
// product. That is exact for a tenant with no more chunks than that and
// approximate above it (recall measured by `npm run bench:search`); it still
// reads every chunk of the tenant, so its cost grows linearly with the
// tenant's size. Past a few hundred thousand chunks per tenant, install
// pgvector (picked up at the next start) or use Typesense.
//
// Snippets: ts_headline around the query's words, rendered by snippet.ts
// (escaped text, <mark> the only markup, at most 300 characters).
import type { Sql } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { GT, LT, MARK_END, MARK_START, leadSnippet, renderSnippet } from './snippet.js';
import type { IndexedChunk, SearchHit, SearchIndex, SearchQuery, WriteFence } from './types.js';
import { checkPage, checkQuery, checkTenant, type NormalisedFilters, SearchInputError } from './validate.js';

export type VectorMode = 'pgvector' | 'array';

export const TEXT_WEIGHT = 0.5;
export const VECTOR_WEIGHT = 0.5;
/** Rows per INSERT statement in replacePage. */
const INSERT_BATCH = 200;
/** First key of the two-key advisory locks that serialise replacePage per (tenant, url). */
const PAGE_LOCK_CLASS = 0x676c6e;
/** Serialises init()'s schema changes across processes starting together. */
const SETUP_LOCK = [PAGE_LOCK_CLASS, 0] as const;

/** Search statements are prepared once per connection and text (one text per filter combination and mode). */
const PREPARED = { prepare: true } as const;

/** Full-text candidates re-ranked per query. */
export const textCandidates = (limit: number) => Math.min(500, Math.max(50, limit * 5));
/** Chunks re-scored exactly after the signature pre-ranking (array mode). */
export const signatureCandidates = (limit: number) => Math.max(200, limit * 20);

// ts_headline: plain words around the matches, marks as sentinels that
// renderSnippet turns into <mark> after escaping everything else.
const HEADLINE_OPTIONS = `StartSel=${MARK_START}, StopSel=${MARK_END}, MaxWords=35, MinWords=12, ShortWord=2, MaxFragments=2, FragmentDelimiter=" … "`;

/** Which filters a statement applies; absent ones still take their (null) parameter. */
export interface FilterSet {
  categories: boolean;
  urlPrefixes: boolean;
  jobIds: boolean;
}

export const NO_FILTERS: FilterSet = { categories: false, urlPrefixes: false, jobIds: false };

// One statement text per combination of filters rather than "$n is null or
// column = …": a column named anywhere in the query rules out an index-only
// scan, and the signature pre-ranking without a url filter is one
// (chunks_signatures covers tenant, id, signature, category and job id).
const filterSql = (f: FilterSet, categories: number, urlPatterns: number, jobIds: number) => `
    and ${f.categories ? `c.category = any($${categories}::text[])` : `$${categories}::text[] is null`}
    and ${f.urlPrefixes ? `c.url like any($${urlPatterns}::text[])` : `$${urlPatterns}::text[] is null`}
    and ${f.jobIds ? `c.job_id = any($${jobIds}::text[])` : `$${jobIds}::text[] is null`}`;

const HIT_COLUMNS = 'id, url, title, heading_path, content, category, job_id';

export interface SearchSql {
  /** $1 tenant, $2 text, $3 embedding, $4 candidates, $5 limit, $6 categories, $7 url patterns, $8 job ids. */
  hybrid: string;
  /**
   * $1 tenant, $2 embedding, $3 rows, $4 categories, $5 url patterns, $6 job ids, $7 ids to leave out;
   * pgvector: the nearest $3 with their distance; array: of the $3 best by signature, the $8 nearest.
   */
  vectorOnly: string;
}

/** The two search statements for a vector mode (exported so tests can run or parse each variant). */
export function buildSearchSql(mode: VectorMode, filters: FilterSet = NO_FILTERS): SearchSql {
  const queryVector = mode === 'pgvector' ? ', $3::real[]::vector as vec' : '';
  const cosine =
    mode === 'pgvector'
      ? '(1 - (c.embedding_vec <=> q.vec))::float8'
      : // Subscripts over generate_series: ~40 % cheaper than unnest(a, b) here.
        '(select sum(c.embedding[i] * q.emb[i]) from generate_series(1, cardinality(q.emb)) as i)::float8';
  const hybrid = `
with q as (select websearch_to_tsquery('english', $2) as tsq, $3::real[] as emb${queryVector}),
candidates as (
  select c.id, ts_rank_cd(c.tsv, q.tsq, 32)::float8 as text_rank
  from chunks c cross join q
  where c.api_key_id = $1 and c.tsv @@ q.tsq${filterSql(filters, 6, 7, 8)}
  order by text_rank desc, c.id
  limit $4
),
scored as materialized (
  -- materialized: the cosine is computed once per candidate, not once per reference
  select c.id, c.url, c.title, c.heading_path, c.content, c.category, c.job_id, k.text_rank, ${cosine} as cosine
  from candidates k join chunks c on c.api_key_id = $1 and c.id = k.id cross join q
),
fused as (
  select s.*, coalesce(${TEXT_WEIGHT} * s.text_rank / nullif(max(s.text_rank) over (), 0), 0)
              + ${VECTOR_WEIGHT} * greatest(s.cosine, 0) as fused
  from scored s
  order by fused desc, s.id
  limit $5
)
select f.${HIT_COLUMNS.replaceAll(', ', ', f.')}, f.cosine, 1 + f.fused as score,
       ts_headline('english', replace(replace(f.content, '<', '${LT}'), '>', '${GT}'), q.tsq, '${HEADLINE_OPTIONS}') as headline
from fused f cross join q
order by score desc, f.id`;

  // Nearest vectors: pgvector orders by the HNSW index; the array mode
  // pre-ranks by signature and re-scores the candidates exactly in SQL
  // (shipping their vectors to JavaScript instead cost 2-3× more: 77k floats
  // to print and parse for 200 candidates).
  const vectorOnly =
    mode === 'pgvector'
      ? `
with q as (select $2::real[]::vector as vec)
select c.${HIT_COLUMNS.replaceAll(', ', ', c.')}, (c.embedding_vec <=> q.vec)::float8 as distance
from chunks c cross join q
where c.api_key_id = $1${filterSql(filters, 4, 5, 6)}
  and ($7::text[] is null or c.id <> all($7::text[]))
order by c.embedding_vec <=> q.vec
limit $3`
      : `
with q as (select $2::real[] as emb, chunk_embedding_sign($2::real[]) as sign),
candidates as (
  select c.id
  from chunks c cross join q
  where c.api_key_id = $1${filterSql(filters, 4, 5, 6)}
    and ($7::text[] is null or c.id <> all($7::text[]))
    and bit_length(c.embedding_sign) = bit_length(q.sign)
  order by bit_count(c.embedding_sign # q.sign), c.id
  limit $3
),
scored as materialized (
  select c.${HIT_COLUMNS.replaceAll(', ', ', c.')}, ${cosine} as cosine
  from candidates k join chunks c on c.api_key_id = $1 and c.id = k.id cross join q
)
select ${HIT_COLUMNS}, cosine, (1 + cosine) / 2 as score
from scored
order by cosine desc, id
limit $8`;
  return { hybrid, vectorOnly };
}

/** Statements init() runs, under a lock, when pgvector is there (exported for the syntax check). */
export function pgvectorSetupSql(dimension: number): string[] {
  return [
    `alter table chunks add column if not exists embedding_vec vector(${dimension}) generated always as (embedding::vector(${dimension})) stored`,
    'create index if not exists chunks_embedding_hnsw on chunks using hnsw (embedding_vec vector_cosine_ops)',
  ];
}

/** A LIKE pattern matching every string that starts with `prefix`. */
export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** PostgreSQL text cannot hold NUL. */
const clean = (s: string) => (s.includes('\u0000') ? s.replaceAll('\u0000', '') : s);

interface HitRow {
  id: string;
  url: string;
  title: string;
  heading_path: string[];
  content: string;
  category: string;
  job_id: string;
  cosine: number;
  score: number;
  headline?: string;
}

function toHit(row: HitRow): SearchHit {
  return {
    chunkId: row.id,
    score: Number(row.score),
    url: row.url,
    title: row.title,
    headingPath: row.heading_path,
    snippet: row.headline !== undefined ? renderSnippet(row.headline) : leadSnippet(row.content),
    content: row.content,
    category: row.category,
    jobId: row.job_id,
  };
}

export interface PostgresSearchOptions {
  /** Length of every embedding (384 for MiniLM-L6-v2). */
  dimension: number;
}

export class PostgresSearchIndex implements SearchIndex {
  readonly kind = 'postgres' as const;
  readonly dimension: number;
  #mode: VectorMode = 'array';
  #pgvectorVersion: string | undefined;
  /** Statement texts per filter combination, for the current mode. */
  #statements = new Map<string, SearchSql>();

  constructor(
    private readonly sql: Sql,
    private readonly logger: Logger,
    options: PostgresSearchOptions,
  ) {
    if (!Number.isInteger(options.dimension) || options.dimension < 1 || options.dimension > 16000) {
      throw new SearchInputError(`dimension must be a whole number from 1 to 16000 (got ${options.dimension})`);
    }
    this.dimension = options.dimension;
  }

  /** 'pgvector' (HNSW) or 'array' (real[] with signature pre-ranking); settled by init(). */
  get vectorMode(): VectorMode {
    return this.#mode;
  }

  async init(): Promise<void> {
    const [available] = await this.sql<{ default_version: string; installed_version: string | null }[]>`
      select default_version, installed_version from pg_available_extensions where name = 'vector'`;
    if (!available) {
      this.#use('array');
      this.logger.info('search index: postgres; pgvector not available, vectors as real[] (signature pre-ranking, exact re-scoring)', { vectorMode: 'array' });
      return;
    }
    try {
      await this.sql.begin(async (tx) => {
        // Building the HNSW index over existing chunks may outlast DATABASE_STATEMENT_TIMEOUT.
        await tx`set local statement_timeout = 0`;
        await tx`select pg_advisory_xact_lock(${SETUP_LOCK[0]}, ${SETUP_LOCK[1]})`;
        await tx`create extension if not exists vector`;
        const [existing] = await tx<{ type: string }[]>`
          select format_type(atttypid, atttypmod) as type from pg_attribute
          where attrelid = 'chunks'::regclass and attname = 'embedding_vec' and not attisdropped`;
        if (existing && existing.type !== `vector(${this.dimension})`) {
          throw new Error(`chunks.embedding_vec is ${existing.type} but the embedding dimension is ${this.dimension}`);
        }
        for (const statement of pgvectorSetupSql(this.dimension)) await tx.unsafe(statement);
      });
    } catch (err) {
      // Typically: the role may not create extensions. The real[] path still works.
      if ((err as Error).message.startsWith('chunks.embedding_vec is')) throw err;
      this.#use('array');
      this.logger.warn('search index: postgres; pgvector is available but could not be set up, vectors as real[]', { error: err });
      return;
    }
    const [installed] = await this.sql<{ extversion: string }[]>`select extversion from pg_extension where extname = 'vector'`;
    this.#pgvectorVersion = installed?.extversion;
    this.#use('pgvector');
    this.logger.info('search index: postgres; pgvector HNSW (cosine) for vectors', { vectorMode: 'pgvector', pgvector: this.#pgvectorVersion });
  }

  #use(mode: VectorMode): void {
    this.#mode = mode;
    this.#statements.clear();
  }

  #sqlFor(filters: NormalisedFilters): SearchSql {
    const set = { categories: !!filters.categories, urlPrefixes: !!filters.urlPrefixes, jobIds: !!filters.jobIds };
    const key = `${+set.categories}${+set.urlPrefixes}${+set.jobIds}`;
    let found = this.#statements.get(key);
    if (!found) this.#statements.set(key, (found = buildSearchSql(this.#mode, set)));
    return found;
  }

  async replacePage(tenant: string, url: string, chunks: IndexedChunk[], fence?: WriteFence): Promise<void> {
    checkTenant(tenant);
    const rows = checkPage(url, chunks, this.dimension);
    await this.sql.begin(async (tx) => {
      // In this transaction: the writer's claim cannot end before the commit.
      await fence?.(tx);
      // Concurrent replacements of one page queue here, so each sees the
      // other's rows committed and deletes them: one set survives, never two.
      await tx`select pg_advisory_xact_lock(${PAGE_LOCK_CLASS}, hashtext(${tenant} || E'\n' || ${url}))`;
      await tx`delete from chunks where api_key_id = ${tenant} and url = ${url}`;
      for (let i = 0; i < rows.length; i += INSERT_BATCH) {
        const batch = rows.slice(i, i + INSERT_BATCH);
        // One statement per batch, whatever its size: columns travel as arrays,
        // the vectors as one flat real[] sliced per row (converting JSON
        // numbers to real[] cost 3× more on the server).
        const flat: number[] = [];
        for (const c of batch) for (const x of c.embedding) flat.push(x);
        await tx`
          insert into chunks (api_key_id, id, job_id, url, title, heading_path, content, category, position, embedding)
          select ${tenant}, r.id, r.job_id, ${url}, r.title,
                 array(select jsonb_array_elements_text(${tx.json(batch.map((c) => c.headingPath.map(clean)))}::jsonb -> (r.n - 1)::int)),
                 r.content, r.category, r.position,
                 (${flat}::real[])[(r.n - 1) * ${this.dimension} + 1 : r.n * ${this.dimension}]
          from unnest(${batch.map((c) => clean(c.id))}::text[], ${batch.map((c) => clean(c.jobId))}::text[], ${batch.map((c) => clean(c.title))}::text[],
                      ${batch.map((c) => clean(c.content))}::text[], ${batch.map((c) => clean(c.category))}::text[], ${batch.map((c) => c.position)}::int[])
            with ordinality as r(id, job_id, title, content, category, position, n)`;
      }
    });
  }

  async removeJobs(jobIds: string[]): Promise<number> {
    if (jobIds.length === 0) return 0;
    // chunks_by_job (migration 011).
    const removed = await this.sql`delete from chunks where job_id = any(${jobIds}::text[])`;
    return removed.count;
  }

  async search(tenant: string, query: SearchQuery): Promise<SearchHit[]> {
    checkTenant(tenant);
    const q = checkQuery(query, this.dimension);
    const embedding = Array.from(q.embedding);
    const filters = filterParams(q.filters);
    const statements = this.#sqlFor(q.filters);
    let lexical: HitRow[] = [];
    if (q.text !== '') {
      lexical = await this.sql.unsafe<HitRow[]>(statements.hybrid, [tenant, q.text, embedding, textCandidates(q.limit), q.limit, ...filters], PREPARED);
    }
    const missing = q.limit - lexical.length;
    if (missing === 0) return lexical.map(toHit);
    const nearest = await this.#nearest(statements.vectorOnly, tenant, embedding, missing, filters, lexical.map((r) => r.id));
    return [...lexical, ...nearest].map(toHit);
  }

  async #nearest(statement: string, tenant: string, embedding: number[], limit: number, filters: (string[] | null)[], exclude: string[]): Promise<HitRow[]> {
    const excluded = exclude.length > 0 ? exclude : null;
    if (this.#mode === 'array') {
      return this.sql.unsafe<HitRow[]>(statement, [tenant, embedding, signatureCandidates(limit), ...filters, excluded, limit], PREPARED);
    }
    // HNSW with a tenant filter: the index yields ef_search neighbours before
    // the filter, so ask for enough and, from pgvector 0.8, let it keep scanning
    // (relaxed order: re-sorted here).
    const rows = await this.sql.begin(async (tx) => {
      await tx`select set_config('hnsw.ef_search', ${String(Math.min(1000, Math.max(100, limit * 4)))}, true)`;
      if (iterativeScanSupported(this.#pgvectorVersion)) await tx`select set_config('hnsw.iterative_scan', 'relaxed_order', true)`;
      return tx.unsafe<(Omit<HitRow, 'cosine' | 'score'> & { distance: number })[]>(statement, [tenant, embedding, limit, ...filters, excluded], PREPARED);
    });
    return rows
      .map(({ distance, ...row }) => ({ ...row, cosine: 1 - distance, score: (2 - distance) / 2 }))
      .sort((a, b) => b.cosine - a.cosine || (a.id < b.id ? -1 : 1));
  }

  async close(): Promise<void> {
    // The connection pool belongs to the caller.
  }
}

function filterParams(f: NormalisedFilters): (string[] | null)[] {
  return [f.categories ?? null, f.urlPrefixes?.map(likePrefix) ?? null, f.jobIds ?? null];
}

/** hnsw.iterative_scan arrived in pgvector 0.8.0. */
export function iterativeScanSupported(version: string | undefined): boolean {
  const [major = 0, minor = 0] = (version ?? '0.0').split('.').map(Number);
  return major > 0 || minor >= 8;
}

/** Chunks stored for a tenant (and page): for tests, benchmarks and operators. */
export async function countChunks(sql: Sql, tenant: string, url?: string): Promise<number> {
  const [row] = url === undefined
    ? await sql<{ n: number }[]>`select count(*)::int as n from chunks where api_key_id = ${tenant}`
    : await sql<{ n: number }[]>`select count(*)::int as n from chunks where api_key_id = ${tenant} and url = ${url}`;
  return row!.n;
}

/** Refresh the planner's statistics after a bulk load (benchmarks). */
export async function analyzeChunks(sql: Sql): Promise<void> {
  await sql`vacuum analyze chunks`;
}
