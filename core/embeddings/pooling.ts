/**
 * Mean of each row's hidden states over its attended positions, scaled to unit
 * length (what sentence-transformers does for all-MiniLM-L6-v2).
 * `hidden` is [batch, seq, dim] row-major; `mask` is [batch, seq], 1 = attended.
 */
export function meanPoolNormalize(hidden: Float32Array, mask: ArrayLike<number | bigint>, batch: number, seq: number, dim: number): Float32Array[] {
  if (hidden.length !== batch * seq * dim || mask.length !== batch * seq) {
    throw new Error(`hidden states of ${hidden.length} values and a mask of ${mask.length} do not fit [${batch}, ${seq}, ${dim}]`);
  }
  const out: Float32Array[] = [];
  const sum = new Float64Array(dim);
  for (let b = 0; b < batch; b++) {
    sum.fill(0);
    let count = 0;
    for (let s = 0; s < seq; s++) {
      if (Number(mask[b * seq + s]) === 0) continue;
      count++;
      const base = (b * seq + s) * dim;
      for (let d = 0; d < dim; d++) sum[d] = (sum[d] as number) + (hidden[base + d] as number);
    }
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      const mean = (sum[d] as number) / Math.max(count, 1);
      sum[d] = mean;
      norm += mean * mean;
    }
    // The same floor as torch.nn.functional.normalize, so an all-zero row stays zero instead of NaN.
    const scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
    const vector = new Float32Array(dim);
    for (let d = 0; d < dim; d++) vector[d] = (sum[d] as number) * scale;
    out.push(vector);
  }
  return out;
}
