// The stand-in model generator and the embedder. The stand-in has random
// weights: these tests check shapes, plumbing and numerical invariants, never
// that similar texts get similar vectors.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, pbkdf2 } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type onnxProto from 'onnx-proto';
import { EmbeddingModelUnavailableError } from '../core/embeddings/errors.js';
import { coreOf, loadEmbedder } from '../core/embeddings/load.js';
import type { Embedder } from '../core/embeddings/types.js';
import { createSilentLogger } from '../core/platform/logger.js';
import { makePassages, rawOnnxVectors, watchEventLoop } from '../bench/embedding.js';
import { DEFAULT_SEED, ensureTestModel } from '../testing/testModel.js';
import { buildOnnxModel, decodeOnnxModel, OPSET } from '../testing/testModelGraph.js';
import { testConfig } from './helpers/config.js';

const logger = createSilentLogger();
const config = testConfig();
const modelDir = config.embedding.modelDir as string;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

// Words that are single tokens in the stand-in's vocabulary (checked below), so
// "the first N tokens" of a text made of them is exactly its first N words.
const WORDS = 'the house water light city music river garden paper money window story table street family school friend mountain summer market'.split(' ');
const wordText = (n: number) => Array.from({ length: n }, (_, i) => WORDS[i % WORDS.length]).join(' ');

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

before(async () => {
  // spec/run.ts has written it already; this covers a file run on its own.
  await ensureTestModel(modelDir);
});

