// EMBEDDING_DTYPE=q8: the int8 twin of the model (onnx/model_quantized.onnx),
// which the stand-in generator writes next to the fp32 weights the way
// onnxruntime's dynamic quantization (and Xenova's export) stores them.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import type onnxProto from 'onnx-proto';
import { EmbeddingModelUnavailableError } from '../../core/embeddings/errors.js';
import { loadEmbedder, MODEL_FILES } from '../../core/embeddings/load.js';
import { createSilentLogger } from '../../core/platform/logger.js';
import { rawOnnxVectors } from '../../bench/embedding.js';
import { ensureTestModel } from '../../testing/testModel.js';
import { decodeOnnxModel } from '../../testing/testModelGraph.js';
import { onCleanup } from '../helpers/cleanup.js';
import { testConfig } from '../helpers/config.js';

const config = testConfig();
const modelDir = config.embedding.modelDir as string;
const logger = createSilentLogger();
const PASSAGES = ['the house by the river', 'water light city music', 'a story about a family and their garden', 'market street school friend mountain summer'];

before(async () => {
  await ensureTestModel(modelDir);
});

test('the stand-in has an int8 twin: MatMulInteger on int8 weights, a quarter of the size', async () => {
  const fp32 = (await fs.stat(path.join(modelDir, MODEL_FILES.fp32))).size;
  const bytes = await fs.readFile(path.join(modelDir, MODEL_FILES.q8));
  assert.ok(bytes.length < fp32 * 0.3 && bytes.length > fp32 * 0.2, `${bytes.length} vs ${fp32} bytes`);
  const graph = decodeOnnxModel(bytes).graph as onnxProto.onnx.GraphProto;
  const ops = new Map<string, number>();
  for (const n of graph.node) ops.set(n.opType!, (ops.get(n.opType!) ?? 0) + 1);
  // Six layers of q, k, v, attention output, intermediate and output: 36 quantized MatMuls; q, k and v share one quantized input.
  assert.equal(ops.get('MatMulInteger'), 36);
  assert.equal(ops.get('DynamicQuantizeLinear'), 24);
  assert.equal(ops.get('DequantizeLinear'), 1, 'the word-embedding table');
  assert.equal(ops.get('MatMul'), 12, 'only activation × activation (attention) stays float');
  const int8 = graph.initializer.filter((t) => t.dataType === 3).reduce((n, t) => n + t.rawData!.length, 0);
  assert.ok(int8 > bytes.length * 0.9, 'the weights are int8');
});

test('EMBEDDING_DTYPE=q8 loads the int8 twin; its vectors are normalised and close to fp32’s, and match onnxruntime on the same file', async () => {
  const fp32 = await loadEmbedder({ ...config.embedding, dtype: 'fp32' }, logger);
  onCleanup(() => fp32.close());
  const q8 = await loadEmbedder({ ...config.embedding, dtype: 'q8' }, logger);
  onCleanup(() => q8.close());
  const [a, b] = [await fp32.embed(PASSAGES), await q8.embed(PASSAGES)];
  const raw = await rawOnnxVectors({ modelDir, passages: PASSAGES, batchSize: config.embedding.batchSize, maxTokens: config.embedding.maxTokens, threads: config.embedding.threads, dtype: 'q8' });
  let differs = false;
  for (let i = 0; i < PASSAGES.length; i++) {
    const dot = a[i]!.reduce((s, x, d) => s + x * b[i]![d]!, 0);
    const norm = Math.sqrt(b[i]!.reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(norm - 1) < 1e-4, `norm ${norm}`);
    assert.ok(dot > 0.99, `cosine(fp32, q8) of passage ${i} is ${dot}`);
    if (a[i]!.some((x, d) => x !== b[i]![d])) differs = true;
    // The same order of passages (already sorted by length is not needed: compare by content through raw's own order).
    assert.ok(raw.some((r) => r.every((x, d) => Math.abs(x - b[i]![d]!) < 1e-5)), `passage ${i}: no raw onnxruntime vector of the q8 file matches`);
  }
  assert.ok(differs, 'the q8 vectors come from other weights than fp32');
});

test('a folder without the int8 twin is refused with the missing file named', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-int8-'));
  onCleanup(() => fs.rm(dir, { recursive: true, force: true }));
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', MODEL_FILES.fp32]) {
    await fs.mkdir(path.dirname(path.join(dir, f)), { recursive: true });
    await fs.symlink(path.join(modelDir, f), path.join(dir, f));
  }
  await assert.rejects(loadEmbedder({ ...config.embedding, modelDir: dir, dtype: 'q8' }, logger), (err: unknown) => err instanceof EmbeddingModelUnavailableError && err.message.includes(MODEL_FILES.q8));
});
