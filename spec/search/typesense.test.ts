// The Typesense adapter: its pure parts (schema, documents, filters, search
// parameters, hits) without a server, and a contract test against a live
// server when TYPESENSE_URL and TYPESENSE_API_KEY are set (none can be
// installed on the development machine, so it is skipped there).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { Client } from 'typesense';
import type { Sql } from '../../core/platform/db.js';
import { createSilentLogger } from '../../core/platform/logger.js';
import { createSearchIndex } from '../../core/search/index.js';
import { MARK_END, MARK_START } from '../../core/search/snippet.js';
import {
  buildCollectionSchema,
  buildFilter,
  buildSearchParams,
  documentId,
  filterKey,
  mapHit,
  prefixCondition,
  toDocument,
  TypesenseSearchIndex,
  urlPrefixes,
  VECTOR_ALPHA,
} from '../../core/search/typesense.js';
import type { SearchQuery } from '../../core/search/types.js';
import { checkQuery } from '../../core/search/validate.js';
import { chunk, nearby, unitVector } from './vectors.js';

const DIM = 384;
const HEX_ONLY_FILTER = /^[a-z_]+:=(?:[0-9a-f]{32}|\[[0-9a-f]{32}(?:,[0-9a-f]{32})*\])(?: && [a-z_]+:=(?:[0-9a-f]{32}|\[[0-9a-f]{32}(?:,[0-9a-f]{32})*\]))*$/;

test('createSearchIndex: Typesense when configured, else Postgres (nothing connects before init)', () => {
  const sql = {} as Sql;
  const logger = createSilentLogger();
  assert.equal(createSearchIndex({ typesense: undefined }, sql, logger, DIM).kind, 'postgres');
  const typesense = { url: 'http://127.0.0.1:1', apiKey: 'k', collection: 'c' };
  assert.equal(createSearchIndex({ typesense }, sql, logger, DIM).kind, 'typesense');
});

describe('collection schema', () => {
  test('fields, facets, the vector field and its dimension', () => {
    const schema = buildCollectionSchema('chunks_x', DIM);
    assert.equal(schema.name, 'chunks_x');
    const field = (name: string) => schema.fields!.find((f) => f.name === name);
    assert.deepEqual(field('embedding'), { name: 'embedding', type: 'float[]', num_dim: DIM, vec_dist: 'cosine' });
    assert.equal(field('tenant')?.facet, true);
    assert.equal(field('category')?.facet, true);
    assert.equal(field('heading_path')?.type, 'string[]');
    assert.equal(field('position')?.type, 'int32');
    for (const key of ['tenant_key', 'job_key', 'url_key', 'category_key', 'page_version']) assert.equal(field(key)?.type, 'string', key);
    assert.equal(field('url_prefix_keys')?.type, 'string[]');
    // Stored for the hits, not indexed (Typesense requires optional for that).
    for (const stored of ['chunk_id', 'job_id', 'url']) assert.deepEqual([field(stored)?.index, field(stored)?.optional], [false, true], stored);
    assert.equal(field('id'), undefined, 'id is Typesense\'s own');
  });
});

