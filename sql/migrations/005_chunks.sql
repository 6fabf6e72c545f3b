-- The search index's Postgres store: one row per chunk of an indexed page.
-- Every statement that reads or writes this table lives in
-- core/search/postgres.ts; the optional pgvector column and its HNSW index
-- are added there at start-up (init()), only where the extension exists.

-- to_tsvector is immutable but array_to_string is only stable, and a
-- generated column needs an immutable expression: joining text[] with a space
-- does not depend on any setting, so this wrapper may say so.
create function chunk_headings_text(headings text[]) returns text
  language sql immutable parallel safe
  return coalesce(array_to_string(headings, ' '), '');

-- One bit per dimension, set where the component is positive (binary
-- quantisation): the Hamming distance of two signatures roughly tracks the
-- angle between the vectors. Without pgvector, the vector-only search ranks a
-- tenant's chunks by it (bit_count(a # b), a C loop over 48 bytes) and
-- re-scores only the best few hundred by the exact dot product, which costs
-- ~80 µs a row in SQL. See core/search/postgres.ts.
create function chunk_embedding_sign(embedding real[]) returns varbit
  language sql immutable parallel safe
  return (select coalesce(string_agg(case when x > 0 then '1' else '0' end, '' order by i), '')
          from unnest(embedding) with ordinality as e(x, i))::varbit;

create table chunks (
  id            text not null,                 -- stable per (tenant, url, position), chosen by the indexer
  -- Keys are revoked, never deleted; the cascade only matters if one ever is.
  api_key_id    text not null references api_keys (id) on delete cascade,
  -- No foreign key to jobs: a page's chunks are the knowledge itself and
  -- outlive the job that fetched them (a later job of the same url replaces
  -- them, and a future purge of old job rows must not erase the index). The
  -- id records which job produced the current chunks.
  job_id        text not null,
  url           text not null,
  title         text not null default '',
  heading_path  text[] not null default '{}',
  content       text not null,
  category      text not null default '',
  position      integer not null check (position >= 0),
  -- Weights: the title (A) and headings (B) say what a chunk is about, more
  -- than any one word of its body (D).
  tsv           tsvector generated always as (
                  setweight(to_tsvector('english', title), 'A')
                  || setweight(to_tsvector('english', chunk_headings_text(heading_path)), 'B')
                  || setweight(to_tsvector('english', content), 'D')
                ) stored,
  -- L2-normalised on write, so a dot product is the cosine similarity.
  embedding     real[] not null,
  embedding_sign varbit generated always as (chunk_embedding_sign(embedding)) stored,
  created_at    timestamptz not null default now(),
  -- Ids are unique per tenant: two keys indexing the same page can never
  -- collide, whatever the id scheme.
  primary key (api_key_id, id)
);

-- Full-text candidates.
create index chunks_tsv on chunks using gin (tsv);
-- replacePage (tenant, url equality), the url-prefix filter (LIKE 'p%' needs
-- text_pattern_ops under a non-C collation) and, by its leading column, every
-- tenant-scoped scan (the exact vector scan without pgvector).
create index chunks_by_page on chunks (api_key_id, url text_pattern_ops);
-- The nearest-vector search without pgvector ranks every chunk of the tenant
-- by signature: this covering index lets it read ~100 bytes a chunk (an
-- index-only scan) instead of the whole row with its vector and text. The
-- category and job filters are covered too; a url filter reads the rows.
create index chunks_signatures on chunks (api_key_id) include (id, embedding_sign, category, job_id);
