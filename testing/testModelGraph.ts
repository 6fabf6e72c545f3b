// The stand-in model's ONNX graph: BERT with all-MiniLM-L6-v2's architecture
// and seeded random weights, written with opset-14 standard ops only (no
// LayerNormalization or contrib attention ops) so any onnxruntime runs it.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export const ARCH = {
  vocabSize: 30522,
  hidden: 384,
  layers: 6,
  heads: 12,
  intermediate: 1536,
  maxPositions: 512,
  typeVocab: 2,
  layerNormEps: 1e-12,
} as const;
export const OPSET = 14;

// ---- seeded random numbers -------------------------------------------------

/** mulberry32: a small, fast 32-bit PRNG; plenty for weights that only need to be fixed and varied. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** FNV-1a of the tensor name mixed with the seed: each tensor gets its own stream, independent of build order. */
function streamSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** normal(0, std) by Box–Muller (V8's Math.log/cos/sin are fdlibm ports, so the bytes do not depend on the platform). */
function normal(count: number, std: number, seed: number, name: string): Float32Array {
  const out = new Float32Array(count);
  const next = mulberry32(streamSeed(seed, name));
  for (let i = 0; i < count; i += 2) {
    const u1 = (next() + 0.5) / 4294967296; // (0, 1): log(0) never happens
    const u2 = next() / 4294967296;
    const r = Math.sqrt(-2 * Math.log(u1)) * std;
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

// ---- graph building ----------------------------------------------------------

type Attr = number | number[] | { float: number };

class Graph {
  readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private count = 0;
  /** Each activation's DynamicQuantizeLinear outputs, shared by every MatMul reading it (q, k and v), as onnxruntime shares them. */
  readonly quantizedInputs = new Map<string, string[]>();

  constructor(readonly quantized = false) {}

  /** Add a node with several outputs (named after the node) and return their names. */
  opN(type: string, inputs: string[], outputs: number): string[] {
    const base = `${type.toLowerCase()}_${this.count}`;
    const names = Array.from({ length: outputs }, (_, i) => `${base}_${i}`);
    this.nodes.push(onnx.NodeProto.create({ name: `${type}_${this.count++}`, opType: type, input: inputs, output: names }));
    return names;
  }

  int8s(name: string, dims: number[], data: Int8Array): string {
    this.initializers.push(onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.INT8, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }));
    return name;
  }

  /** Add a node with one output and return that output's name. */
  op(type: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string): string {
    const out = output ?? `${type.toLowerCase()}_${this.count}`;
    const attribute = Object.entries(attrs).map(([name, v]) =>
      typeof v === 'number'
        ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v }
        : Array.isArray(v)
          ? { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v }
          : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v.float },
    );
    this.nodes.push(onnx.NodeProto.create({ name: `${type}_${this.count++}`, opType: type, input: inputs, output: [out], attribute }));
    return out;
  }

  floats(name: string, dims: number[], data: Float32Array): string {
    const rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push(onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData }));
    return name;
  }

  scalar(name: string, value: number): string {
    return this.floats(name, [], Float32Array.of(value));
  }

  int64s(name: string, values: number[]): string {
    const data = BigInt64Array.from(values.map(BigInt));
    const rawData = new Uint8Array(data.buffer);
    this.initializers.push(onnx.TensorProto.create({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData }));
    return name;
  }
}

/** LayerNormalization over the last axis, decomposed (the op itself needs opset 17). */
function layerNorm(g: Graph, x: string, prefix: string): string {
  const h = ARCH.hidden;
  const gamma = g.floats(`${prefix}.weight`, [h], new Float32Array(h).fill(1));
  const beta = g.floats(`${prefix}.bias`, [h], new Float32Array(h));
  const mean = g.op('ReduceMean', [x], { axes: [-1], keepdims: 1 });
  const centred = g.op('Sub', [x, mean]);
  const variance = g.op('ReduceMean', [g.op('Mul', [centred, centred])], { axes: [-1], keepdims: 1 });
  const std = g.op('Sqrt', [g.op('Add', [variance, 'const.layer_norm_eps'])]);
  return g.op('Add', [g.op('Mul', [g.op('Div', [centred, std]), gamma]), beta]);
}

/**
 * Symmetric per-tensor int8 (zero point 0, scale max|w|/127), as onnxruntime's
 * dynamic quantization stores weights with QuantType.QInt8.
 */
function quantizeInt8(w: Float32Array): { q: Int8Array; scale: number } {
  let max = 0;
  for (const v of w) max = Math.max(max, Math.abs(v));
  const scale = Math.fround(max / 127 || 1);
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w[i]! / scale)));
  return { q, scale };
}

