// Loading the embedding model once per process. Every loadEmbedder() call
// with the same options shares one model on its own thread (tokenizer and
// onnxruntime session there, see client.ts); each call gets its own handle,
// and the session is freed and the thread ended when the last handle closes.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { EmbedderCore } from './client.js';
import { EmbeddingModelUnavailableError } from './errors.js';
import type { Embedder } from './types.js';

export type EmbedderOptions = Config['embedding'];

interface Shared {
  core: EmbedderCore;
  handles: number;
}

const shared = new Map<string, Promise<Shared>>();

const keyOf = (o: EmbedderOptions) => JSON.stringify([o.model, o.modelDir, o.cacheDir, o.remoteHost, o.batchSize, o.threads, o.maxTokens, o.dtype]);

/** The ONNX file transformers.js reads for each dtype (q8: Xenova's int8 export). */
export const MODEL_FILES = { fp32: 'onnx/model.onnx', q8: 'onnx/model_quantized.onnx' } as const;

/** Files transformers.js reads for a BERT feature-extraction model in this dtype. */
const requiredFiles = (dtype: EmbedderOptions['dtype']) => ['config.json', 'tokenizer.json', 'tokenizer_config.json', MODEL_FILES[dtype]];

async function missingFiles(dir: string, dtype: EmbedderOptions['dtype']): Promise<string[]> {
  const missing: string[] = [];
  for (const file of requiredFiles(dtype)) {
    const stat = await fs.stat(path.join(dir, file)).catch(() => undefined);
    if (!stat?.isFile()) missing.push(file);
  }
  return missing;
}

async function loadCore(options: EmbedderOptions, logger: Logger): Promise<EmbedderCore> {
  const modelId = options.modelDir ?? options.model;
  const fail = (reason: string) => new EmbeddingModelUnavailableError(modelId, reason, { remoteHost: options.remoteHost, cacheDir: options.cacheDir });

  if (options.modelDir !== undefined) {
    // Checked here so a wrong folder gets a plain list of what is missing, not a loader stack.
    const missing = await missingFiles(options.modelDir, options.dtype);
    if (missing.length === requiredFiles(options.dtype).length) throw fail(`the folder ${options.modelDir} does not exist or holds none of the model's files`);
    if (missing.length > 0) throw fail(`the folder ${options.modelDir} lacks ${missing.join(', ')}`);
  }

  const started = performance.now();
  const local = options.modelDir !== undefined;
  logger.info('loading the embedding model', { model: modelId, dtype: options.dtype, source: local ? 'folder' : options.remoteHost, cacheDir: local ? undefined : options.cacheDir });
  const core = await EmbedderCore.start(
    {
      modelId,
      local,
      remoteHost: options.remoteHost,
      cacheDir: options.cacheDir,
      threads: options.threads,
      maxTokens: options.maxTokens,
      batchSize: options.batchSize,
      dtype: options.dtype,
    },
    logger,
  );
  logger.info('embedding model loaded', {
    model: modelId,
    dimension: core.dimension,
    maxTokens: core.maxTokens,
    threads: options.threads || 'auto',
    threadId: core.thread.worker.threadId,
    ms: Math.round(performance.now() - started),
  });
  return core;
}

/** Each handle's core, for tests and benchmarks that look at the thread. */
const cores = new WeakMap<Embedder, EmbedderCore>();

/** The shared core (and its thread) behind a handle from loadEmbedder. */
export function coreOf(embedder: Embedder): EmbedderCore | undefined {
  return cores.get(embedder);
}

function handleFor(entry: Shared, release: () => Promise<void>): Embedder {
  const { core } = entry;
  let closed = false;
  const open = () => {
    if (closed) throw new Error('this embedder was closed');
  };
  const handle: Embedder = {
    modelId: core.modelId,
    dimension: core.dimension,
    maxTokens: core.maxTokens,
    get usable() {
      return !closed && core.thread.usable;
    },
    async countTokens(texts, opts) {
      open();
      return core.countTokens(texts, opts?.signal);
    },
    async embed(texts, opts) {
      open();
      return core.embed(texts, opts?.signal);
    },
    async close() {
      if (closed) return;
      closed = true;
      await release();
    },
  };
  cores.set(handle, core);
  return handle;
}

/**
 * The process's embedder for these options, loading the model on first use.
 * Fails with EmbeddingModelUnavailableError when the model cannot be had; a
 * failed load is forgotten, so a later call tries again.
 */
export async function loadEmbedder(options: EmbedderOptions, logger: Logger): Promise<Embedder> {
  const key = keyOf(options);
  let loading = shared.get(key);
  if (loading === undefined) {
    const created: Promise<Shared> = loadCore(options, logger).then((core) => {
      // A dead thread is not reused: the next call starts a fresh one.
      core.onDeath(() => {
        if (shared.get(key) === created) shared.delete(key);
      });
      return { core, handles: 0 };
    });
    loading = created;
    shared.set(key, created);
    created.catch(() => {
      if (shared.get(key) === created) shared.delete(key);
    });
  }
  const entry = await loading;
  const current = loading;
  const forget = () => {
    if (shared.get(key) === current) shared.delete(key);
  };
  // The last handle closed (and ended the thread) while we waited, or the thread died: load afresh.
  if (!entry.core.usable) {
    forget();
    return loadEmbedder(options, logger);
  }
  entry.handles++;
  return handleFor(entry, async () => {
    if (--entry.handles > 0) return;
    forget();
    await entry.core.dispose();
  });
}