describe('document mapping', () => {
  test('a chunk becomes a document keyed by (tenant, chunk id)', () => {
    const c = { ...chunk('c-1', 'https://Ex.com/docs/a?b=1', 'Title', 'Body', 1), category: 'Docs', jobId: 'job_X', position: 3 };
    const doc = toDocument('key_A', c, 'v1');
    assert.equal(doc.id, documentId('key_A', 'c-1'));
    assert.notEqual(doc.id, documentId('key_a', 'c-1'), 'tenants differing in case get different documents');
    assert.notEqual(doc.id, documentId('key_B', 'c-1'));
    assert.match(doc.id, /^[0-9a-f]{32}$/);
    assert.deepEqual(
      { chunk: doc.chunk_id, tenant: doc.tenant, job: doc.job_id, url: doc.url, title: doc.title, headings: doc.heading_path, category: doc.category, position: doc.position, version: doc.page_version },
      { chunk: 'c-1', tenant: 'key_A', job: 'job_X', url: 'https://Ex.com/docs/a?b=1', title: 'Title', headings: ['Title', 'Section'], category: 'Docs', position: 3, version: 'v1' },
    );
    assert.equal(doc.tenant_key, filterKey('key_A'));
    assert.equal(doc.category_key, filterKey('Docs'));
    assert.equal(doc.job_key, filterKey('job_X'));
    assert.equal(doc.url_key, filterKey('https://Ex.com/docs/a?b=1'));
    assert.equal(doc.embedding.length, DIM);
    assert.ok(Array.isArray(doc.embedding) && typeof doc.embedding[0] === 'number');
    assert.deepEqual(doc.url_prefix_keys, urlPrefixes(doc.url).map(filterKey));
  });

  test('url prefixes: every prefix of the origin, every prefix ending in /', () => {
    assert.deepEqual(urlPrefixes('https://ab.c/d/e?f=/g'), [
      'https://a', 'https://ab', 'https://ab.', 'https://ab.c',
      'https:/', 'https://', 'https://ab.c/', 'https://ab.c/d/', 'https://ab.c/d/e?f=/',
    ]);
    assert.deepEqual(urlPrefixes('no-scheme/x'), ['no-scheme/']);
  });

  test('a prefix condition holds for every url that starts with the prefix, and is exact when it says so', () => {
    const url = fc.stringMatching(/^(https?:\/\/)?[a-z.]{0,6}(\/[a-z?=]{0,3}){0,3}$/);
    fc.assert(
      fc.property(url, url, fc.nat(), (u, other, cut) => {
        const prefix = u.slice(0, cut % (u.length + 1));
        const condition = prefixCondition(prefix);
        if (!condition) return !prefix.includes('/') && !(prefix.includes('://') && prefix.length > prefix.indexOf('://') + 3);
        assert.ok(urlPrefixes(u).includes(condition.indexed), `${u} starts with ${prefix}: ${condition.indexed} must be indexed`);
        if (condition.exact) assert.equal(urlPrefixes(other).includes(condition.indexed), other.startsWith(prefix), `${other} vs ${prefix}`);
        return true;
      }),
      { numRuns: 2000 },
    );
  });
});