/**
 * x·W + b with W stored [in, out] (already transposed from PyTorch's [out, in]), like exported BERTs.
 * Quantized, it is what onnxruntime's quantize_dynamic makes of a MatMul (and what Xenova's
 * model_quantized.onnx files hold): DynamicQuantizeLinear of x (uint8, scale, zero point),
 * MatMulInteger with the int8 weights, Cast to float, Mul by the product of the two scales.
 */
function linear(g: Graph, x: string, prefix: string, inSize: number, outSize: number, seed: number): string {
  const weights = normal(inSize * outSize, 0.02, seed, `${prefix}.weight`);
  if (!g.quantized) {
    const w = g.floats(`${prefix}.weight`, [inSize, outSize], weights);
    const b = g.floats(`${prefix}.bias`, [outSize], new Float32Array(outSize));
    return g.op('Add', [g.op('MatMul', [x, w]), b]);
  }
  const { q, scale } = quantizeInt8(weights);
  const wq = g.int8s(`${prefix}.weight_quantized`, [inSize, outSize], q);
  const ws = g.scalar(`${prefix}.weight_scale`, scale);
  const wz = g.int8s(`${prefix}.weight_zero_point`, [], Int8Array.of(0));
  const b = g.floats(`${prefix}.bias`, [outSize], new Float32Array(outSize));
  let xq = g.quantizedInputs.get(x);
  if (!xq) g.quantizedInputs.set(x, (xq = g.opN('DynamicQuantizeLinear', [x], 3)));
  const [xu8, xs, xz] = xq as [string, string, string];
  const acc = g.op('Cast', [g.op('MatMulInteger', [xu8, wq, xz, wz])], { to: onnx.TensorProto.DataType.FLOAT });
  return g.op('Add', [g.op('Mul', [acc, g.op('Mul', [xs, ws])]), b]);
}

function attention(g: Graph, x: string, mask: string, prefix: string, seed: number): string {
  const { hidden } = ARCH;
  const split = (t: string, perm: number[]) => g.op('Transpose', [g.op('Reshape', [t, 'const.heads_shape'])], { perm });
  const q = split(linear(g, x, `${prefix}.self.query`, hidden, hidden, seed), [0, 2, 1, 3]); // [B, H, S, D]
  const k = split(linear(g, x, `${prefix}.self.key`, hidden, hidden, seed), [0, 2, 3, 1]); // [B, H, D, S]
  const v = split(linear(g, x, `${prefix}.self.value`, hidden, hidden, seed), [0, 2, 1, 3]);
  const scores = g.op('Add', [g.op('Div', [g.op('MatMul', [q, k]), 'const.head_scale']), mask]);
  const probs = g.op('Softmax', [scores], { axis: -1 });
  const context = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }), 'const.hidden_shape']);
  const out = linear(g, context, `${prefix}.output.dense`, hidden, hidden, seed);
  return layerNorm(g, g.op('Add', [out, x]), `${prefix}.output.LayerNorm`);
}

/** GELU with erf, as BERT's "gelu": 0.5·x·(1 + erf(x/√2)). */
function gelu(g: Graph, x: string): string {
  const erf = g.op('Erf', [g.op('Div', [x, 'const.sqrt2'])]);
  return g.op('Mul', [g.op('Mul', [x, g.op('Add', [erf, 'const.one'])]), 'const.half']);
}

/**
 * The serialised ONNX model for a seed: the same seed gives the same bytes.
 * `quantized`: its int8 twin (onnx/model_quantized.onnx, EMBEDDING_DTYPE=q8):
 * the same weights with every MatMul of a weight and the word-embedding
 * table stored as int8 (see linear), the rest as in the fp32 model.
 */