describe('stand-in model generator', () => {
  test('the same seed gives the same bytes, another seed different ones', async () => {
    const onDisk = sha256(await fs.readFile(path.join(modelDir, 'onnx/model.onnx')));
    assert.equal(sha256(buildOnnxModel(DEFAULT_SEED)), onDisk);
    assert.notEqual(sha256(buildOnnxModel(DEFAULT_SEED + 1)), onDisk);
  });

  test('has all-MiniLM-L6-v2 architecture in opset ≤ 14 standard ops', async () => {
    const bytes = await fs.readFile(path.join(modelDir, 'onnx/model.onnx'));
    const mib = bytes.length / 2 ** 20;
    assert.ok(mib > 85 && mib < 87.5, `model.onnx is ${mib.toFixed(1)} MiB`);
    const model = decodeOnnxModel(bytes);
    assert.deepEqual(
      model.opsetImport.map((o) => [o.domain ?? '', Number(o.version)]),
      [['', OPSET]],
    );
    assert.ok(OPSET <= 14);
    const graph = model.graph as onnxProto.onnx.GraphProto;
    assert.ok(graph);
    const standard = new Set(['Add', 'Cast', 'Div', 'Erf', 'Gather', 'Identity', 'MatMul', 'Mul', 'ReduceMean', 'Reshape', 'Shape', 'Slice', 'Softmax', 'Sqrt', 'Sub', 'Transpose', 'Unsqueeze']);
    for (const node of graph.node) {
      assert.ok(standard.has(node.opType ?? ''), `unexpected op ${node.opType}`);
      assert.ok(!node.domain, `op ${node.opType} in domain ${node.domain}`);
    }

    const shape = (v: onnxProto.onnx.IValueInfoProto) =>
      v.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue)) ?? [];
    assert.deepEqual(
      graph.input.map((i) => [i.name, i.type?.tensorType?.elemType, shape(i)]),
      ['input_ids', 'attention_mask', 'token_type_ids'].map((n) => [n, 7 /* INT64 */, ['batch_size', 'sequence_length']]),
    );
    assert.deepEqual(
      graph.output.map((o) => [o.name, o.type?.tensorType?.elemType, shape(o)]),
      [['last_hidden_state', 1 /* FLOAT */, ['batch_size', 'sequence_length', 384]]],
    );

    const dims = new Map(graph.initializer.map((t) => [t.name as string, (t.dims ?? []).map(Number)]));
    assert.deepEqual(dims.get('embeddings.word_embeddings.weight'), [30522, 384]);
    assert.deepEqual(dims.get('embeddings.position_embeddings.weight'), [512, 384]);
    assert.deepEqual(dims.get('embeddings.token_type_embeddings.weight'), [2, 384]);
    for (let i = 0; i < 6; i++) {
      const p = `encoder.layer.${i}`;
      for (const part of ['self.query', 'self.key', 'self.value', 'output.dense']) assert.deepEqual(dims.get(`${p}.attention.${part}.weight`), [384, 384]);
      assert.deepEqual(dims.get(`${p}.intermediate.dense.weight`), [384, 1536]);
      assert.deepEqual(dims.get(`${p}.output.dense.weight`), [1536, 384]);
      assert.deepEqual(dims.get(`${p}.output.LayerNorm.weight`), [384]);
    }
    assert.equal(dims.has('encoder.layer.6.output.dense.weight'), false);
    assert.equal(graph.node.filter((n) => n.opType === 'Softmax').length, 6);
    assert.equal(graph.node.filter((n) => n.opType === 'Erf').length, 6);

    const cfg = JSON.parse(await fs.readFile(path.join(modelDir, 'config.json'), 'utf8'));
    assert.deepEqual(
      [cfg.model_type, cfg.vocab_size, cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads, cfg.intermediate_size, cfg.max_position_embeddings, cfg.type_vocab_size, cfg.hidden_act, cfg.layer_norm_eps],
      ['bert', 30522, 384, 6, 12, 1536, 512, 2, 'gelu', 1e-12],
    );
    assert.match(await fs.readFile(path.join(modelDir, 'README.txt'), 'utf8'), /NO semantic quality/);
  });

  test('tokenizer: WordPiece over real English words with BERT special ids', async () => {
    const json = JSON.parse(await fs.readFile(path.join(modelDir, 'tokenizer.json'), 'utf8'));
    const vocab: Record<string, number> = json.model.vocab;
    assert.equal(Object.keys(vocab).length, 30522);
    assert.equal(new Set(Object.values(vocab)).size, 30522);
    assert.deepEqual(
      ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((t) => vocab[t]),
      [0, 100, 101, 102, 103],
    );
    const byId = new Map(Object.entries(vocab).map(([t, id]) => [id, t]));

    const { AutoTokenizer } = await import('@huggingface/transformers');
    const tokenizer = await AutoTokenizer.from_pretrained(modelDir, { local_files_only: true });
    for (const word of [...WORDS, 'computer', 'knowledge', 'because', 'yesterday']) {
      const ids = tokenizer.encode(word, { add_special_tokens: false });
      assert.deepEqual(ids.map((id) => byId.get(id)), [word], `${word} is one token`);
    }
    // Lower-cased and accents stripped like bert-base-uncased.
    assert.deepEqual(tokenizer.encode('House CAFÉ', { add_special_tokens: false }), tokenizer.encode('house cafe', { add_special_tokens: false }));

    const pieces = tokenizer.encode('xylophonicity', { add_special_tokens: false }).map((id) => byId.get(id) as string);
    assert.ok(pieces.length > 1, `pieces: ${pieces}`);
    assert.ok(!pieces[0]?.startsWith('##') && pieces.slice(1).every((p) => p.startsWith('##')), `pieces: ${pieces}`);
    assert.equal(pieces.join('').replaceAll('##', ''), 'xylophonicity');

    const withSpecials = tokenizer.encode('the house', { add_special_tokens: true });
    assert.deepEqual(withSpecials, [101, vocab.the, vocab.house, 102]);
    assert.deepEqual(tokenizer.encode('x'.repeat(101), { add_special_tokens: false }), [100], 'a word over 100 characters is [UNK]');
  });
});

