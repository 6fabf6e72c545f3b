// A business profile from a site's own pages, without an LLM: the name and
// description from metadata and JSON-LD (Organization, Product), zero-shot
// classification of the site over documented taxonomies (core/business/
// taxonomies.ts) with the embedding model, and extractive sentences for the
// value proposition, selling points and pain points. The shape is
// KnowledgeSDK's BusinessProfile; confidenceScore comes from the classifiers'
// margins (the softmax weight of each winning label, averaged).
import { dot } from '../page/categories.js';
import type { Embedder } from '../embeddings/types.js';
import type { ExtractedPage } from '../extraction/index.js';
import { jsonLdFromHtml, jsonLdTypes, type JsonLdNode } from '../page/evidence.js';
import { BUSINESS_TYPES, INDUSTRY_SECTORS, SENTENCE_PROMPTS, TARGET_AUDIENCES } from './taxonomies.js';

export interface BusinessProfile {
  businessName: string;
  businessType: string;
  industrySector: string;
  targetAudience: string;
  description: string;
  valueProposition: string;
  painPoints: string[];
  uniqueSellingPoints: string[];
  keyInsights: string[];
  /** 0–1. */
  confidenceScore: number;
}

export interface ProfilePage {
  url: string;
  title: string | null;
  description: string | null;
  siteName: string | null;
  language: string | null;
  /** Heading texts with their level, in document order. */
  headings: { level: number; text: string }[];
  text: string;
  markdown: string;
  jsonLd: JsonLdNode[];
}

/** A fetched and extracted page as the profile reads it. */
export function profilePage(url: string, content: ExtractedPage, html: string): ProfilePage {
  const c = content;
  return { url, title: c.title, description: c.description, siteName: c.siteName, language: c.language, headings: c.headings, text: c.text, markdown: c.markdown, jsonLd: jsonLdFromHtml(html) };
}

const MAX_CANDIDATES = 160;
const MAX_SENTENCE = 280;
const MIN_SENTENCE = 25;
/** Softmax temperature over cosine scores: a margin of 0.05 between the top two labels gives the winner ~73 %. */
const TEMPERATURE = 0.05;
const ORGANIZATION_TYPES = new Set(['Organization', 'Corporation', 'LocalBusiness', 'OnlineBusiness', 'OnlineStore', 'Store', 'NGO', 'EducationalOrganization', 'MedicalOrganization', 'ProfessionalService']);
const PRODUCT_TYPES = new Set(['Product', 'SoftwareApplication', 'WebApplication', 'MobileApplication', 'Service']);
const PAIN_WORDS = /\b(?:struggl|problem|pain|frustrat|hassle|difficult|hard to|manual|spreadsheet|waste|slow|costly|expensive|error|mistake|worr|tedious|risk|lose|losing|late|lean|chaos|messy)/i;
const PRICE = /(?:[$€£¥]\s?\d|\d\s?(?:usd|eur|gbp)\b|\bfree\b|per month|per year|\/mo\b)/i;
const SEPARATORS = [' — ', ' – ', ' | ', ' - ', ' · ', ' :: ', ': '];

const labelCache = new WeakMap<Embedder, Map<string, Promise<Float32Array[]>>>();

function labelVectors(embedder: Embedder, name: string, descriptions: string[]): Promise<Float32Array[]> {
  let byName = labelCache.get(embedder);
  if (!byName) labelCache.set(embedder, (byName = new Map()));
  let vectors = byName.get(name);
  if (!vectors) {
    vectors = embedder.embed(descriptions);
    vectors.catch(() => byName.delete(name));
    byName.set(name, vectors);
  }
  return vectors;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v.replace(/\s+/g, ' ').trim() : null);
const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1).replace(/[\uD800-\uDBFF]$/, '')}…`);

/** The brand in a title such as "Orchard Ledger — bookkeeping for orchards": the shortest part around a separator. */
export function brandFromTitle(title: string | null): string | null {
  if (!title) return null;
  for (const sep of SEPARATORS) {
    if (!title.includes(sep)) continue;
    const parts = title.split(sep).map((p) => p.trim()).filter(Boolean);
    if (parts.length > 1) return parts.reduce((a, b) => (b.length < a.length ? b : a));
  }
  return title.length <= 40 ? title.trim() : null;
}

function domainOf(url: string): string {
  try {
    return new URL(url).hostname.replace(/^www\./, '');
  } catch {
    return url;
  }
}

/** Sentences of a text, bounded in number and length (split on . ! ? followed by a space; linear). */
export function sentences(text: string, max: number): string[] {
  const out: string[] = [];
  let start = 0;
  const t = text.length > 200_000 ? text.slice(0, 200_000) : text;
  for (let i = 0; i < t.length && out.length < max; i++) {
    const c = t[i];
    const end = c === '\n' || ((c === '.' || c === '!' || c === '?') && (i + 1 === t.length || /\s/.test(t[i + 1]!)));
    if (!end && i + 1 < t.length) continue;
    const s = t.slice(start, i + 1).replace(/\s+/g, ' ').trim();
    start = i + 1;
    if (s.length >= MIN_SENTENCE && s.length <= MAX_SENTENCE && /\p{L}{3}/u.test(s)) out.push(s);
  }
  return out;
}

/** Markdown list items (lines starting with -, * or a number), bounded. */
function listItems(markdown: string, max: number): string[] {
  const out: string[] = [];
  for (const line of markdown.slice(0, 200_000).split('\n')) {
    if (out.length >= max) break;
    if (line.length > 1000) continue; // longer than any item kept, even with its link targets
    const m = /^\s{0,6}(?:[-*+]|\d{1,3}[.)])\s+(.*)$/.exec(line);
    const item = m?.[1] ? m[1].replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[*_`]/g, '').trim() : null;
    if (item && item.length >= MIN_SENTENCE && item.length <= MAX_SENTENCE) out.push(item);
  }
  return out;
}

