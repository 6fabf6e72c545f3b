// The Postgres search index against the real embedded PostgreSQL (no pgvector
// there). Embeddings are synthetic, deterministic unit vectors: the index is
// tested on its own, independently of the embedding model, so "near" and
// "far" are exactly what each test says they are.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { parse } from 'libpg-query';
import { Writable } from 'node:stream';
import winston from 'winston';
import { createApiKey } from '../../core/apiKeys.js';
import { createSilentLogger } from '../../core/platform/logger.js';
import {
  buildSearchSql,
  countChunks,
  iterativeScanSupported,
  likePrefix,
  PostgresSearchIndex,
  pgvectorSetupSql,
} from '../../core/search/postgres.js';
import type { IndexedChunk, SearchQuery } from '../../core/search/types.js';
import { SearchInputError } from '../../core/search/validate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { chunk, nearby, unitVector } from './vectors.js';

const DIM = 384;

let db: TestDatabase;
let index: PostgresSearchIndex;
let tenantA: string;
let tenantB: string;
const logged: { level: string; message: string; vectorMode?: string }[] = [];

const capture = new Writable({
  write(line: Buffer, _encoding, next) {
    logged.push(JSON.parse(line.toString()));
    next();
  },
});

const query = (text: string, embedding: Float32Array, limit = 10, filters?: SearchQuery['filters']): SearchQuery => ({ text, embedding, limit, filters });

before(async () => {
  db = await createTestDatabase();
  tenantA = (await createApiKey(db.sql, 'tenant-a')).apiKey.id;
  tenantB = (await createApiKey(db.sql, 'tenant-b')).apiKey.id;
  index = new PostgresSearchIndex(db.sql, winston.createLogger({ format: winston.format.json(), transports: [new winston.transports.Stream({ stream: capture })] }), { dimension: DIM });
  await index.init();
});

describe('init', () => {
  test('reports pgvector as not available here and uses real[] vectors', () => {
    assert.equal(index.vectorMode, 'array');
    const line = logged.find((l) => l.message.startsWith('search index: postgres'));
    assert.ok(line, 'init logs its mode');
    assert.match(line.message, /pgvector not available/);
    assert.equal(line.vectorMode, 'array');
  });

  test('is idempotent', async () => {
    await index.init();
    await index.init();
    assert.equal(index.vectorMode, 'array');
  });

  test('the pgvector statements are valid PostgreSQL syntax (parsed by libpg-query; not executed: no pgvector here)', async () => {
    const { hybrid, vectorOnly } = buildSearchSql('pgvector');
    const all = { categories: true, urlPrefixes: true, jobIds: true };
    for (const text of [hybrid, vectorOnly, ...Object.values(buildSearchSql('pgvector', all)), ...pgvectorSetupSql(DIM)]) {
      const tree = await parse(text);
      assert.equal(tree.stmts?.length, 1);
    }
    assert.match(vectorOnly, /order by c\.embedding_vec <=> q\.vec/);
    assert.match(pgvectorSetupSql(DIM).join(';'), /vector\(384\).*using hnsw \(embedding_vec vector_cosine_ops\)/s);
    assert.equal(iterativeScanSupported('0.7.4'), false);
    assert.equal(iterativeScanSupported('0.8.0'), true);
  });
});

