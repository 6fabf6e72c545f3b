// The embedding thread: loads models and runs tokenisation, onnxruntime and
// pooling here, because onnxruntime-node's session.run blocks the thread that
// calls it (a 32-passage batch stalled the API's event loop for over a second).
// Started by client.ts, one per loaded model; it is sent one request at a time.
import { parentPort } from 'node:worker_threads';
import { EmbeddingModel } from './embedder.js';
import { loadFailureReason } from './errors.js';
import { packRows, unpackRows, type ModelOptions, type ThreadFailure, type ThreadReply, type ThreadRequest } from './protocol.js';

if (!parentPort) throw new Error('embeddingThread runs as a worker thread (see client.ts)');
const port = parentPort;
let loaded: EmbeddingModel | undefined;

const post = (reply: ThreadReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

function failure(err: unknown): ThreadFailure {
  return err instanceof Error ? { message: err.message, name: err.name, stack: err.stack } : { message: String(err), name: 'Error', stack: undefined };
}

async function load(options: ModelOptions): Promise<EmbeddingModel> {
  // Loaded here, not at the top: a failed import is then a load failure like any other.
  const { env, AutoTokenizer, AutoModel, Tensor } = await import('@huggingface/transformers');
  // With a folder, per-call local_files_only keeps remote loading off (env.allowRemoteModels is
  // thread-wide); an absolute path is never read as a hub id, so it is opened as it is.
  if (!options.local) env.remoteHost = options.remoteHost.endsWith('/') ? options.remoteHost : `${options.remoteHost}/`;
  const common = { cache_dir: options.cacheDir, local_files_only: options.local };
  const [tokenizer, model] = await Promise.all([
    AutoTokenizer.from_pretrained(options.modelId, common),
    AutoModel.from_pretrained(options.modelId, {
      ...common,
      device: 'cpu',
      dtype: options.dtype,
      session_options: {
        ...(options.threads > 0 ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
        logSeverityLevel: 3, // errors only: onnxruntime writes straight to stderr, past our logger
      },
    }),
  ]);
  try {
    return new EmbeddingModel({ tokenizer, model, Tensor }, { maxTokens: options.maxTokens });
  } catch (err) {
    await model.dispose();
    throw err;
  }
}

function model(): EmbeddingModel {
  if (!loaded) throw new Error('the embedding model was closed');
  return loaded;
}

async function handle(req: ThreadRequest): Promise<void> {
  try {
    switch (req.op) {
      case 'load':
        try {
          loaded = await load(req.options);
        } catch (err) {
          post({ type: 'load-failed', id: req.id, reason: loadFailureReason(err), error: failure(err) });
          return;
        }
        post({ type: 'loaded', id: req.id, dimension: loaded.dimension, maxTokens: loaded.maxTokens });
        return;
      case 'embed':
      case 'run': {
        const vectors = req.op === 'embed' ? await model().embed(req.texts) : await model().run(unpackRows(req));
        // Each vector owns its buffer (see meanPoolNormalize), so each is handed over whole.
        post({ type: 'vectors', id: req.id, vectors }, vectors.map((v) => v.buffer as ArrayBuffer));
        return;
      }
      case 'count': {
        const m = model();
        const counts = Int32Array.from(req.texts, (t) => m.countTokens(t));
        post({ type: 'counts', id: req.id, counts }, [counts.buffer as ArrayBuffer]);
        return;
      }
      case 'tokenize': {
        const m = model();
        const rows = packRows(req.texts.map((t) => m.inputIds(t)));
        post({ type: 'rows', id: req.id, ...rows }, [rows.ids.buffer as ArrayBuffer, rows.lengths.buffer as ArrayBuffer]);
        return;
      }
      case 'unload':
        await loaded?.dispose();
        loaded = undefined;
        post({ type: 'unloaded', id: req.id });
        return;
    }
  } catch (err) {
    post({ type: 'error', id: req.id, error: failure(err) });
  }
}

// The main thread sends one request at a time; the chain keeps them in order regardless.
let queue = Promise.resolve();
port.on('message', (req: ThreadRequest) => {
  queue = queue.then(() => handle(req));
});
