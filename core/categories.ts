// Zero-shot page categories: the label whose description embeds nearest to
// the page. The label set is part of the API (documented in the README);
// descriptions are written as the kind of text such pages contain, which is
// what a sentence-embedding model compares well.
import type { Embedder } from './embeddings/types.js';

export const CATEGORY_DESCRIPTIONS = {
  pricing: 'Pricing plans and prices: free tier, pro and enterprise plans, cost per month or per year, billing and subscriptions.',
  product: 'Product features and overview: what the product does, its capabilities, integrations and benefits for customers.',
  docs: 'Technical documentation: installation guide, configuration, API reference, code examples, parameters and tutorials.',
  blog: 'Blog post or article: news, announcements, opinions and stories written by an author on a date.',
  about: 'About the company: our mission, history, team, founders, investors and values.',
  careers: 'Careers and jobs: open positions, hiring, job descriptions, benefits and how to apply.',
  legal: 'Legal terms: privacy policy, terms of service, cookies, data processing, licences and compliance.',
  support: 'Help and support: frequently asked questions, troubleshooting, contact support and the help center.',
  contact: 'Contact us: email address, phone number, office address and a form to get in touch with sales.',
  changelog: 'Changelog and release notes: versions, what changed, fixes and new features by release date.',
} as const;

export type Category = keyof typeof CATEGORY_DESCRIPTIONS;
export const CATEGORIES = Object.keys(CATEGORY_DESCRIPTIONS) as Category[];

const labelVectors = new WeakMap<Embedder, Promise<Float32Array[]>>();

/** The label descriptions' vectors, computed once per loaded model. */
function labels(embedder: Embedder): Promise<Float32Array[]> {
  let vectors = labelVectors.get(embedder);
  if (!vectors) {
    vectors = embedder.embed(CATEGORIES.map((c) => CATEGORY_DESCRIPTIONS[c]));
    vectors.catch(() => labelVectors.delete(embedder));
    labelVectors.set(embedder, vectors);
  }
  return vectors;
}

export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

/** Normalised mean of unit vectors: the page's direction from its chunks. */
export function meanVector(vectors: Float32Array[]): Float32Array {
  const first = vectors[0];
  if (!first) throw new RangeError('meanVector needs at least one vector');
  const mean = new Float32Array(first.length);
  for (const v of vectors) for (let i = 0; i < v.length; i++) (mean[i] as number) += v[i] as number;
  const norm = Math.hypot(...mean) || 1;
  for (let i = 0; i < mean.length; i++) (mean[i] as number) /= norm;
  return mean;
}

/** The nearest category to a page vector, with every label's cosine similarity. */
export async function categorize(embedder: Embedder, pageVector: Float32Array): Promise<{ category: Category; scores: Record<Category, number> }> {
  const vectors = await labels(embedder);
  const scores = {} as Record<Category, number>;
  let best: Category = CATEGORIES[0] as Category;
  CATEGORIES.forEach((c, i) => {
    scores[c] = dot(pageVector, vectors[i] as Float32Array);
    if (scores[c] > scores[best]) best = c;
  });
  return { category: best, scores };
}