describe('filters', () => {
  const filters = (f: SearchQuery['filters']) => checkQuery({ text: '', embedding: unitVector(1), limit: 10, filters: f }, DIM).filters;

  test('the tenant always, first; only hex keys, whatever the values hold', () => {
    assert.equal(buildFilter('key_A', filters(undefined)).filterBy, `tenant_key:=${filterKey('key_A')}`);
    const nasty = ['a`b', 'x && tenant_key:=y', 'c) || (d', '`', 'Ünïcödé, with comma'];
    const built = buildFilter('key_A`) || true', filters({ categories: nasty, jobIds: nasty, urlPrefixes: ['https://e.com/`&&/'] }));
    assert.match(built.filterBy, HEX_ONLY_FILTER);
    assert.ok(built.filterBy.startsWith(`tenant_key:=${filterKey('key_A`) || true')} && `));
    assert.match(built.filterBy, /category_key:=\[/);
    assert.match(built.filterBy, /job_key:=\[/);
    assert.match(built.filterBy, /url_prefix_keys:=\[/);
  });

  test('values that Typesense would fold together stay apart', () => {
    assert.notEqual(filterKey('key_Ab'), filterKey('key_ab'));
    assert.notEqual(filterKey('4.5'), filterKey('45'));
  });

  test('url prefixes: exact in Typesense, or narrowed there and finished on the hits', () => {
    const exact = buildFilter('t', filters({ urlPrefixes: ['https://e.com/docs/', 'https://e.co'] }));
    assert.equal(exact.urlPrefixes, undefined);
    assert.ok(exact.filterBy.includes(`url_prefix_keys:=[${filterKey('https://e.com/docs/')},${filterKey('https://e.co')}]`));
    const partial = buildFilter('t', filters({ urlPrefixes: ['https://e.com/do'] }));
    assert.deepEqual(partial.urlPrefixes, ['https://e.com/do']);
    assert.ok(partial.filterBy.includes(`url_prefix_keys:=[${filterKey('https://e.com/')}]`));
    const loose = buildFilter('t', filters({ urlPrefixes: ['http'] }));
    assert.equal(loose.filterBy, `tenant_key:=${filterKey('t')}`, 'nothing Typesense can narrow by');
    assert.deepEqual(loose.urlPrefixes, ['http']);
  });
});

describe('search parameters', () => {
  const q = (text: string, limit = 10, f?: SearchQuery['filters']) => checkQuery({ text, embedding: unitVector(2), limit, filters: f }, DIM);

  test('hybrid: q over the text fields, the query vector with alpha, tenant filter, no vectors back', () => {
    const { params } = buildSearchParams('coll', 'key_A', q('  how do cats purr  ', 7));
    assert.equal(params.collection, 'coll');
    assert.equal(params.q, 'how do cats purr');
    assert.equal(params.query_by, 'title,heading_path,content');
    assert.match(String(params.vector_query), new RegExp(`^embedding:\\(\\[-?[0-9.e-]+(,-?[0-9.e-]+){${DIM - 1}}\\], k: 50, alpha: ${VECTOR_ALPHA}\\)$`));
    assert.equal(params.filter_by, `tenant_key:=${filterKey('key_A')}`);
    assert.equal(params.per_page, 7);
    assert.equal(params.exclude_fields, 'embedding');
    assert.equal(params.highlight_start_tag, MARK_START);
    assert.equal(params.highlight_end_tag, MARK_END);
  });

  test('no text: the nearest vectors; a url post-filter fetches a larger page', () => {
    const { params } = buildSearchParams('coll', 'key_A', q('', 30, { urlPrefixes: ['https://e.com/x'] }));
    assert.equal(params.q, '*');
    assert.match(String(params.vector_query), /, k: 150\)$/);
    assert.equal(params.per_page, 150);
  });
});

describe('hit mapping', () => {
  const document = { tenant: 'key_A', chunk_id: 'c-1', url: 'https://e.com/a', title: 'T', heading_path: ['H'], content: 'The <b>cat</b> purrs.', category: 'docs', job_id: 'job_1', tenant_key: 'x' };

  test('hybrid hit: fusion score, snippet escaped with the marks', () => {
    const hit = mapHit(
      { document, highlight: { content: { snippet: `The <b>${MARK_START}cat${MARK_END}</b> purrs.` } }, text_match: 123, vector_distance: 0.2, hybrid_search_info: { rank_fusion_score: 0.8 } },
      'key_A',
    );
    assert.deepEqual(hit, {
      chunkId: 'c-1',
      score: 0.8,
      url: 'https://e.com/a',
      title: 'T',
      headingPath: ['H'],
      snippet: 'The &lt;b&gt;<mark>cat</mark>&lt;/b&gt; purrs.',
      content: 'The <b>cat</b> purrs.',
      category: 'docs',
      jobId: 'job_1',
    });
  });

  test('vector-only hit: 1 − distance / 2, the chunk\'s start as snippet', () => {
    const hit = mapHit({ document, highlight: {}, vector_distance: 0.5 }, 'key_A');
    assert.equal(hit?.score, 0.75);
    assert.equal(hit?.snippet, 'The &lt;b&gt;cat&lt;/b&gt; purrs.');
  });

  test('another tenant\'s document or a url outside the prefixes is dropped; a malformed hit is an error', () => {
    assert.equal(mapHit({ document, vector_distance: 0 }, 'key_a'), undefined);
    assert.equal(mapHit({ document, vector_distance: 0 }, 'key_A', ['https://e.com/b']), undefined);
    assert.ok(mapHit({ document, vector_distance: 0 }, 'key_A', ['https://x/', 'https://e.com/']));
    assert.throws(() => mapHit({ document: { ...document, chunk_id: undefined } }, 'key_A'), /unexpected Typesense hit/);
  });
});

describe('contract with a live Typesense server', () => {
  const url = process.env.TYPESENSE_URL;
  const apiKey = process.env.TYPESENSE_API_KEY;
  const collection = `gleaner_test_${process.pid}_${Date.now().toString(36)}`;
  let index: TypesenseSearchIndex | undefined;

  after(async () => {
    if (url && apiKey) await new Client({ nodes: [{ url }], apiKey }).collections(collection).delete().catch(() => {});
  });

  test('the adapter behaves like the Postgres index', async (t) => {
    if (!url || !apiKey) {
      t.skip('TYPESENSE_URL and TYPESENSE_API_KEY are not set: no Typesense server to test against');
      return;
    }
    index = new TypesenseSearchIndex({ url, apiKey, collection }, createSilentLogger(), { dimension: DIM });
    await index.init();
    await index.init(); // idempotent
    const search = (tenant: string, text: string, embedding: Float32Array, limit = 10, filters?: SearchQuery['filters']) =>
      index!.search(tenant, { text, embedding, limit, filters });

    await index.replacePage('key_A', 'https://ex.com/cats', [chunk('cats-0', 'https://ex.com/cats', 'Cats', 'Cats sleep and purr. <script>x</script>', 1)]);
    await index.replacePage('key_A', 'https://ex.com/dogs', [chunk('dogs-0', 'https://ex.com/dogs', 'Dogs', 'Dogs bark at the postman.', 2)]);
    await index.replacePage('key_a', 'https://ex.com/dogs', [chunk('dogs-0', 'https://ex.com/dogs', 'Dogs', 'Dogs bark at the postman.', 2)]);

    const hits = await search('key_A', 'postman', unitVector(50));
    assert.equal(hits[0]?.chunkId, 'dogs-0');
    assert.ok(hits.every((h) => ['cats-0', 'dogs-0'].includes(h.chunkId)));
    const nearest = await search('key_A', 'zyzzyva', nearby(1, 0.1), 1);
    assert.equal(nearest[0]?.chunkId, 'cats-0');
    const purr = await search('key_A', 'purr', unitVector(1), 1);
    assert.match(purr[0]!.snippet, /<mark>purr/);
    assert.doesNotMatch(purr[0]!.snippet.replace(/<\/?mark>/g, ''), /[<>]/);

    // key_a differs from key_A only in case: it sees only its own copy.
    const lower = await search('key_a', 'cats purr', unitVector(1), 10);
    assert.deepEqual(lower.map((h) => h.chunkId), ['dogs-0']);

    // Replace with fewer chunks: the old ones are gone.
    await index.replacePage('key_A', 'https://ex.com/cats', [chunk('cats-new', 'https://ex.com/cats', 'Cats', 'Kittens nap.', 3)]);
    const after = await search('key_A', 'purr', unitVector(1), 10);
    assert.ok(after.every((h) => h.chunkId !== 'cats-0'));
    // Concurrent replacements in one process: one set survives.
    await Promise.all([1, 2, 3].map((n) => index!.replacePage('key_A', 'https://ex.com/race', Array.from({ length: n }, (_, i) => chunk(`race-${n}-${i}`, 'https://ex.com/race', 'Race', `race ${n}`, 10 + i)))));
    const race = await search('key_A', '', unitVector(10), 10, { urlPrefixes: ['https://ex.com/race'] });
    assert.equal(new Set(race.map((h) => h.chunkId.split('-')[1])).size, 1);

    const filtered = await search('key_A', 'dogs', unitVector(2), 10, { urlPrefixes: ['https://ex.com/do'] });
    assert.deepEqual(filtered.map((h) => h.chunkId), ['dogs-0']);
    assert.deepEqual(await search('key_A', 'dogs', unitVector(2), 10, { categories: ['nope'] }), []);
  });
});
