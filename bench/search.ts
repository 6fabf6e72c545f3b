// `npm run bench:search [-- --sizes 20000,100000] [--noise 30000] [--queries 100]`
//
// Times the Postgres search index (core/search/postgres.ts) in a throw-away
// embedded PostgreSQL: one tenant grown to each size, plus `noise` chunks of
// three other tenants over the same vocabulary (so the full-text index holds
// other tenants' matches too). Reports, per size: hybrid search p50/p99 (two
// topic words, query vector near one chunk, limit 10), vector-only fallback
// p50/p99 (a word no chunk has), the fallback's recall@10 against an exact
// scan done here in JavaScript, and the seeding rate through replacePage.
//
// The corpus is synthetic: 200 topics, each with its own words and a centre
// vector; a chunk's vector is its topic's centre plus noise (cosine ≈ 0.6 to
// the centre), its 60 words 40 % topic words, 60 % a Zipf-distributed common
// vocabulary. Real MiniLM vectors are not uniformly spread either, but how the
// 1-bit signatures' recall compares on them is not measured here.
import { createApiKey } from '../core/apiKeys.js';
import { createSilentLogger } from '../core/platform/logger.js';
import { analyzeChunks, PostgresSearchIndex } from '../core/search/postgres.js';
import type { IndexedChunk } from '../core/search/types.js';
import { percentile, tempDatabase } from '../testing/tempDatabase.js';
import { mulberry32 } from '../testing/seededRandom.js';
import { benchOptions } from './options.js';

const USAGE = `usage: npm run bench:search -- [--sizes N,N] [--noise N] [--queries N]
  --sizes N,N   chunk counts of the measured tenant, ascending (default 20000,100000)
  --noise N     chunks of three other tenants (default 30000)
  --queries N   timed queries per kind and size, after 5 warm-ups (default 100)`;

const values = benchOptions(USAGE, {
  sizes: { type: 'string', default: '20000,100000' },
  noise: { type: 'string', default: '30000' },
  queries: { type: 'string', default: '100' },
});
const sizes = values.sizes.split(',').map(Number);
const noise = Number(values.noise);
const queries = Number(values.queries);
if (sizes.some((n) => !Number.isInteger(n) || n < 1) || [...sizes].sort((a, b) => a - b).join() !== sizes.join() || !(noise >= 0) || !(queries >= 1)) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}

const DIM = 384;
const TOPICS = 200;
const CHUNKS_PER_PAGE = 20;

// Deterministic randomness, so runs compare.
const rand = mulberry32(42);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const normalise = (v: Float32Array) => {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  return v.map((x) => x / n);
};
const around = (centre: Float32Array, spread: number) => normalise(centre.map((x) => x + spread * gauss()));

const syllables = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'po', 'da', 'fe', 'gu', 'hi', 'ju', 'ba'];
const word = (i: number) => {
  let w = '';
  for (let n = i + 17; n > 0; n = Math.floor(n / 16)) w += syllables[n % 16];
  return w;
};
const common = Array.from({ length: 5000 }, (_, i) => word(i));
const topicWords = Array.from({ length: TOPICS }, (_, t) => Array.from({ length: 20 }, (_, i) => `${word(10_000 + t * 20 + i)}x`));
const centres = Array.from({ length: TOPICS }, () => normalise(Float32Array.from({ length: DIM }, gauss)));
const zipf = () => common[Math.min(common.length - 1, Math.floor(Math.exp(rand() * Math.log(common.length))) - 1)]!;

interface Made {
  chunks: IndexedChunk[];
  topics: number[];
}

function makePage(tenant: string, page: number): Made {
  const url = `https://site${page % 97}.example/${tenant}/docs/${page}`;
  const topics: number[] = [];
  const chunks = Array.from({ length: CHUNKS_PER_PAGE }, (_, position) => {
    const topic = Math.floor(rand() * TOPICS);
    topics.push(topic);
    const words = Array.from({ length: 60 }, () => (rand() < 0.4 ? topicWords[topic]![Math.floor(rand() * 20)]! : zipf()));
    return {
      id: `${page}-${position}`,
      jobId: `job_${page}`,
      url,
      title: `Page ${page} ${topicWords[topic]![0]}`,
      headingPath: [`Section ${position % 4}`],
      content: words.join(' '),
      category: page % 3 === 0 ? 'docs' : 'blog',
      position,
      embedding: around(centres[topic]!, 0.07),
    };
  });
  return { chunks, topics };
}