interface Candidate {
  text: string;
  /** Prior from where it was found: the home page's top lines weigh more. */
  prior: number;
  listItem: boolean;
}

function classify<L extends string>(vector: Float32Array, labels: readonly L[], vectors: Float32Array[], bonus: Partial<Record<L, number>> = {}) {
  const scores = labels.map((l, i) => dot(vector, vectors[i]!) + (bonus[l] ?? 0));
  const max = Math.max(...scores);
  const weights = scores.map((s) => Math.exp((s - max) / TEMPERATURE));
  const total = weights.reduce((a, b) => a + b, 0);
  const best = scores.indexOf(max);
  return { label: labels[best]!, probability: weights[best]! / total };
}

function topDistinct(cands: Candidate[], scores: number[], n: number, taken: Set<string>): string[] {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]);
  const out: string[] = [];
  for (const [, i] of order) {
    if (out.length >= n) break;
    const key = cands[i]!.text.toLowerCase();
    if (taken.has(key)) continue;
    taken.add(key);
    out.push(cands[i]!.text);
  }
  return out;
}

/**
 * The profile of the business behind `pages` (the home page first, then the
 * others: about and pricing pages add most). `categories` (a label per page,
 * when known) add the site's sections to the key insights.
 */
export async function buildBusinessProfile(pages: ProfilePage[], embedder: Embedder, opts: { signal?: AbortSignal; categories?: (string | null)[] } = {}): Promise<BusinessProfile> {
  const home = pages[0];
  if (!home) throw new RangeError('a business profile needs at least one page');
  const ld = pages.flatMap((p) => p.jsonLd);
  const org = ld.find((n) => jsonLdTypes(n).some((t) => ORGANIZATION_TYPES.has(t)) && str(n.name));
  const products = ld.filter((n) => jsonLdTypes(n).some((t) => PRODUCT_TYPES.has(t)) && str(n.name));
  const about = pages.find((p) => /\/(?:about|company|team|our-story)/i.test(new URL(p.url).pathname));

  const businessName = str(org?.name) ?? home.siteName ?? brandFromTitle(home.title) ?? domainOf(home.url);
  const description = clip(str(org?.description) ?? home.description ?? sentences(home.text, 1)[0] ?? about?.description ?? home.title ?? businessName, 500);

  // The site in a few lines, for the classifiers.
  const topHeadings = home.headings.filter((h) => h.level <= 2).slice(0, 6).map((h) => h.text);
  const siteText = [businessName, description, ...topHeadings, ...products.slice(0, 3).map((p) => `${str(p.name)}: ${str(p.description) ?? ''}`), about?.description ?? '', ...sentences(home.text, 4)]
    .filter(Boolean)
    .join('\n');

  // Candidate sentences: home page first (its h1 and description weigh most), then the other pages.
  const cands: Candidate[] = [];
  const seen = new Set<string>();
  const add = (text: string | null, prior: number, listItem = false) => {
    const t = text?.replace(/\s+/g, ' ').trim();
    if (!t || t.length < MIN_SENTENCE || t.length > MAX_SENTENCE || seen.has(t.toLowerCase()) || cands.length >= MAX_CANDIDATES) return;
    seen.add(t.toLowerCase());
    cands.push({ text: t, prior, listItem });
  };
  add(home.description, 0.12);
  for (const h of home.headings.filter((x) => x.level === 1)) add(h.text, 0.1);
  sentences(home.text, 30).forEach((s, i) => add(s, i < 3 ? 0.06 : 0.02));
  listItems(home.markdown, 20).forEach((s) => add(s, 0.03, true));
  for (const p of pages.slice(1)) {
    add(p.description, 0.01);
    sentences(p.text, 20).forEach((s) => add(s, 0));
    listItems(p.markdown, 10).forEach((s) => add(s, 0, true));
  }

  const typeLabels = Object.keys(BUSINESS_TYPES) as (keyof typeof BUSINESS_TYPES)[];
  const sectorLabels = Object.keys(INDUSTRY_SECTORS) as (keyof typeof INDUSTRY_SECTORS)[];
  const audienceLabels = Object.keys(TARGET_AUDIENCES) as (keyof typeof TARGET_AUDIENCES)[];
  const promptKeys = Object.keys(SENTENCE_PROMPTS) as (keyof typeof SENTENCE_PROMPTS)[];
  const [typeVectors, sectorVectors, audienceVectors, promptVectors, embedded] = await Promise.all([
    labelVectors(embedder, 'businessTypes', Object.values(BUSINESS_TYPES)),
    labelVectors(embedder, 'industrySectors', Object.values(INDUSTRY_SECTORS)),
    labelVectors(embedder, 'targetAudiences', Object.values(TARGET_AUDIENCES)),
    labelVectors(embedder, 'sentencePrompts', Object.values(SENTENCE_PROMPTS)),
    embedder.embed([siteText, ...cands.map((c) => c.text)], { signal: opts.signal }),
  ]);
  const [siteVector, ...candVectors] = embedded as [Float32Array, ...Float32Array[]];

  // JSON-LD says outright what some sites are.
  const typeBonus: Partial<Record<keyof typeof BUSINESS_TYPES, number>> = {};
  const ldTypes = new Set(ld.flatMap(jsonLdTypes));
  if (ldTypes.has('LocalBusiness') || ldTypes.has('Store')) typeBonus['Local business'] = 0.2;
  if (ldTypes.has('SoftwareApplication') || ldTypes.has('WebApplication')) typeBonus.SaaS = 0.15;
  if (ldTypes.has('OnlineStore')) typeBonus['E-commerce'] = 0.2;
  if (ldTypes.has('NGO')) typeBonus['Non-profit'] = 0.2;
  const type = classify(siteVector, typeLabels, typeVectors, typeBonus);
  const sector = classify(siteVector, sectorLabels, sectorVectors);
  const audience = classify(siteVector, audienceLabels, audienceVectors);

  const score = (prompt: keyof typeof SENTENCE_PROMPTS, extra: (c: Candidate) => number) => {
    const pv = promptVectors[promptKeys.indexOf(prompt)]!;
    return cands.map((c, i) => dot(candVectors[i]!, pv) + c.prior + extra(c));
  };
  const taken = new Set<string>();
  const valueProposition = topDistinct(cands, score('valueProposition', () => 0), 1, taken)[0] ?? description;
  const uniqueSellingPoints = topDistinct(cands, score('uniqueSellingPoints', (c) => (c.listItem ? 0.08 : 0)), 3, taken);
  const painPoints = topDistinct(cands, score('painPoints', (c) => (PAIN_WORDS.test(c.text) ? 0.15 : -0.05)), 3, taken);

  return {
    businessName: clip(businessName, 200),
    businessType: type.label,
    industrySector: sector.label,
    targetAudience: audience.label,
    description,
    valueProposition,
    painPoints,
    uniqueSellingPoints,
    keyInsights: keyInsights(pages, { org, products, categories: opts.categories }),
    confidenceScore: Math.round(((type.probability + sector.probability + audience.probability) / 3) * 1000) / 1000,
  };
}

