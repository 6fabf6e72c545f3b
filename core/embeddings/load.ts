// Loading the embedding model once per process. Every loadEmbedder() call
// with the same options shares one tokenizer and onnxruntime session; each
// call gets its own handle, and the session is freed when the last handle
// closes.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { EmbedderCore } from './embedder.js';
import { EmbeddingModelUnavailableError } from './errors.js';
import type { Embedder } from './types.js';

export type EmbedderOptions = Config['embedding'];

interface Shared {
  core: EmbedderCore;
  handles: number;
}

const shared = new Map<string, Promise<Shared>>();

const keyOf = (o: EmbedderOptions) => JSON.stringify([o.model, o.modelDir, o.cacheDir, o.remoteHost, o.batchSize, o.threads, o.maxTokens]);

/** Files transformers.js reads for a BERT feature-extraction model in fp32. */
const REQUIRED_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'];

async function missingFiles(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (const file of REQUIRED_FILES) {
    const stat = await fs.stat(path.join(dir, file)).catch(() => undefined);
    if (!stat?.isFile()) missing.push(file);
  }
  return missing;
}

async function loadCore(options: EmbedderOptions, logger: Logger): Promise<EmbedderCore> {
  const modelId = options.modelDir ?? options.model;
  const fail = (reason: string, cause?: unknown) =>
    new EmbeddingModelUnavailableError(modelId, reason, { remoteHost: options.remoteHost, cacheDir: options.cacheDir, cause });

  if (options.modelDir !== undefined) {
    // Checked here so a wrong folder gets a plain list of what is missing, not a loader stack.
    const missing = await missingFiles(options.modelDir);
    if (missing.length === REQUIRED_FILES.length) throw fail(`the folder ${options.modelDir} does not exist or holds none of the model's files`);
    if (missing.length > 0) throw fail(`the folder ${options.modelDir} lacks ${missing.join(', ')}`);
  }

  const started = performance.now();
  try {
    // Loaded here, not at the top: processes that never embed do not pay for onnxruntime and sharp.
    const transformers = await import('@huggingface/transformers');
    const { env, AutoTokenizer, AutoModel, Tensor } = transformers;
    // With a folder, per-call local_files_only keeps remote loading off (env.allowRemoteModels is
    // process-wide); an absolute path is never read as a hub id, so it is opened as it is.
    const local = options.modelDir !== undefined;
    if (!local) env.remoteHost = options.remoteHost.endsWith('/') ? options.remoteHost : `${options.remoteHost}/`;
    const common = { cache_dir: options.cacheDir, local_files_only: local };
    logger.info('loading the embedding model', { model: modelId, source: local ? 'folder' : options.remoteHost, cacheDir: local ? undefined : options.cacheDir });
    const [tokenizer, model] = await Promise.all([
      AutoTokenizer.from_pretrained(modelId, common),
      AutoModel.from_pretrained(modelId, {
        ...common,
        device: 'cpu',
        dtype: 'fp32',
        session_options: {
          ...(options.threads > 0 ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
          logSeverityLevel: 3, // errors only: onnxruntime writes straight to stderr, past our logger
        },
      }),
    ]);
    const core = new EmbedderCore({ tokenizer, model, Tensor }, { modelId, batchSize: options.batchSize, maxTokens: options.maxTokens });
    logger.info('embedding model loaded', {
      model: modelId,
      dimension: core.dimension,
      maxTokens: core.maxTokens,
      threads: options.threads || 'auto',
      ms: Math.round(performance.now() - started),
    });
    return core;
  } catch (err) {
    // fetch() says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND…) is in its cause.
    const cause = (err as { cause?: { message?: unknown } }).cause?.message;
    const message = err instanceof Error ? err.message : String(err);
    throw fail(typeof cause === 'string' ? `${message} (${cause})` : message, err);
  }
}

function handleFor(entry: Shared, release: () => Promise<void>): Embedder {
  const { core } = entry;
  let closed = false;
  const open = () => {
    if (closed) throw new Error('this embedder was closed');
  };
  return {
    modelId: core.modelId,
    dimension: core.dimension,
    maxTokens: core.maxTokens,
    countTokens(text) {
      open();
      return core.countTokens(text);
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
    const created = loadCore(options, logger).then((core): Shared => ({ core, handles: 0 }));
    loading = created;
    shared.set(key, created);
    created.catch(() => {
      if (shared.get(key) === created) shared.delete(key);
    });
  }
  const entry = await loading;
  // The last handle closed (and freed the session) while we waited: load afresh.
  if (entry.core.disposed) return loadEmbedder(options, logger);
  entry.handles++;
  const current = loading;
  return handleFor(entry, async () => {
    if (--entry.handles > 0) return;
    if (shared.get(key) === current) shared.delete(key);
    await entry.core.dispose();
  });
}
