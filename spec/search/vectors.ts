// Synthetic, deterministic unit vectors for the search index tests: the index
// is tested independently of the embedding model.
import type { IndexedChunk } from '../../core/search/types.js';
import { mulberry32 } from '../../testing/seededRandom.js';

export const DIMENSION = 384;

function normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const n = Math.sqrt(sum);
  return v.map((x) => x / n);
}

/** A random direction; different seeds give nearly orthogonal vectors in 384 dimensions. */
export function unitVector(seed: number, dimension = DIMENSION): Float32Array {
  const next = mulberry32(seed * 7919 + 1);
  // Box–Muller: Gaussian components give a uniformly random direction.
  return normalise(Float32Array.from({ length: dimension }, () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next())));
}

/** unitVector(seed) nudged by `noise` (cosine to it ≈ 1 / sqrt(1 + noise²)). */
export function nearby(seed: number, noise: number, dimension = DIMENSION): Float32Array {
  const base = unitVector(seed, dimension);
  const jitter = unitVector(seed + 1_000_003, dimension);
  return normalise(base.map((x, i) => x + noise * jitter[i]!));
}

export function chunk(id: string, url: string, title: string, content: string, seed: number): IndexedChunk {
  return { id, jobId: 'job_test', url, title, headingPath: [title, 'Section'], content, category: 'general', position: 0, embedding: unitVector(seed) };
}