describe('search', () => {
  before(async () => {
    await index.replacePage(tenantA, 'https://ex.com/cats', [
      chunk('a-cats-0', 'https://ex.com/cats', 'Cats', 'Cats sleep most of the day and purr when content.', 1),
      chunk('a-cats-1', 'https://ex.com/cats', 'Cats', 'A cat grooms itself with a rough tongue.', 2),
    ]);
    await index.replacePage(tenantA, 'https://ex.com/dogs', [
      chunk('a-dogs-0', 'https://ex.com/dogs', 'Dogs', 'Dogs bark at the postman and fetch sticks.', 3),
    ]);
    await index.replacePage(tenantA, 'https://ex.com/boats', [
      chunk('a-boats-0', 'https://ex.com/boats', 'Boats', 'Sailing boats tack against the wind.', 4),
    ]);
  });

  test('a query whose words occur in one page ranks that page first', async () => {
    const hits = await index.search(tenantA, query('postman fetch', unitVector(99)));
    assert.equal(hits[0]?.url, 'https://ex.com/dogs');
    assert.equal(hits[0]?.chunkId, 'a-dogs-0');
    assert.ok(hits[0]!.score > 1, 'lexical matches score above 1');
    assert.ok(hits.slice(1).every((h) => h.score <= 1), 'the rest of the answer is filled by vectors, ranked below');
  });

  test('among lexical matches, the nearer vector ranks first', async () => {
    // Both cat chunks match "cat"; the query vector sits next to the second one.
    const hits = await index.search(tenantA, query('cat', nearby(2, 0.05), 2));
    assert.deepEqual(hits.map((h) => h.chunkId), ['a-cats-1', 'a-cats-0']);
  });

  test('with no lexical match, the nearest vector comes first', async () => {
    const hits = await index.search(tenantA, query('zyzzyva quokka', nearby(4, 0.1), 3));
    assert.equal(hits[0]?.chunkId, 'a-boats-0');
    assert.equal(hits.length, 3);
    assert.ok(hits[0]!.score >= hits[1]!.score && hits[1]!.score >= hits[2]!.score);
    // Stop words only: no lexemes at all, still an answer.
    const stop = await index.search(tenantA, query('the and of', nearby(3, 0.1), 1));
    assert.equal(stop[0]?.chunkId, 'a-dogs-0');
    const empty = await index.search(tenantA, query('', nearby(1, 0.1), 1));
    assert.equal(empty[0]?.chunkId, 'a-cats-0');
  });

  test('limit is respected', async () => {
    const url = 'https://ex.com/many';
    await index.replacePage(tenantA, url, Array.from({ length: 30 }, (_, i) => chunk(`many-${i}`, url, 'Many', `giraffe number ${i} is tall`, 100 + i)));
    const stored = await countChunks(db.sql, tenantA);
    for (const limit of [1, 5, 20, 100]) {
      const hits = await index.search(tenantA, query('giraffe', unitVector(7), limit));
      assert.equal(hits.length, Math.min(limit, stored), `limit ${limit}`);
      assert.ok(hits.slice(0, Math.min(limit, 30)).every((h) => h.chunkId.startsWith('many-')), 'the 30 giraffe chunks first');
      assert.equal(new Set(hits.map((h) => h.chunkId)).size, hits.length, 'no chunk twice');
    }
    await index.replacePage(tenantA, url, []);
  });

  test('filters: category, url prefix, job id', async () => {
    const page = (url: string, category: string, jobId: string, seed: number): IndexedChunk => ({
      ...chunk(`f-${seed}`, url, 'Filters', 'walrus tusks and whiskers', seed),
      category,
      jobId,
    });
    await index.replacePage(tenantA, 'https://f.com/docs/a', [page('https://f.com/docs/a', 'docs', 'job_1', 201)]);
    await index.replacePage(tenantA, 'https://f.com/blog/b', [page('https://f.com/blog/b', 'blog', 'job_2', 202)]);
    await index.replacePage(tenantA, 'https://f.com/do_s/c%', [page('https://f.com/do_s/c%', 'docs', 'job_3', 203)]);
    const ids = async (filters: SearchQuery['filters'], text = 'walrus') =>
      // Limit 3: the three walrus chunks fill it, so nothing else tops the answer up.
      (await index.search(tenantA, query(text, unitVector(200), 3, filters))).map((h) => h.chunkId).sort();

    assert.deepEqual(await ids({ categories: ['docs'] }), ['f-201', 'f-203']);
    assert.deepEqual(await ids({ categories: ['blog', 'none'] }), ['f-202']);
    assert.deepEqual(await ids({ urlPrefixes: ['https://f.com/docs/'] }), ['f-201']);
    // LIKE metacharacters in a prefix are literal: "do_s" must not match "docs".
    assert.deepEqual(await ids({ urlPrefixes: ['https://f.com/do_s'] }), ['f-203']);
    assert.deepEqual(await ids({ urlPrefixes: ['https://f.com/do_s/c%'] }), ['f-203']);
    assert.deepEqual(await ids({ urlPrefixes: ['https://f.com/docs/', 'https://f.com/blog/'] }), ['f-201', 'f-202']);
    assert.deepEqual(await ids({ jobIds: ['job_2', 'job_3'] }), ['f-202', 'f-203']);
    assert.deepEqual(await ids({ categories: ['docs'], jobIds: ['job_3'] }), ['f-203']);
    // An empty list is no filter; filters apply to the vector-only answer too.
    assert.deepEqual(await ids({ categories: [] }), ['f-201', 'f-202', 'f-203']);
    assert.deepEqual(await ids({ categories: ['blog'] }, 'nothing-matches-this'), ['f-202']);
    for (const url of ['https://f.com/docs/a', 'https://f.com/blog/b', 'https://f.com/do_s/c%']) await index.replacePage(tenantA, url, []);
  });

  test('snippet: the query word marked, the page text escaped, bounded', async () => {
    const url = 'https://ex.com/xss';
    const content = `${'Filler words before. '.repeat(20)}<script>alert("x")</script> The pangolin eats ants & termites. ${'Filler after. '.repeat(40)}`;
    await index.replacePage(tenantA, url, [chunk('xss-0', url, 'XSS <b>title</b>', content, 300)]);
    const [hit] = await index.search(tenantA, query('pangolin', unitVector(300), 1));
    assert.ok(hit);
    assert.match(hit.snippet, /<mark>pangolin<\/mark>/);
    // Page text that looks like markup stays text: escaped, never dropped or interpreted.
    assert.match(hit.snippet, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
    assert.match(hit.snippet, /ants &amp; termites/);
    assert.doesNotMatch(hit.snippet.replace(/<\/?mark>/g, ''), /[<>]/, 'no markup but <mark>');
    assert.ok(hit.snippet.replace(/<\/?mark>|&[a-z#0-9]+;/g, '.').length <= 302, `bounded: ${hit.snippet.length}`);
    assert.equal(hit.content, content, 'content itself is returned as stored');
    await index.replacePage(tenantA, url, []);
  });
});

describe('tenants', () => {
  test('tenant A never sees tenant B, for the same content and url', async () => {
    const url = 'https://shared.example/page';
    await index.replacePage(tenantA, url, [chunk('same-id', url, 'Shared', 'the okapi is a forest giraffe', 400)]);
    await index.replacePage(tenantB, url, [chunk('same-id', url, 'Shared', 'the okapi is a forest giraffe', 400)]);
    await index.replacePage(tenantB, 'https://b-only.example/', [chunk('b-only', 'https://b-only.example/', 'B', 'secret of tenant b', 401)]);

    for (const [text, vector] of [['okapi', unitVector(400)], ['secret tenant', unitVector(401)], ['', unitVector(401)]] as const) {
      const hitsA = await index.search(tenantA, query(text, vector, 100));
      assert.ok(hitsA.every((h) => h.chunkId !== 'b-only' && !h.content.includes('secret')), `A, "${text}"`);
      const hitsB = await index.search(tenantB, query(text, vector, 100));
      assert.deepEqual(hitsB.map((h) => h.chunkId).sort(), ['b-only', 'same-id'], `B sees exactly its two chunks, "${text}"`);
    }
    assert.equal(await countChunks(db.sql, tenantA, url), 1);
    assert.equal(await countChunks(db.sql, tenantB, url), 1);
    const unknown = await index.search('key_nobody', query('okapi', unitVector(400)));
    assert.deepEqual(unknown, []);
  });
});

describe('replacePage', () => {
  test('replaces: fewer chunks the second time, the old ones gone, no stale text findable', async () => {
    const url = 'https://ex.com/replaced';
    await index.replacePage(tenantA, url, [0, 1, 2].map((i) => chunk(`r1-${i}`, url, 'Old', `obsolete narwhal text ${i}`, 500 + i)));
    assert.equal(await countChunks(db.sql, tenantA, url), 3);
    await index.replacePage(tenantA, url, [chunk('r2-0', url, 'New', 'fresh beluga text', 510)]);
    assert.equal(await countChunks(db.sql, tenantA, url), 1);
    const stale = await index.search(tenantA, query('narwhal obsolete', unitVector(501), 100));
    assert.ok(stale.every((h) => !h.content.includes('narwhal') && !h.chunkId.startsWith('r1-')), 'no stale chunk');
    const fresh = await index.search(tenantA, query('beluga', unitVector(510), 1));
    assert.equal(fresh[0]?.chunkId, 'r2-0');
    await index.replacePage(tenantA, url, []);
    assert.equal(await countChunks(db.sql, tenantA, url), 0);
  });

  test('concurrent replacements of one url leave exactly one set', async () => {
    const url = 'https://ex.com/raced';
    for (let round = 0; round < 3; round++) {
      const sets = Array.from({ length: 6 }, (_, s) =>
        Array.from({ length: 2 + s * 3 }, (_, i) => chunk(`race${round}-s${s}-${i}`, url, 'Race', `set ${s} chunk ${i}`, 600 + s * 50 + i)),
      );
      await Promise.all(sets.map((set) => index.replacePage(tenantA, url, set)));
      const hits = await index.search(tenantA, query('', unitVector(1), 100, { urlPrefixes: [url] }));
      const survivors = new Set(hits.map((h) => h.chunkId.split('-')[1]));
      assert.equal(survivors.size, 1, `round ${round}: one set survives (${[...survivors]})`);
      const s = Number([...survivors][0]!.slice(1));
      assert.equal(hits.length, sets[s]!.length, 'the whole of that set');
      assert.equal(await countChunks(db.sql, tenantA, url), sets[s]!.length);
    }
  });

  test('rejects what the index cannot store faithfully', async () => {
    const url = 'https://ex.com/bad';
    await assert.rejects(index.replacePage(tenantA, url, [{ ...chunk('b', url, 'T', 'x', 1), embedding: new Float32Array(3) }]), SearchInputError);
    await assert.rejects(index.replacePage(tenantA, url, [chunk('b', 'https://other/', 'T', 'x', 1)]), SearchInputError);
    await assert.rejects(index.replacePage(tenantA, url, [chunk('b', url, 'T', 'x', 1), chunk('b', url, 'T', 'y', 2)]), SearchInputError);
    await assert.rejects(index.search(tenantA, query('x', new Float32Array(DIM))), SearchInputError, 'zero vector');
    await assert.rejects(index.search(tenantA, query('x', unitVector(1), 0)), SearchInputError);
    await assert.rejects(index.search(tenantA, query('x', unitVector(1), 101)), SearchInputError);
    // Not an API key id: the foreign key refuses it.
    await assert.rejects(index.replacePage('key_nobody', url, [chunk('b', url, 'T', 'x', 1)]));
    assert.equal(await countChunks(db.sql, tenantA, url), 0);
  });

  test('stores NUL-free text and unnormalised vectors as unit vectors', async () => {
    const url = 'https://ex.com/nul';
    const scaled = unitVector(700).map((x) => x * 7);
    await index.replacePage(tenantA, url, [{ ...chunk('nul', url, 'N\u0000UL', 'aardvark\u0000 burrow', 700), embedding: scaled }]);
    const [hit] = await index.search(tenantA, query('aardvark', unitVector(700), 1));
    assert.equal(hit?.title, 'NUL');
    assert.equal(hit?.content, 'aardvark burrow');
    // score = 1 + 0.5 × 1 (best text rank) + 0.5 × cosine 1
    assert.ok(Math.abs(hit!.score - 2) < 1e-4, `score ${hit?.score}`);
    await index.replacePage(tenantA, url, []);
  });
});

test('likePrefix escapes LIKE metacharacters', () => {
  assert.equal(likePrefix('a%b_c\\d'), 'a\\%b\\_c\\\\d%');
});

test('a silent logger is enough to construct and a bad dimension is refused', () => {
  assert.throws(() => new PostgresSearchIndex(db.sql, createSilentLogger(), { dimension: 0 }), SearchInputError);
});