describe('embedder', () => {
  let embedder: Embedder;
  before(async () => {
    embedder = await loadEmbedder(config.embedding, logger);
  });
  after(async () => {
    await embedder.close();
  });

  test('384-dimensional unit vectors, one per text, in order', async () => {
    assert.equal(embedder.dimension, 384);
    assert.equal(embedder.maxTokens, 256);
    assert.equal(embedder.modelId, modelDir);
    const texts = ['A first sentence about rivers.', '', 'Ünïcödé and emoji 🙂 and CJK 漢字 text', wordText(50)];
    const vectors = await embedder.embed(texts);
    assert.equal(vectors.length, texts.length);
    for (const v of vectors) {
      assert.ok(v instanceof Float32Array);
      assert.equal(v.length, 384);
      assert.ok(Math.abs(norm(v) - 1) < 1e-5, `norm ${norm(v)}`);
      assert.ok(v.every(Number.isFinite));
    }
    // Order is kept although batches are sorted by length inside.
    const single = await embedder.embed([texts[3] as string]);
    assert.ok(maxDiff(vectors[3] as Float32Array, single[0] as Float32Array) < 1e-4);
    assert.deepEqual(await embedder.embed([]), []);
  });

  test('deterministic across calls and across a fresh load', async () => {
    const texts = ['Gleaner turns web pages into searchable knowledge.', wordText(30)];
    const first = await embedder.embed(texts);
    const again = await embedder.embed(texts);
    first.forEach((v, i) => assert.deepEqual(v, again[i]));

    // A fresh load: the only handle of other options is closed, then loaded anew.
    const options = { ...config.embedding, batchSize: 7 };
    const a = await loadEmbedder(options, logger);
    const fromA = await a.embed(texts);
    await a.close();
    const b = await loadEmbedder(options, logger);
    const fromB = await b.embed(texts);
    await b.close();
    fromA.forEach((v, i) => assert.ok(maxDiff(v, fromB[i] as Float32Array) < 1e-6));
    fromA.forEach((v, i) => assert.ok(maxDiff(v, first[i] as Float32Array) < 1e-4));
  });

  test('padding does not change a vector: short text alone vs with a much longer one', async () => {
    const short = 'A short passage.';
    const long = wordText(200);
    const [alone] = await embedder.embed([short]);
    const [inBatch] = await embedder.embed([short, long]);
    const diff = maxDiff(alone as Float32Array, inBatch as Float32Array);
    assert.ok(diff < 1e-4, `max difference ${diff}`);
  });

  test('truncation keeps [CLS], the first maxTokens-2 word pieces and [SEP]', async () => {
    const small = await loadEmbedder({ ...config.embedding, maxTokens: 32 }, logger);
    try {
      assert.equal(small.maxTokens, 32);
      assert.deepEqual(await small.countTokens(WORDS), WORDS.map(() => 1), 'each word is a single token');
      const [long, exact, oneMore, oneLess] = await Promise.all([wordText(100), wordText(30), wordText(31), wordText(29)].map(async (t) => (await small.embed([t]))[0] as Float32Array));
      assert.ok(maxDiff(long as Float32Array, exact as Float32Array) < 1e-6, 'a long text embeds as its first 30 words');
      assert.ok(maxDiff(oneMore as Float32Array, exact as Float32Array) < 1e-6, '31 words are cut to 30');
      assert.ok(maxDiff(oneLess as Float32Array, exact as Float32Array) > 1e-3, '29 words are not cut');
    } finally {
      await small.close();
    }
  });

  test('batch size does not change the results', async () => {
    const texts = Array.from({ length: 7 }, (_, i) => `${wordText(5 + i * 17)} number ${i}.`);
    const two = await loadEmbedder({ ...config.embedding, batchSize: 2 }, logger);
    const sixteen = await loadEmbedder({ ...config.embedding, batchSize: 16 }, logger);
    try {
      const [a, b] = [await two.embed(texts), await sixteen.embed(texts)];
      a.forEach((v, i) => assert.ok(maxDiff(v, b[i] as Float32Array) < 1e-4, `text ${i}`));
    } finally {
      await two.close();
      await sixteen.close();
    }
  });

  test('countTokens: model tokens without special tokens and without truncation, counted on the model thread', async () => {
    assert.deepEqual(await embedder.countTokens(['', 'the house', 'The house, the river.', wordText(1000)]), [0, 2, 6, 1000]);
    assert.deepEqual(await embedder.countTokens([]), []);
  });

  test('the signal is checked before each batch', async () => {
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(embedder.embed(['text'], { signal: aborted.signal }), { name: 'AbortError' });

    const small = await loadEmbedder({ ...config.embedding, batchSize: 2 }, logger);
    try {
      let checks = 0;
      // A real signal (the embedder listens to it) whose check stops the request at the second batch.
      const stopAfterFirstBatch = Object.assign(new AbortController().signal, {
        throwIfAborted() {
          if (++checks > 2) throw new Error('stopped');
        },
      });
      await assert.rejects(small.embed(['a', 'b', 'c', 'd', 'e'], { signal: stopAfterFirstBatch }), /stopped/);
      assert.equal(checks, 3, 'one check on entry, then one per batch');
    } finally {
      await small.close();
    }
  });

  test('handles share one model; closing one leaves the others working', async () => {
    const other = await loadEmbedder(config.embedding, logger);
    const [fromOther] = await other.embed(['shared']);
    await other.close();
    await other.close(); // twice is fine
    await assert.rejects(other.embed(['shared']), /closed/);
    const [fromFirst] = await embedder.embed(['shared']);
    assert.deepEqual(fromFirst, fromOther);
  });
});

