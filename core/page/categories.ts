// Page categories: the label whose description embeds nearest to the page
// (zero-shot), plus what the page says about itself: its URL path, title,
// headings and JSON-LD type. The label set is part of the API (documented in
// the README); descriptions are written as the kind of text such pages
// contain, which is what a sentence-embedding model compares well. The page's
// own evidence is added to the cosine score, so a weak model (or a page whose
// text reads like another label's) cannot call /pricing a blog post.
import type { Embedder } from '../embeddings/types.js';
import type { PageEvidence } from './evidence.js';

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

/** Words each label's pages name themselves by: URL path segments, title and heading phrases, JSON-LD types. */
const CATEGORY_SIGNS: Record<Category, { paths: string[]; phrases: string[]; types: string[] }> = {
  pricing: { paths: ['pricing', 'prices', 'price', 'plans', 'plans-and-pricing', 'buy', 'subscribe'], phrases: ['pricing', 'prices', 'plans and pricing', 'our plans', 'price list'], types: ['PriceSpecification', 'Offer', 'AggregateOffer'] },
  product: { paths: ['product', 'products', 'features', 'feature', 'solutions', 'integrations', 'platform', 'tour'], phrases: ['features', 'product tour', 'integrations', 'how it works'], types: ['Product', 'SoftwareApplication', 'WebApplication', 'MobileApplication'] },
  docs: { paths: ['docs', 'doc', 'documentation', 'guide', 'guides', 'api', 'reference', 'quickstart', 'getting-started', 'tutorial', 'tutorials', 'manual', 'developers'], phrases: ['documentation', 'getting started', 'quickstart', 'api reference', 'reference', 'tutorial', 'installation', 'guide'], types: ['TechArticle', 'APIReference', 'HowTo'] },
  blog: { paths: ['blog', 'news', 'articles', 'article', 'posts', 'post', 'stories', 'insights', 'press'], phrases: ['blog', 'news'], types: ['BlogPosting', 'NewsArticle', 'Blog', 'Article', 'Report'] },
  about: { paths: ['about', 'about-us', 'company', 'team', 'our-story', 'mission', 'who-we-are'], phrases: ['about', 'about us', 'our team', 'our story', 'our mission', 'who we are'], types: ['AboutPage'] },
  careers: { paths: ['careers', 'career', 'jobs', 'job', 'join', 'join-us', 'hiring', 'work-with-us'], phrases: ['careers', 'jobs', 'open positions', 'we are hiring', 'join our team', 'join us'], types: ['JobPosting'] },
  legal: { paths: ['legal', 'privacy', 'privacy-policy', 'terms', 'terms-of-service', 'tos', 'cookies', 'cookie-policy', 'gdpr', 'imprint', 'impressum', 'license', 'dpa', 'security-policy'], phrases: ['privacy policy', 'privacy', 'terms of service', 'terms and conditions', 'terms of use', 'cookie policy', 'legal', 'imprint'], types: [] },
  support: { paths: ['support', 'help', 'faq', 'faqs', 'kb', 'knowledge-base', 'helpdesk', 'troubleshooting'], phrases: ['help center', 'help centre', 'support', 'faq', 'frequently asked questions', 'troubleshooting'], types: ['FAQPage', 'QAPage'] },
  contact: { paths: ['contact', 'contact-us', 'get-in-touch', 'contact-sales'], phrases: ['contact', 'contact us', 'get in touch', 'talk to sales'], types: ['ContactPage'] },
  changelog: { paths: ['changelog', 'changes', 'releases', 'release-notes', 'whats-new', 'updates', 'history'], phrases: ['changelog', 'release notes', "what's new", 'whats new', 'releases'], types: [] },
};

/** How much each kind of evidence adds to a label's cosine score (cosines of a sentence model sit around 0–0.6). */
const EVIDENCE_WEIGHT = { firstPathSegment: 0.5, laterPathSegment: 0.3, title: 0.25, heading: 0.2, jsonLdType: 0.35, max: 1 } as const;
const LOCALE_SEGMENT = /^[a-z]{2}(?:[-_][a-z]{2})?$/;

/** Lowercased words separated by single spaces, padded, so a phrase matches whole words only. */
function words(text: string): string {
  return ` ${text.slice(0, 500).toLowerCase().replace(/[’']/g, "'").replace(/[^\p{L}\p{N}']+/gu, ' ').trim()} `;
}

function pathSegments(url: string): string[] {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return [];
  }
  const segments = path
    .toLowerCase()
    .split('/')
    .filter(Boolean)
    .map((s) => s.replace(/\.(?:html?|php|aspx?)$/, ''));
  return segments[0] && LOCALE_SEGMENT.test(segments[0]) ? segments.slice(1) : segments;
}

/** Each label's score from the page's own evidence (0 when the page says nothing about it). */
export function evidenceScores(evidence: PageEvidence): Record<Category, number> {
  const segments = pathSegments(evidence.url);
  const title = words(evidence.title ?? '');
  const headings = (evidence.headings ?? []).slice(0, 3).map(words);
  const types = new Set(evidence.jsonLdTypes ?? []);
  const scores = {} as Record<Category, number>;
  for (const c of CATEGORIES) {
    const signs = CATEGORY_SIGNS[c];
    let score = 0;
    const at = segments.findIndex((s) => signs.paths.includes(s));
    if (at === 0) score += EVIDENCE_WEIGHT.firstPathSegment;
    else if (at > 0) score += EVIDENCE_WEIGHT.laterPathSegment;
    if (signs.phrases.some((p) => title.includes(` ${p} `))) score += EVIDENCE_WEIGHT.title;
    if (headings.some((h) => signs.phrases.some((p) => h.includes(` ${p} `)))) score += EVIDENCE_WEIGHT.heading;
    if (signs.types.some((t) => types.has(t))) score += EVIDENCE_WEIGHT.jsonLdType;
    scores[c] = Math.min(score, EVIDENCE_WEIGHT.max);
  }
  return scores;
}

/**
 * The category of a page: each label's cosine similarity to the page vector,
 * plus the page's own evidence when given. `scores` are the sums.
 */
export async function categorize(embedder: Embedder, pageVector: Float32Array, evidence?: PageEvidence): Promise<{ category: Category; scores: Record<Category, number> }> {
  const vectors = await labels(embedder);
  const fromPage = evidence ? evidenceScores(evidence) : null;
  const scores = {} as Record<Category, number>;
  let best: Category = CATEGORIES[0] as Category;
  CATEGORIES.forEach((c, i) => {
    scores[c] = dot(pageVector, vectors[i] as Float32Array) + (fromPage?.[c] ?? 0);
    if (scores[c] > scores[best]) best = c;
  });
  return { category: best, scores };
}
