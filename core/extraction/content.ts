/**
 * Main-content selection: mark junk and boilerplate, choose the container,
 * filter link-heavy blocks inside it, render; widen the selection when the
 * result is implausibly short, so a page with text never yields nothing.
 */
import { classifyBoilerplate, isJunk } from './boilerplate.js';
import { findMarkedContainer, findMarkerAncestors, findScoredContainer, normaliseTitle } from './container.js';
import { type DomElement, isAncestor, isElement } from './dom.js';
import { MAX_RENDER_DEPTH, plainParagraphs, treeDepth } from './plaintext.js';
import { type Rendered, escapeMarkdown, renderBlocks } from './render.js';
import type { DocumentScan } from './scan.js';
import { type StatsMap, computeStats, linkDensity } from './stats.js';

export interface Content extends Rendered {
  /** Which selection produced the result (for evaluation and debugging). */
  method: string;
}

/** Below this many characters the chosen selection is suspected to have missed the article. */
const SHORT_TEXT = 200;

/** Visible characters a skipped element needs to count as a section of its own. */
const GAP_MIN_TEXT = 15;

/** How much more prose a scored container around a marker needs to replace it. */
const MARKER_OVERRIDE = 2;

const LIST_LIKE = new Set(['ul', 'ol', 'dl', 'table', 'menu']);
const SECTION_LIKE = new Set(['div', 'section', 'p', 'span', 'font', 'center', 'dd']);

/** At most this much added text (relative to the container's) for a parent to count as the same article. */
const WIDEN_RATIO = 0.4;
const WIDEN_MAX_LINKS = 0.3;
const WIDEN_LEVELS = 1;

function widen(el: DomElement, body: DomElement, stats: StatsMap): DomElement {
  let cur = el;
  for (let i = 0; i < WIDEN_LEVELS; i++) {
    const parent = cur.parent;
    if (!parent || !isElement(parent) || parent === body) break;
    const c = stats.get(cur);
    const p = stats.get(parent);
    if (!c || !p) break;
    const added = p.text - c.text;
    const addedLinks = p.link - c.link;
    if (added > WIDEN_RATIO * c.text || (added > 0 && addedLinks > WIDEN_MAX_LINKS * added)) break;
    cur = parent;
  }
  return cur;
}

export function extractContent(doc: DocumentScan, base: string, title: string): Content {
  // htmlparser2 builds no implied <body>: pages without one are taken whole.
  const body = doc.body ?? doc.root;
  if (treeDepth(body) > MAX_RENDER_DEPTH) return plainContent(body);
  try {
    return selectContent(body, base, title);
  } catch (err) {
    // Belt and braces for stack exhaustion: a page must never make the pipeline fail.
    if (err instanceof RangeError) return plainContent(body);
    throw err;
  }
}

function plainContent(body: DomElement): Content {
  const paragraphs = plainParagraphs(body, isJunk);
  return { text: paragraphs.join('\n\n'), markdown: paragraphs.map(escapeMarkdown).join('\n\n'), headings: [], method: 'plain' };
}

function selectContent(body: DomElement, base: string, title: string): Content {
  const visibleStats = computeStats(body, isJunk);
  const { junk, boiler } = classifyBoilerplate(body, findMarkerAncestors(body), visibleStats);
  const skipBoiler = (el: DomElement): boolean => junk.has(el) || boiler.has(el);
  const stats = computeStats(body, skipBoiler);

  // Inside the content, blocks made mostly of links are navigation (tag lists, "read next", link farms).
  const linkHeavy = (el: DomElement): boolean => {
    const s = stats.get(el);
    if (!s || s.text === 0) return false;
    const ld = linkDensity(s);
    if (LIST_LIKE.has(el.name)) return ld > 0.6;
    if (SECTION_LIKE.has(el.name)) return ld > 0.6 && s.text < 1000;
    return false;
  };
  const skipContent = (el: DomElement): boolean => skipBoiler(el) || linkHeavy(el);
  // Skipped furniture with visible text ends a section: a heading right before it was its title.
  const isGap = (el: DomElement): boolean => !junk.has(el) && (visibleStats.get(el)?.text ?? 0) >= GAP_MIN_TEXT;

  const marked = findMarkedContainer(body, stats, skipBoiler, normaliseTitle(title));
  const scored = findScoredContainer(body, stats, skipBoiler);
  const tries = [marked, scored];
  // A marker that holds a small part of the article (a lead paragraph classed "text-content", one
  // slide of a gallery) loses to a scored container around it with much more prose.
  if (marked?.nodes.length === 1 && scored?.nodes.length === 1 && !marked.titled) {
    const m = marked.nodes[0]!;
    const sc = scored.nodes[0]!;
    const prose = (el: DomElement): number => (stats.get(el)?.text ?? 0) - (stats.get(el)?.link ?? 0);
    if (isAncestor(sc, m) && prose(sc) > MARKER_OVERRIDE * prose(m) && linkDensity(stats.get(sc)) < 0.25) tries.reverse();
  }

  // The body a marker names often leaves out the lead paragraph and subheadings its parent holds:
  // widen to the parent when that adds a little prose and few links.
  if (marked?.nodes.length === 1 && !marked.titled) marked.nodes = [widen(marked.nodes[0]!, body, stats)];

  let best: Content = { markdown: '', text: '', headings: [], method: 'none' };
  for (const c of tries) {
    if (!c) continue;
    const r = renderBlocks(c.nodes, { base, skip: skipContent, isGap });
    if (r.text.length > best.text.length) best = { ...r, method: c.method };
    if (best.text.length >= SHORT_TEXT) return best;
    // A link-rich post (a list of recommended reads) loses nearly everything to the link filter.
    const loose = renderBlocks(c.nodes, { base, skip: skipBoiler, isGap });
    if (loose.text.length > best.text.length) best = { ...loose, method: `${c.method}+links` };
    if (best.text.length >= SHORT_TEXT) return best;
  }
  // Last resorts: the whole body without furniture, then everything visible.
  const whole = renderBlocks([body], { base, skip: skipContent, isGap });
  if (whole.text.length > best.text.length) best = { ...whole, method: 'body' };
  if (!best.text) {
    const all = renderBlocks([body], { base, skip: (el) => junk.has(el) });
    if (all.text) best = { ...all, method: 'visible' };
  }
  return best;
}