describe('embedding thread', () => {
  // Inference runs on a worker thread (core/embeddings/client.ts) so the event loop of the API,
  // the claim loop and heartbeats sharing the process never waits for onnxruntime.
  let embedder: Embedder;
  let passages: string[];
  before(async () => {
    embedder = await loadEmbedder(config.embedding, logger);
    // ~250 tokens each, sorted by length as the embedder sorts them, so its batches are the raw run's.
    const made = await makePassages(32, 250, (texts) => embedder.countTokens(texts));
    const counts = await embedder.countTokens(made);
    passages = made.map((p, i) => ({ p, i, n: counts[i] as number })).sort((a, b) => a.n - b.n || a.i - b.i).map((x) => x.p);
  });
  after(async () => {
    await embedder.close();
  });

  /** The thread behind a handle (one per loaded model). */
  const threadOf = (e: Embedder) => {
    const core = coreOf(e);
    assert.ok(core);
    return core.thread;
  };
  const until = async (condition: () => boolean) => {
    while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
  };

  test('the event loop stays responsive while 32 long passages are embedded', async (t) => {
    await embedder.embed(['warm up']);
    const watch = watchEventLoop(5);
    const vectors = await embedder.embed(passages);
    const lag = watch.stop();
    // Calibration in the same run: the same passages through onnxruntime on this (main) thread.
    const mainWatch = watchEventLoop(5);
    await rawOnnxVectors({ modelDir, passages, batchSize: config.embedding.batchSize, maxTokens: config.embedding.maxTokens, threads: config.embedding.threads });
    const mainLag = mainWatch.stop();
    t.diagnostic(`longest event-loop stall ${lag.toFixed(0)} ms over ${passages.length} passages; ${mainLag.toFixed(0)} ms with inference on the main thread`);
    // Typically 5–45 ms against 600 ms or more on the main thread; a third of the main thread's stall
    // leaves room for load (both grow with it) and still fails when inference blocks the loop.
    assert.ok(lag < mainLag / 3, `the event loop stalled for ${lag.toFixed(0)} ms, inference on the main thread for ${mainLag.toFixed(0)} ms`);
    assert.equal(vectors.length, passages.length);
    for (const v of vectors) {
      assert.ok(Math.abs(norm(v) - 1) < 1e-5);
      // Each vector owns its (transferred) buffer rather than viewing a shared one.
      assert.equal(v.buffer.byteLength, 384 * 4);
    }
  });

  test('the vectors are those of onnxruntime run directly (within 1e-5)', async (t) => {
    const fromThread = await embedder.embed(passages);
    const watch = watchEventLoop(5);
    const raw = await rawOnnxVectors({ modelDir, passages, batchSize: config.embedding.batchSize, maxTokens: config.embedding.maxTokens, threads: config.embedding.threads });
    t.diagnostic(`onnxruntime on the main thread stalled the event loop for ${watch.stop().toFixed(0)} ms`);
    assert.equal(raw.length, fromThread.length);
    raw.forEach((v, i) => assert.ok(maxDiff(v, fromThread[i] as Float32Array) < 1e-5, `passage ${i}: ${maxDiff(v, fromThread[i] as Float32Array)}`));
  });

  test('a short request waits at most for the batch already running', async () => {
    const small = await loadEmbedder({ ...config.embedding, batchSize: 2 }, logger);
    try {
      const thread = threadOf(small);
      const texts = passages.slice(0, 16); // a tokenize request, then 8 batches
      const start = thread.answered;
      let longDone = false;
      const long = small.embed(texts).finally(() => (longDone = true));
      await until(() => thread.answered >= start + 2); // tokenised, first batch done, the second running
      const before = thread.answered;
      const [query] = await small.embed(['enterprise plan for cooperatives']);
      assert.ok(thread.answered - before <= 2, `${thread.answered - before} requests ran before the query's answer`);
      assert.equal(longDone, false, 'the query was answered before the queued batches');
      const vectors = await long;
      assert.equal(vectors.length, 16);
      assert.ok(maxDiff(query as Float32Array, (await small.embed(['enterprise plan for cooperatives']))[0] as Float32Array) < 1e-6);
      assert.ok(maxDiff(vectors[5] as Float32Array, (await small.embed([texts[5] as string]))[0] as Float32Array) < 1e-4);
    } finally {
      await small.close();
    }
  });

  test('an abort stops a request between its batches', async () => {
    const small = await loadEmbedder({ ...config.embedding, batchSize: 2 }, logger);
    try {
      const thread = threadOf(small);
      const controller = new AbortController();
      const start = thread.answered;
      const long = small.embed(passages.slice(0, 16), { signal: controller.signal });
      await until(() => thread.answered >= start + 2);
      controller.abort();
      await assert.rejects(long, { name: 'AbortError' });
      // At most the batch that was running is still answered; none of the other six is sent.
      const before = thread.answered;
      await small.embed(['next']);
      assert.ok(thread.answered - before <= 2, `${thread.answered - before} requests ran after the abort`);
    } finally {
      await small.close();
    }
  });

  test('an error in the thread fails that request only', async () => {
    await assert.rejects(embedder.embed([null as unknown as string]), TypeError);
    await assert.rejects(embedder.embed([(() => 'not cloneable') as unknown as string]), { name: 'DataCloneError' });
    const [v] = await embedder.embed(['still working']);
    assert.equal(v?.length, 384);
  });

  test('the last handle to close ends the thread, after the batch it is running', async () => {
    const options = { ...config.embedding, batchSize: 5 };
    const a = await loadEmbedder(options, logger);
    const b = await loadEmbedder(options, logger);
    const { worker } = threadOf(a);
    assert.equal(threadOf(b).worker, worker, 'one thread per loaded model');
    let exited = false;
    const exit = once(worker, 'exit').then(() => (exited = true));
    await a.close();
    assert.deepEqual((await b.embed(['one handle left']))[0]?.length, 384);
    assert.equal(exited, false);
    const running = b.embed(['answered', 'although', 'closed']);
    await b.close();
    assert.equal((await running).length, 3);
    await exit;
    await assert.rejects(b.embed(['x']), /closed/);
    const c = await loadEmbedder(options, logger);
    try {
      assert.notEqual(threadOf(c).worker.threadId, worker.threadId, 'a fresh thread');
      assert.equal((await c.embed(['again']))[0]?.length, 384);
    } finally {
      await c.close();
    }
  });

  test('EMBEDDING_THREADS sizes the session on the thread; closing ends every thread it started', { skip: process.platform !== 'linux' && 'counts /proc/self/task' }, async () => {
    const osThreads = () => readdirSync('/proc/self/task').length;
    // libuv starts its pool's threads lazily: start all of them now, so only the embedder's threads come and go below.
    await Promise.all(Array.from({ length: Number(process.env.UV_THREADPOOL_SIZE) || 4 }, () => new Promise((r) => pbkdf2(' ', ' ', 20_000, 8, 'sha256', r))));
    const before = osThreads();
    const counts: number[] = [];
    for (const threads of [1, 3]) {
      const e = await loadEmbedder({ ...config.embedding, threads }, logger);
      await e.embed(['x']);
      counts.push(osThreads() - before);
      await e.close();
      // An OS thread leaves /proc a moment after its worker's exit event; wait for the count (10 s is only a way out, not a bound).
      for (const deadline = Date.now() + 10_000; osThreads() > before && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
      assert.equal(osThreads(), before, `threads ${threads}: the worker and onnxruntime's pool are gone after close`);
    }
    // The worker alone with 1 intra-op thread (its own); 2 more in the pool with 3.
    assert.equal((counts[1] as number) - (counts[0] as number), 2, `OS threads added: ${counts.join(', ')}`);
  });

  test('a thread that dies fails what it was asked and is replaced on the next load', async () => {
    const options = { ...config.embedding, batchSize: 3 };
    const doomed = await loadEmbedder(options, logger);
    const { worker } = threadOf(doomed);
    const pending = doomed.embed(passages.slice(0, 12));
    await until(() => threadOf(doomed).answered >= 1);
    await worker.terminate(); // from outside: to the embedder, an unexpected exit
    await assert.rejects(pending, /embedding thread stopped unexpectedly \(exit code 1\)/);
    await assert.rejects(doomed.embed(['x']), /stopped unexpectedly/);
    const fresh = await loadEmbedder(options, logger);
    try {
      assert.notEqual(threadOf(fresh).worker.threadId, worker.threadId);
      assert.equal((await fresh.embed(['alive']))[0]?.length, 384);
    } finally {
      await fresh.close();
      await doomed.close();
    }
  });

  test('under the tsx CLI the thread starts, and an unclosed embedder lets the process exit once answered', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-embed-exit-'));
    try {
      const script = path.join(dir, 'embed-once.mts'); // .mts: ESM (top-level await) outside this package
      const url = (p: string) => JSON.stringify(pathToFileURL(path.resolve(import.meta.dirname, p)).href);
      // No close(): the idle thread must not hold the process, the running request must.
      await fs.writeFile(
        script,
        `import { loadEmbedder } from ${url('../core/embeddings/load.ts')};
import { createSilentLogger } from ${url('../core/platform/logger.ts')};
import { testConfig } from ${url('helpers/config.ts')};
const embedder = await loadEmbedder(testConfig().embedding, createSilentLogger());
void embedder.embed(['the process waits for this']).then((v) => console.log('dimension', v[0]?.length));
`,
      );
      const tsx = path.resolve(import.meta.dirname, '../node_modules/.bin/tsx');
      const { stdout } = await promisify(execFile)(tsx, [script], { cwd: path.resolve(import.meta.dirname, '..'), timeout: 60_000 });
      assert.equal(stdout.trim(), 'dimension 384');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('hub download', () => {
  test('a hub id is fetched from EMBEDDING_REMOTE_HOST into EMBEDDING_CACHE_DIR once, then read from there', async () => {
    // A loopback stand-in for the hub, serving the stand-in model at {model}/resolve/main/{file}.
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      const match = /^\/gleaner\/stand-in\/resolve\/main\/([\w./]+)$/.exec(req.url ?? '');
      const file = match && !match[1]?.includes('..') ? path.join(modelDir, match[1] as string) : undefined;
      fs.readFile(file ?? '/nonexistent').then(
        (body) => res.end(body),
        () => res.writeHead(404).end('not found'),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-model-cache-'));
    try {
      const { port } = server.address() as AddressInfo;
      const options = testConfig({ EMBEDDING_MODEL_DIR: '', EMBEDDING_MODEL: 'gleaner/stand-in', EMBEDDING_REMOTE_HOST: `http://127.0.0.1:${port}/`, EMBEDDING_CACHE_DIR: cacheDir }).embedding;
      const remote = await loadEmbedder(options, logger);
      assert.equal(remote.modelId, 'gleaner/stand-in');
      const [downloaded] = await remote.embed(['the house']);
      await remote.close();
      assert.ok(requests.some((r) => r.endsWith('/onnx/model.onnx')), requests.join(', '));
      assert.ok((await fs.stat(path.join(cacheDir, 'gleaner/stand-in/onnx/model.onnx'))).size > 85 * 2 ** 20);

      await new Promise((resolve) => server.close(resolve));
      const cached = await loadEmbedder(options, logger);
      const [fromCache] = await cached.embed(['the house']);
      await cached.close();
      assert.deepEqual(fromCache, downloaded);

      const local = await loadEmbedder(config.embedding, logger);
      const [fromFolder] = await local.embed(['the house']);
      await local.close();
      assert.ok(maxDiff(fromFolder as Float32Array, downloaded as Float32Array) < 1e-6, 'the same model as the folder');

      const unreachable = testConfig({ EMBEDDING_MODEL_DIR: '', EMBEDDING_MODEL: 'gleaner/elsewhere', EMBEDDING_REMOTE_HOST: `http://127.0.0.1:${port}/`, EMBEDDING_CACHE_DIR: cacheDir }).embedding;
      await assert.rejects(loadEmbedder(unreachable, logger), (e: unknown) => {
        assert.ok(e instanceof EmbeddingModelUnavailableError);
        assert.match(e.message, /gleaner\/elsewhere could not be loaded: fetch failed \(.*ECONNREFUSED.*\)\. Set EMBEDDING_MODEL_DIR/);
        return true;
      });
    } finally {
      server.close();
      await fs.rm(cacheDir, { recursive: true, force: true });
    }
  });
});

describe('missing model', () => {
  test('a missing folder fails with EmbeddingModelUnavailableError saying how to provide the model', async () => {
    const dir = path.join(os.tmpdir(), `gleaner-no-model-${process.pid}`);
    const err = await loadEmbedder({ ...config.embedding, modelDir: dir }, logger).then(
      () => assert.fail('loaded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof EmbeddingModelUnavailableError);
    assert.match(err.message, new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.match(err.message, /EMBEDDING_MODEL_DIR/);
    assert.match(err.message, /npm run make-test-model -- DIR/);
    assert.match(err.message, /EMBEDDING_REMOTE_HOST/);
  });

  test('an incomplete folder names what is missing; a broken model file is the same error', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-partial-model-'));
    try {
      await fs.copyFile(path.join(modelDir, 'config.json'), path.join(dir, 'config.json'));
      await assert.rejects(loadEmbedder({ ...config.embedding, modelDir: dir }, logger), (e: unknown) => {
        assert.ok(e instanceof EmbeddingModelUnavailableError);
        assert.match(e.message, /lacks tokenizer\.json, tokenizer_config\.json, onnx\/model\.onnx/);
        return true;
      });
      for (const f of ['tokenizer.json', 'tokenizer_config.json']) await fs.copyFile(path.join(modelDir, f), path.join(dir, f));
      await fs.mkdir(path.join(dir, 'onnx'));
      await fs.writeFile(path.join(dir, 'onnx/model.onnx'), 'not a model');
      await assert.rejects(loadEmbedder({ ...config.embedding, modelDir: dir }, logger), EmbeddingModelUnavailableError);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

test('the benchmark’s onnxruntime-node is the one transformers.js runs', () => {
  const require = createRequire(import.meta.url);
  const fromTransformers = createRequire(require.resolve('@huggingface/transformers')).resolve('onnxruntime-node');
  assert.equal(require.resolve('onnxruntime-node'), fromTransformers);
});
