// `npm run bench:embedding [-- --passages N] [--batch-sizes 16,8] [--threads 0,1] [--dtypes fp32,q8] [--runs N] [--tokens N]`
//
// Embedding throughput on realistic ~200-token passages (windows of this
// repository's README, English prose with technical words), two ways per batch
// size and thread setting:
//   raw       onnxruntime-node InferenceSession.run on pre-tokenised, padded
//             batches, on this (the main) thread: the physical limit of the
//             model on this machine
//   embedder  Embedder.embed(): tokenise + run + mean-pool + normalise on the
//             embedding thread, queued and answered through the main thread
// with the longest event-loop stall of the main thread during each (a 5 ms
// interval timer's lateness): raw shows what inference on the main thread
// costs the API, embedder what the service's process sees.
// Uses EMBEDDING_MODEL_DIR, or writes the random-weight stand-in to a temp dir
// (same architecture, so the same speed as the real all-MiniLM-L6-v2).
// --threads defaults to EMBEDDING_THREADS (0 = onnxruntime's choice) and
// applies to both ways; --dtypes compares the fp32 weights with the int8 twin
// (EMBEDDING_DTYPE=q8) side by side, with how far their vectors agree.
// The functions are exported for `npm run bench` and the tests.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../core/platform/config.js';
import { loadEmbedder, MODEL_FILES, type EmbedderOptions } from '../core/embeddings/load.js';
import { meanPoolNormalize } from '../core/embeddings/pooling.js';
import { createSilentLogger } from '../core/platform/logger.js';
import { benchOptions } from './options.js';

export interface Throughput {
  passages: number;
  batchSize: number;
  /** Median over the timed runs. */
  passagesPerSecond: number;
  /** Every timed run, in ms. */
  runsMs: number[];
  /** Longest event-loop stall seen during the timed runs (ms). */
  maxEventLoopStallMs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/**
 * Watches the event loop with a timer every `intervalMs`: stop() gives the
 * longest time the loop was held past the timer's due time, in ms.
 */
export function watchEventLoop(intervalMs = 5): { stop(): number } {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - intervalMs);
    last = now;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      // A stall still under way shows as the time since the last tick.
      return Math.max(worst, performance.now() - last - intervalMs);
    },
  };
}

/** One untimed warm-up, then `runs` timed calls of fn; with the event loop watched. */
async function timeRuns(runs: number, fn: () => Promise<void>): Promise<{ runsMs: number[]; maxEventLoopStallMs: number }> {
  await fn();
  const watch = watchEventLoop();
  const runsMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    runsMs.push(performance.now() - t);
  }
  // A stall is seen when the late timer finally fires: give it that turn.
  await new Promise((resolve) => setTimeout(resolve, 20));
  return { runsMs, maxEventLoopStallMs: watch.stop() };
}

/**
 * `count` passages of about `tokens` model tokens each: overlapping windows of
 * the README's words, grown until their token counts reach the target
 * (WordPiece splits at whitespace first, so words' counts add up).
 */