const db = await tempDatabase();
try {
  const tenant = (await createApiKey(db.sql, 'measured')).apiKey.id;
  const others = await Promise.all([1, 2, 3].map(async (i) => (await createApiKey(db.sql, `noise-${i}`)).apiKey.id));
  const index = new PostgresSearchIndex(db.sql, createSilentLogger(), { dimension: DIM });
  await index.init();
  process.stdout.write(`vector mode: ${index.vectorMode}\n`);

  const seed = async (owner: string, fromPage: number, pages: number, keep?: IndexedChunk[]) => {
    const started = performance.now();
    for (let p = fromPage; p < fromPage + pages; p++) {
      const { chunks } = makePage(owner, p);
      await index.replacePage(owner, chunks[0]!.url, chunks);
      keep?.push(...chunks);
    }
    return ((pages * CHUNKS_PER_PAGE) / (performance.now() - started)) * 1000;
  };

  const noisePages = Math.ceil(noise / CHUNKS_PER_PAGE / others.length);
  for (const other of others) await seed(other, 0, noisePages);
  process.stdout.write(`noise: ${noisePages * CHUNKS_PER_PAGE * others.length} chunks in 3 other tenants\n`);

  const mine: IndexedChunk[] = [];
  const rows: string[] = [];
  let pages = 0;
  for (const size of sizes) {
    const add = Math.ceil(size / CHUNKS_PER_PAGE) - pages;
    const rate = await seed(tenant, pages, add, mine);
    pages += add;
    await analyzeChunks(db.sql);

    const time = async (make: (i: number) => { text: string; embedding: Float32Array }) => {
      const ms: number[] = [];
      for (let i = -5; i < queries; i++) {
        const q = make(i);
        const t = performance.now();
        const hits = await index.search(tenant, { ...q, limit: 10 });
        if (i >= 0) ms.push(performance.now() - t);
        if (hits.length !== 10) throw new Error(`expected 10 hits, got ${hits.length}`);
      }
      ms.sort((a, b) => a - b);
      return ms;
    };
    const target = (i: number) => mine[Math.floor(((i + 5) * 7919) % mine.length)]!;
    const hybrid = await time((i) => {
      const t = target(i);
      const topic = centres.findIndex((c) => dot(c, t.embedding) > 0.5);
      return { text: `${topicWords[topic]![i & 7]} ${topicWords[topic]![(i + 3) & 15]}`, embedding: around(t.embedding, 0.03) };
    });
    const vectorOnly = await time((i) => ({ text: 'qqqnothing', embedding: around(target(i).embedding, 0.03) }));

    // Recall@10 of the vector-only answer against an exact scan of the same chunks.
    let found = 0;
    const recallQueries = 20;
    for (let i = 0; i < recallQueries; i++) {
      const embedding = around(target(i * 13).embedding, 0.03);
      const exact = mine
        .map((c) => [dot(c.embedding, embedding), c.id] as const)
        .sort((a, b) => b[0] - a[0] || (a[1] < b[1] ? -1 : 1))
        .slice(0, 10)
        .map((x) => x[1]);
      const got = new Set((await index.search(tenant, { text: '', embedding, limit: 10 })).map((h) => h.chunkId));
      found += exact.filter((id) => got.has(id)).length;
    }
    rows.push(
      `| ${mine.length.toLocaleString('en')} | ${fmt(percentile(hybrid, 50))} | ${fmt(percentile(hybrid, 99))} | ${fmt(percentile(vectorOnly, 50))} | ${fmt(percentile(vectorOnly, 99))} | ${(found / (recallQueries * 10)).toFixed(2)} | ${Math.round(rate)} |`,
    );
    process.stdout.write(`${rows.at(-1)}\n`);
  }
  process.stdout.write(
    `\n${queries} queries each, limit 10, ${index.vectorMode} vectors, + ${(noisePages * CHUNKS_PER_PAGE * others.length).toLocaleString('en')} chunks of other tenants\n` +
      '| tenant chunks | hybrid p50 | hybrid p99 | vector-only p50 | vector-only p99 | vector-only recall@10 | seeding chunks/s |\n' +
      '| --- | --- | --- | --- | --- | --- | --- |\n' +
      `${rows.join('\n')}\n`,
  );
} finally {
  await db.close();
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function fmt(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}
