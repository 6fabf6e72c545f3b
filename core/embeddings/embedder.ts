// Sentence embeddings from a BERT-style model loaded by transformers.js:
// tokenise, truncate to maxTokens (keeping [CLS] … [SEP]), pad per batch, run,
// mean-pool over the attention mask and L2-normalise. This runs on the
// embedding thread (embeddingThread.ts); the main thread only queues batches.
import type { PreTrainedModel, PreTrainedTokenizer, Tensor } from '@huggingface/transformers';
import { meanPoolNormalize } from './pooling.js';
import { byLength } from './protocol.js';

export interface ModelParts {
  tokenizer: PreTrainedTokenizer;
  model: PreTrainedModel;
  /** transformers.js's Tensor class (the module is loaded lazily, so it is passed in). */
  Tensor: typeof Tensor;
}

/** The special tokens the tokenizer's template puts around one text ([CLS] and [SEP] for BERT). */
function templateTokens(tokenizer: PreTrainedTokenizer): { prefix: number[]; suffix: number[] } {
  const plain = tokenizer.encode('hello world', { add_special_tokens: false });
  const wrapped = tokenizer.encode('hello world', { add_special_tokens: true });
  for (let i = 0; i + plain.length <= wrapped.length; i++) {
    if (plain.every((id, j) => wrapped[i + j] === id)) return { prefix: wrapped.slice(0, i), suffix: wrapped.slice(i + plain.length) };
  }
  throw new Error('the tokenizer adds special tokens inside the text; only templates around it are supported');
}

/** One loaded model and tokenizer. */
export class EmbeddingModel {
  readonly dimension: number;
  readonly maxTokens: number;
  private readonly prefix: number[];
  private readonly suffix: number[];
  private readonly padId: number;
  disposed = false;

  constructor(
    private readonly parts: ModelParts,
    options: { maxTokens: number },
  ) {
    const config = parts.model.config as { hidden_size?: unknown; max_position_embeddings?: unknown };
    if (typeof config.hidden_size !== 'number') throw new Error('the model config has no hidden_size');
    this.dimension = config.hidden_size;
    const positions = typeof config.max_position_embeddings === 'number' ? config.max_position_embeddings : Infinity;
    this.maxTokens = Math.min(options.maxTokens, parts.tokenizer.model_max_length ?? Infinity, positions);
    ({ prefix: this.prefix, suffix: this.suffix } = templateTokens(parts.tokenizer));
    this.padId = parts.tokenizer.pad_token_id ?? 0;
    if (this.maxTokens <= this.prefix.length + this.suffix.length) throw new Error(`maxTokens ${this.maxTokens} leaves no room for text`);
  }

  /** Model tokens in `text`, without special tokens and without truncation. */
  countTokens(text: string): number {
    return this.parts.tokenizer.encode(text, { add_special_tokens: false }).length;
  }

  /** Model input ids for one text: the template around its first tokens, at most maxTokens in all. */
  inputIds(text: string): number[] {
    const room = this.maxTokens - this.prefix.length - this.suffix.length;
    const content = this.parts.tokenizer.encode(text, { add_special_tokens: false });
    return [...this.prefix, ...content.slice(0, room), ...this.suffix];
  }

  /** Texts that fit one batch: run shortest first (as a multi-batch request would), answered in the callers' order. */
  async embed(texts: string[]): Promise<Float32Array[]> {
    const ids = texts.map((t) => this.inputIds(t));
    const order = byLength(ids.map((r) => r.length));
    const vectors = await this.run(order.map((i) => ids[i] as number[]));
    const out: Float32Array[] = new Array(texts.length);
    order.forEach((i, j) => (out[i] = vectors[j] as Float32Array));
    return out;
  }

  /** One model call on already tokenised rows, padded on the right to the longest. */
  async run(rows: number[][]): Promise<Float32Array[]> {
    if (this.disposed) throw new Error('the embedding model was closed');
    const batch = rows.length;
    const seq = Math.max(...rows.map((r) => r.length));
    const inputIds = new BigInt64Array(batch * seq).fill(BigInt(this.padId));
    const mask = new BigInt64Array(batch * seq);
    rows.forEach((row, b) => {
      row.forEach((id, s) => {
        inputIds[b * seq + s] = BigInt(id);
        mask[b * seq + s] = 1n;
      });
    });
    const { Tensor } = this.parts;
    const output = (await this.parts.model({
      input_ids: new Tensor('int64', inputIds, [batch, seq]),
      attention_mask: new Tensor('int64', mask, [batch, seq]),
      token_type_ids: new Tensor('int64', new BigInt64Array(batch * seq), [batch, seq]),
    })) as { last_hidden_state?: Tensor };
    const hidden = output.last_hidden_state;
    if (!hidden || !(hidden.data instanceof Float32Array) || hidden.dims.join() !== [batch, seq, this.dimension].join()) {
      throw new Error(`the model returned ${hidden ? `a ${hidden.type} [${hidden.dims.join(', ')}] tensor` : 'no last_hidden_state'}, expected float32 [${batch}, ${seq}, ${this.dimension}]`);
    }
    return meanPoolNormalize(hidden.data, mask, batch, seq, this.dimension);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.parts.model.dispose();
  }
}