export function buildOnnxModel(seed: number, opts: { quantized?: boolean } = {}): Uint8Array {
  const { vocabSize, hidden, layers, heads, intermediate, maxPositions, typeVocab } = ARCH;
  const g = new Graph(opts.quantized);
  g.scalar('const.one', 1);
  g.scalar('const.half', 0.5);
  g.scalar('const.sqrt2', Math.SQRT2);
  g.scalar('const.layer_norm_eps', ARCH.layerNormEps);
  g.scalar('const.head_scale', Math.sqrt(hidden / heads));
  // The most negative float32, as Hugging Face's BERT uses for masked keys: exp() of it is exactly 0.
  g.scalar('const.mask_min', -3.4028234663852886e38);
  g.int64s('const.heads_shape', [0, 0, heads, hidden / heads]);
  g.int64s('const.hidden_shape', [0, 0, hidden]);
  g.int64s('const.zero', [0]);
  g.int64s('const.one_i64', [1]);
  g.int64s('const.mask_axes', [1, 2]);

  // Embeddings: word + position (rows 0..S-1, by Slice) + token type, then LayerNorm.
  const words = normal(vocabSize * hidden, 0.02, seed, 'embeddings.word_embeddings.weight');
  words.fill(0, 0, hidden); // the [PAD] row is zero, as nn.Embedding(padding_idx=0) leaves it
  // Quantized: a Gather of int8 rows, then DequantizeLinear, as onnxruntime quantizes Gather.
  const wordTable = g.quantized ? quantizeInt8(words) : null;
  const wordEmb = wordTable
    ? g.int8s('embeddings.word_embeddings.weight_quantized', [vocabSize, hidden], wordTable.q)
    : g.floats('embeddings.word_embeddings.weight', [vocabSize, hidden], words);
  const embed = () => {
    const rows = g.op('Gather', [wordEmb, 'input_ids'], { axis: 0 });
    if (!wordTable) return rows;
    return g.op('DequantizeLinear', [rows, g.scalar('embeddings.word_embeddings.weight_scale', wordTable.scale), g.int8s('embeddings.word_embeddings.weight_zero_point', [], Int8Array.of(0))]);
  };
  const posEmb = g.floats('embeddings.position_embeddings.weight', [maxPositions, hidden], normal(maxPositions * hidden, 0.02, seed, 'embeddings.position_embeddings.weight'));
  const typeEmb = g.floats('embeddings.token_type_embeddings.weight', [typeVocab, hidden], normal(typeVocab * hidden, 0.02, seed, 'embeddings.token_type_embeddings.weight'));
  const seqLen = g.op('Gather', [g.op('Shape', ['input_ids']), 'const.one_i64'], { axis: 0 }); // [1]
  const positions = g.op('Slice', [posEmb, 'const.zero', seqLen, 'const.zero']); // [S, hidden]
  const summed = g.op('Add', [g.op('Add', [embed(), positions]), g.op('Gather', [typeEmb, 'token_type_ids'], { axis: 0 })]);
  let h = layerNorm(g, summed, 'embeddings.LayerNorm');

  // Extended attention mask [B, 1, 1, S]: 0 where attended, the float minimum where padded.
  const keep = g.op('Cast', ['attention_mask'], { to: onnx.TensorProto.DataType.FLOAT });
  const blocked = g.op('Mul', [g.op('Sub', ['const.one', keep]), 'const.mask_min']);
  const mask = g.op('Unsqueeze', [blocked, 'const.mask_axes']);

  for (let i = 0; i < layers; i++) {
    const prefix = `encoder.layer.${i}`;
    const attended = attention(g, h, mask, `${prefix}.attention`, seed);
    const inner = gelu(g, linear(g, attended, `${prefix}.intermediate.dense`, hidden, intermediate, seed));
    const out = linear(g, inner, `${prefix}.output.dense`, intermediate, hidden, seed);
    h = layerNorm(g, g.op('Add', [out, attended]), `${prefix}.output.LayerNorm`);
  }
  g.op('Identity', [h], {}, 'last_hidden_state');

  const dims = (...d: Array<string | number>) => ({ dim: d.map((x) => (typeof x === 'string' ? { dimParam: x } : { dimValue: x })) });
  const int64Input = (name: string) => ({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.INT64, shape: dims('batch_size', 'sequence_length') } } });
  const model = onnx.ModelProto.create({
    irVersion: 7, // the IR of ONNX 1.8/1.9, which introduced opset 13/14
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'gleaner make-test-model',
    producerVersion: '1',
    docString: `Random-weight stand-in for all-MiniLM-L6-v2 (seed ${seed}${g.quantized ? ', int8 weights' : ''}); no semantic quality.`,
    graph: {
      name: 'bert',
      node: g.nodes,
      initializer: g.initializers,
      input: ['input_ids', 'attention_mask', 'token_type_ids'].map(int64Input),
      output: [{ name: 'last_hidden_state', type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: dims('batch_size', 'sequence_length', hidden) } } }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Parse a model written by buildOnnxModel (or any ONNX file), for checks. */
export function decodeOnnxModel(bytes: Uint8Array): InstanceType<typeof onnx.ModelProto> {
  return onnx.ModelProto.decode(bytes);
}