export async function makePassages(count: number, tokens: number, countTokens: (texts: string[]) => Promise<number[]>): Promise<string[]> {
  const readme = await fs.readFile(path.resolve(import.meta.dirname, '../README.md'), 'utf8');
  // Prose words only: no code blocks, table rules, URLs or other long runs that tokenise into dozens of pieces.
  const words = readme
    .replace(/```[\s\S]*?```/g, ' ')
    .split(/\s+/)
    .filter((w) => w.length > 0 && w.length <= 20 && /^[\p{L}\p{N}.,;:!?'"()–—-]+$/u.test(w));
  const perWord = await countTokens(words);
  const passages: string[] = [];
  for (let i = 0; passages.length < count; i++) {
    const start = (i * 97) % Math.max(1, words.length - 400);
    let end = start;
    let sum = 0;
    while (end < words.length && sum < tokens) sum += perWord[end++] as number;
    passages.push(words.slice(start, end).join(' '));
  }
  return passages;
}

/** Padded int64 batches exactly as the embedder builds them: [CLS] ids… [SEP], right-padded with 0. */
export async function pretokenise(modelDir: string, passages: string[], batchSize: number, maxTokens: number): Promise<Array<{ ids: BigInt64Array; mask: BigInt64Array; rows: number; seq: number }>> {
  const { AutoTokenizer } = await import('@huggingface/transformers');
  const tokenizer = await AutoTokenizer.from_pretrained(modelDir, { local_files_only: true });
  const rows = passages.map((p) => tokenizer.encode(p, { add_special_tokens: true }));
  const batches = [];
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = rows.slice(start, start + batchSize).map((r) => (r.length > maxTokens ? [...r.slice(0, maxTokens - 1), r.at(-1) as number] : r));
    const seq = Math.max(...batch.map((r) => r.length));
    const ids = new BigInt64Array(batch.length * seq);
    const mask = new BigInt64Array(batch.length * seq);
    batch.forEach((r, b) => r.forEach((id, s) => ((ids[b * seq + s] = BigInt(id)), (mask[b * seq + s] = 1n))));
    batches.push({ ids, mask, rows: batch.length, seq });
  }
  return batches;
}

type Batches = Awaited<ReturnType<typeof pretokenise>>;

/** Runs pre-tokenised batches through a session and pools them, as the embedder does. */
async function runBatches(ort: typeof import('onnxruntime-node'), session: import('onnxruntime-node').InferenceSession, batches: Batches): Promise<Float32Array[]> {
  const vectors: Float32Array[] = [];
  for (const b of batches) {
    const dims = [b.rows, b.seq];
    const out = await session.run({
      input_ids: new ort.Tensor('int64', b.ids, dims),
      attention_mask: new ort.Tensor('int64', b.mask, dims),
      token_type_ids: new ort.Tensor('int64', new BigInt64Array(b.ids.length), dims),
    });
    const hidden = out.last_hidden_state as { data: Float32Array; dims: readonly number[] };
    vectors.push(...meanPoolNormalize(hidden.data, b.mask, b.rows, b.seq, hidden.dims[2] as number));
  }
  return vectors;
}

async function openSession(modelDir: string, threads: number, dtype: EmbedderOptions['dtype'] = 'fp32') {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(path.join(modelDir, MODEL_FILES[dtype]), {
    ...(threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
    logSeverityLevel: 3,
  });
  return { ort, session };
}

/**
 * The passages' vectors from onnxruntime-node alone, on this thread, in
 * batches of `batchSize` in the order given: what the Embedder returns for
 * passages already sorted by length.
 */
export async function rawOnnxVectors(opts: { modelDir: string; passages: string[]; batchSize: number; maxTokens: number; threads: number; dtype?: EmbedderOptions['dtype'] }): Promise<Float32Array[]> {
  const { ort, session } = await openSession(opts.modelDir, opts.threads, opts.dtype);
  try {
    return await runBatches(ort, session, await pretokenise(opts.modelDir, opts.passages, opts.batchSize, opts.maxTokens));
  } finally {
    await session.release();
  }
}

/** (a) onnxruntime-node alone on pre-tokenised batches; also returns the pooled vectors of the last run, for a cross-check. */
export async function measureRawOnnx(opts: {
  modelDir: string;
  passages: string[];
  batchSize: number;
  maxTokens: number;
  threads: number;
  runs: number;
  dtype?: EmbedderOptions['dtype'];
}): Promise<Throughput & { vectors: Float32Array[] }> {
  const { ort, session } = await openSession(opts.modelDir, opts.threads, opts.dtype);
  try {
    const batches = await pretokenise(opts.modelDir, opts.passages, opts.batchSize, opts.maxTokens);
    let vectors: Float32Array[] = [];
    const timing = await timeRuns(opts.runs, async () => {
      vectors = await runBatches(ort, session, batches);
    });
    return { passages: opts.passages.length, batchSize: opts.batchSize, passagesPerSecond: (opts.passages.length * 1000) / median(timing.runsMs), ...timing, vectors };
  } finally {
    await session.release();
  }
}

/** (b) the service's Embedder, end to end; also returns its vectors. */
export async function measureEmbedder(opts: { options: EmbedderOptions; passages: string[]; runs: number }): Promise<Throughput & { vectors: Float32Array[] }> {
  const embedder = await loadEmbedder(opts.options, createSilentLogger());
  try {
    let vectors: Float32Array[] = [];
    const timing = await timeRuns(opts.runs, async () => {
      vectors = await embedder.embed(opts.passages);
    });
    return { passages: opts.passages.length, batchSize: opts.options.batchSize, passagesPerSecond: (opts.passages.length * 1000) / median(timing.runsMs), ...timing, vectors };
  } finally {
    await embedder.close();
  }
}

async function main() {
  const USAGE = `usage: npm run bench:embedding -- [--passages N] [--batch-sizes 16,8] [--threads 0,1] [--runs N] [--tokens N]
  --passages N       passages per run (default 64)
  --batch-sizes L    comma-separated batch sizes (default EMBEDDING_BATCH_SIZE and 8)
  --threads L        comma-separated onnxruntime intra-op threads, 0 = onnxruntime's choice (default EMBEDDING_THREADS)
  --dtypes L         comma-separated weights, fp32 and/or q8 (the int8 twin), measured one after the other (default EMBEDDING_DTYPE)
  --runs N           timed runs after one warm-up; the median is shown (default 3)
  --tokens N         model tokens per passage (default 200)`;
  const values = benchOptions(USAGE, {
    passages: { type: 'string', default: '64' },
    'batch-sizes': { type: 'string' },
    threads: { type: 'string' },
    dtypes: { type: 'string' },
    runs: { type: 'string', default: '3' },
    tokens: { type: 'string', default: '200' },
  });
  const config = loadConfig();
  const count = Number(values.passages);
  const runs = Number(values.runs);
  const tokens = Number(values.tokens);
  const batchSizes = (values['batch-sizes'] ?? `${config.embedding.batchSize},8`).split(',').map(Number);
  const threadCounts = (values.threads ?? String(config.embedding.threads)).split(',').map(Number);
  const dtypes = (values.dtypes ?? config.embedding.dtype).split(',') as EmbedderOptions['dtype'][];
  if (
    !dtypes.every((d) => d in MODEL_FILES) ||
    ![count, runs, tokens, ...batchSizes].every((n) => Number.isSafeInteger(n) && n > 0) ||
    !threadCounts.every((n) => Number.isSafeInteger(n) && n >= 0) ||
    tokens > config.embedding.maxTokens - 2
  ) {
    process.stderr.write(`numbers must be positive integers (threads may be 0), --tokens at most EMBEDDING_MAX_TOKENS - 2, dtypes fp32 or q8\n${USAGE}\n`);
    process.exit(2);
  }

  let tempDir: string | undefined;
  let modelDir = config.embedding.modelDir;
  if (modelDir === undefined) {
    tempDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-bench-model-'));
    modelDir = path.join(tempDir, 'model');
    // In a child process, so the generator's buffers do not count in the RSS figures below.
    const made = spawnSync(process.execPath, ['--import', 'tsx', path.resolve(import.meta.dirname, '../testing/make-test-model.ts'), modelDir], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (made.status !== 0) throw new Error(`make-test-model exited with ${made.status}`);
    process.stderr.write(`EMBEDDING_MODEL_DIR is unset: using the random-weight stand-in written to ${modelDir}\n`);
  }
  try {
    const options = { ...config.embedding, modelDir };
    const rssBefore = process.memoryUsage().rss / 2 ** 20;
    const counter = await loadEmbedder(options, createSilentLogger());
    // Measured on the first load, before other sessions leave freed-but-kept memory behind.
    const rssAfterLoad = process.memoryUsage().rss / 2 ** 20;
    // Sorted by length so both ways run the very same batches (the Embedder sorts likewise).
    const made = await makePassages(count, tokens, (texts) => counter.countTokens(texts));
    const madeLengths = await counter.countTokens(made);
    const order = made.map((_, i) => i).sort((a, b) => (madeLengths[a] as number) - (madeLengths[b] as number) || a - b);
    const passages = order.map((i) => made[i] as string);
    const lengths = order.map((i) => madeLengths[i] as number);
    await counter.close();

    process.stdout.write(
      `${count} passages of ${Math.min(...lengths)}–${Math.max(...lengths)} tokens, model ${modelDir}, ` +
        `${os.availableParallelism()} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, median of ${runs} runs\n` +
        `RSS ${rssBefore.toFixed(0)} MiB before loading the model, ${rssAfterLoad.toFixed(0)} MiB after\n\n`,
    );
    const rows: string[][] = [['batch', 'threads', 'dtype', 'way', 'passages/s', 'runs (s)', 'longest event-loop stall']];
    const agreement: string[] = [];
    for (const threads of threadCounts) {
      for (const batchSize of batchSizes) {
        const byDtype = new Map<string, Float32Array[]>();
        for (const dtype of dtypes) {
          const raw = await measureRawOnnx({ modelDir, passages, batchSize, maxTokens: config.embedding.maxTokens, threads, runs, dtype });
          const viaEmbedder = await measureEmbedder({ options: { ...options, batchSize, threads, dtype }, passages, runs });
          let worst = 0;
          raw.vectors.forEach((v, i) => v.forEach((x, d) => (worst = Math.max(worst, Math.abs(x - (viaEmbedder.vectors[i]?.[d] ?? NaN))))));
          if (!(worst < 1e-5)) throw new Error(`raw and embedder vectors differ by ${worst}`);
          byDtype.set(dtype, viaEmbedder.vectors);
          const secs = (t: Throughput) => t.runsMs.map((ms) => (ms / 1000).toFixed(2)).join(' ');
          const label = threads > 0 ? String(threads) : 'auto';
          rows.push([String(batchSize), label, dtype, 'raw onnxruntime (main thread)', raw.passagesPerSecond.toFixed(1), secs(raw), `${raw.maxEventLoopStallMs.toFixed(0)} ms`]);
          rows.push([String(batchSize), label, dtype, 'Embedder (embedding thread)', viaEmbedder.passagesPerSecond.toFixed(1), secs(viaEmbedder), `${viaEmbedder.maxEventLoopStallMs.toFixed(0)} ms`]);
        }
        const [fp32, q8] = [byDtype.get('fp32'), byDtype.get('q8')];
        if (fp32 && q8) {
          // Vectors are normalised: the dot product is the cosine.
          const cos = fp32.map((v, i) => v.reduce((sum, x, d) => sum + x * q8[i]![d]!, 0));
          agreement.push(`batch ${batchSize}, threads ${threads || 'auto'}: cosine(fp32, q8) mean ${(cos.reduce((a, b) => a + b, 0) / cos.length).toFixed(4)}, min ${Math.min(...cos).toFixed(4)}`);
        }
      }
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] as string).length)));
    for (const r of rows) process.stdout.write(`${r.map((cell, c) => cell.padEnd(widths[c] as number)).join('  ').trimEnd()}\n`);
    for (const line of agreement) process.stdout.write(`${line}\n`);
    process.stdout.write(`\n(raw and Embedder vectors agree within 1e-5; load average now ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; the machine may be shared, so compare runs made together)\n`);
  } finally {
    if (tempDir) await fs.rm(tempDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) await main();