/** Facts stated on the site: its prices, JSON-LD facts, products, sections and language. At most 6. */
function keyInsights(pages: ProfilePage[], ctx: { org: JsonLdNode | undefined; products: JsonLdNode[]; categories?: (string | null)[] }): string[] {
  const out: string[] = [];
  const pricing = pages.find((p) => /\/(?:pricing|plans|prices?)(?:\/|$)/i.test(new URL(p.url).pathname)) ?? pages.find((p) => p.headings.filter((h) => PRICE.test(h.text)).length >= 2);
  if (pricing) {
    const plans = pricing.headings.filter((h) => h.level >= 2 && PRICE.test(h.text)).slice(0, 5).map((h) => h.text);
    if (plans.length) out.push(`Pricing: ${plans.join('; ')}`);
  }
  const founded = str(ctx.org?.foundingDate);
  if (founded) out.push(`Founded: ${founded}`);
  const employees = ctx.org?.numberOfEmployees;
  const employeeCount = typeof employees === 'object' && employees ? str((employees as JsonLdNode).value) : str(employees);
  if (employeeCount) out.push(`Employees: ${employeeCount}`);
  if (ctx.products.length) out.push(`Products: ${ctx.products.slice(0, 5).map((p) => str(p.name)).join(', ')}`);
  const sections = [...new Set((ctx.categories ?? []).filter((c): c is string => !!c))];
  if (sections.length) out.push(`Site sections: ${sections.join(', ')} (${pages.length} pages read)`);
  const language = pages[0]?.language;
  if (language) out.push(`Content language: ${language}`);
  return out.slice(0, 6).map((s) => clip(s, 300));
}
