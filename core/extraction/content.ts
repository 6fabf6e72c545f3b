/**
 * Main-content selection: mark junk and boilerplate, choose the container,
 * filter link-heavy blocks inside it, render; widen the selection when the
 * result is implausibly short, so a page with text never yields nothing.
 */
import { classifyBoilerplate, isCommentSection, isJunk } from './boilerplate.js';
import { findMarkedContainer, findMarkerAncestors, findScoredContainer, normaliseTitle } from './container.js';
import { type DomElement, attr, classAndId, collapseSpaces, isAncestor, isElement, parseHtml } from './dom.js';
import { resolveHttpUrl } from './links.js';
import { MAX_RENDER_DEPTH, plainParagraphs, treeDepth } from './plaintext.js';
import { type Rendered, escapeMarkdown, renderBlocks } from './render.js';
import type { DocumentScan } from './scan.js';
import { type StatsMap, computeStats, linkDensity, visibleLength } from './stats.js';

export interface Content extends Rendered {
  /** Which selection produced the result (for evaluation and debugging). */
  method: string;
}

/** Below this many characters the chosen selection is suspected to have missed the article. */
const SHORT_TEXT = 200;

/** Visible characters a skipped element needs to count as a section of its own. */
const GAP_MIN_TEXT = 15;

/** Longest box taken for a teaser of another page. */
const TEASER_MAX_TEXT = 600;
const TEASER_HEADINGS = new Set(['h2', 'h3', 'h4', 'h5']);

/**
 * A teaser of another page: a box whose heading (among its first children) is wholly a link,
 * followed by a short blurb ("Read next", "More on this", a related story's card).
 */
function isTeaser(el: DomElement, stats: StatsMap, base: string): boolean {
  for (const c of el.children) {
    if (!isElement(c)) continue;
    let h: DomElement | null = TEASER_HEADINGS.has(c.name) ? c : null;
    if (!h && c.name === 'a') for (const g of c.children) if (isElement(g) && TEASER_HEADINGS.has(g.name)) h = c;
    if (h) {
      const hs = stats.get(h);
      if (!hs || hs.text === 0 || hs.link !== hs.text || (stats.get(el)?.text ?? 0) <= hs.text) return false;
      // A named anchor (<a name>) links nowhere; a title linking to this very page is the article's own permalink.
      const a = h.name === 'a' ? h : descendantLink(h);
      return !!a && attr(a, 'href') !== '' && !attr(a, 'href').startsWith('#') && !samePage(attr(a, 'href'), base);
    }
  }
  return false;
}

function descendantLink(el: DomElement): DomElement | null {
  for (const c of el.children) {
    if (!isElement(c)) continue;
    if (c.name === 'a') return c;
    const d = descendantLink(c);
    if (d) return d;
  }
  return null;
}

function samePage(href: string, base: string): boolean {
  const url = resolveHttpUrl(href, base);
  if (!url) return false;
  const strip = (u: string): string => u.replace(/#.*$/, '').replace(/\/$/, '');
  return strip(url) === strip(base);
}

/** How much more prose a scored container around a marker needs to replace it. */
const MARKER_OVERRIDE = 2;

/** Share of a broad marker's prose a scored container inside it needs to replace it. */
const NARROW_SHARE = 0.75;
/** Markers that name a page column rather than an article body. */
const BROAD_MARKERS = new Set(['class2', 'main']);
/** Markers that give way to a scored container elsewhere on the page with this many times their prose. */
const DISJOINT_MARKERS = new Set(['class2', 'main', 'class2+posts', 'main+posts', 'article', 'article+posts']);
const DISJOINT_OVERRIDE = 2;

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

export interface ContentOptions {
  /**
   * Comment threads (elements classed comment, reply, disqus...): true appends them after the
   * article, false leaves them out; unset (auto) appends them only on discussion pages, where the
   * thread is the content: `discussion` set, or no article text outside the thread.
   */
  comments?: boolean;
  /** The page declares itself a discussion (JSON-LD DiscussionForumPosting, QAPage). */
  discussion?: boolean;
  /** Markdown keeps images as ![alt](src). */
  images?: boolean;
}

/** Visible characters a comment section needs to be rendered (not a "3 comments" link). */
const COMMENT_MIN_TEXT = 40;

export function extractContent(doc: DocumentScan, base: string, title: string, opts: ContentOptions = {}): Content {
  // htmlparser2 builds no implied <body>: pages without one are taken whole.
  const body = doc.body ?? doc.root;
  if (treeDepth(body) > MAX_RENDER_DEPTH) return plainContent(body);
  try {
    return selectContent(body, base, title, opts);
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

function selectContent(body: DomElement, base: string, title: string, opts: ContentOptions): Content {
  const visibleStats = computeStats(body, isJunk);
  const { junk, boiler } = classifyBoilerplate(body, findMarkerAncestors(body), visibleStats);
  const article = selectArticle(body, base, title, opts, junk, boiler, visibleStats);
  const wantComments = opts.comments ?? (opts.discussion === true || article.text.length < SHORT_TEXT);
  const thread = wantComments ? renderComments(boiler, visibleStats, base, opts) : null;
  if (!article.text && !thread) {
    // Last resort: everything visible, so a page with text never yields nothing.
    const all = renderBlocks([body], { base, skip: (el) => junk.has(el), images: opts.images });
    return all.text ? { ...all, method: 'visible' } : article;
  }
  if (!thread) return article;
  if (!article.text) return { ...thread, method: 'comments' };
  return {
    markdown: `${article.markdown}\n\n${thread.markdown}`,
    text: `${article.text}\n\n${thread.text}`,
    headings: [...article.headings, ...thread.headings],
    method: `${article.method}+comments`,
  };
}

/**
 * The outermost comment sections set aside as boilerplate, in document order, each classified
 * again with comment names taken as content (reply forms, share bars inside stay out).
 */
function renderComments(boiler: Set<DomElement>, visibleStats: StatsMap, base: string, opts: ContentOptions): Rendered | null {
  const parts: Rendered[] = [];
  // The set was filled in document order and holds outermost elements only.
  for (const el of boiler) {
    if (!isCommentSection(el) || (visibleStats.get(el)?.text ?? 0) < COMMENT_MIN_TEXT) continue;
    const inner = classifyBoilerplate(el, new Set([el]), visibleStats, { commentsAreContent: true });
    const r = renderBlocks([el], { base, skip: (e) => inner.junk.has(e) || inner.boiler.has(e), images: opts.images });
    if (r.text) parts.push(r);
  }
  if (!parts.length) return null;
  return {
    markdown: parts.map((p) => p.markdown).join('\n\n'),
    text: parts.map((p) => p.text).join('\n\n'),
    headings: parts.flatMap((p) => p.headings),
  };
}

function selectArticle(
  body: DomElement,
  base: string,
  title: string,
  opts: ContentOptions,
  junk: Set<DomElement>,
  boiler: Set<DomElement>,
  visibleStats: StatsMap,
): Content {
  const skipBoiler = (el: DomElement): boolean => junk.has(el) || boiler.has(el);
  const stats = computeStats(body, skipBoiler);

  // Inside the content, blocks made mostly of links are navigation (tag lists, "read next", link farms).
  const linkHeavy = (el: DomElement): boolean => {
    const s = stats.get(el);
    if (!s || s.text === 0) return false;
    const ld = linkDensity(s);
    if (LIST_LIKE.has(el.name)) return ld > 0.6;
    if (SECTION_LIKE.has(el.name) || el.name === 'article') return (ld > 0.6 && s.text < 1000) || (s.text < TEASER_MAX_TEXT && isTeaser(el, stats, base));
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

  // A broad marker (a page's "content" or <main> column) around a scored container holding most of
  // its prose: the scored one is the article, the rest of the column is furniture around it.
  if (marked && BROAD_MARKERS.has(marked.method) && marked.nodes.length === 1 && scored?.nodes.length === 1 && tries[0] === marked) {
    const m = marked.nodes[0]!;
    const sc = scored.nodes[0]!;
    const prose = (el: DomElement): number => (stats.get(el)?.text ?? 0) - (stats.get(el)?.link ?? 0);
    if (sc !== m && isAncestor(m, sc) && prose(sc) >= NARROW_SHARE * prose(m)) tries.reverse();
  }

  // A broad marker elsewhere on the page (a "content" box of teasers) loses to a scored container
  // outside it with much more prose: the marker names a column the article is not in.
  if (marked && DISJOINT_MARKERS.has(marked.method) && scored?.nodes.length === 1 && tries[0] === marked) {
    const sc = scored.nodes[0]!;
    const prose = (el: DomElement): number => (stats.get(el)?.text ?? 0) - (stats.get(el)?.link ?? 0);
    const markedProse = marked.nodes.reduce((n, el) => n + prose(el), 0);
    if (marked.nodes.every((m) => m !== sc && !isAncestor(m, sc) && !isAncestor(sc, m)) && prose(sc) > DISJOINT_OVERRIDE * markedProse && linkDensity(stats.get(sc)) < 0.25) tries.reverse();
  }

  // The body a marker names often leaves out the lead paragraph and subheadings its parent holds:
  // widen to the parent when that adds a little prose and few links.
  if (marked?.nodes.length === 1 && !marked.titled) marked.nodes = [widen(marked.nodes[0]!, body, stats)];

  let best: Content = { markdown: '', text: '', headings: [], method: 'none' };
  for (const c of tries) {
    if (!c) continue;
    const leads = findLeads(c.nodes[0]!, body, skipContent, stats);
    const r = renderBlocks([...leads, ...c.nodes], { base, skip: skipContent, isGap, images: opts.images });
    if (r.text.length > best.text.length) best = { ...r, method: c.method };
    if (best.text.length >= SHORT_TEXT) return best;
    // A link-rich post (a list of recommended reads) loses nearly everything to the link filter.
    const loose = renderBlocks(c.nodes, { base, skip: skipBoiler, isGap, images: opts.images });
    if (loose.text.length > best.text.length) best = { ...loose, method: `${c.method}+links` };
    if (best.text.length >= SHORT_TEXT) return best;
  }
  // Last resort here: the whole body without furniture (selectContent may still add the thread or everything visible).
  const whole = renderBlocks([body], { base, skip: skipContent, isGap, images: opts.images });
  if (whole.text.length > best.text.length) best = { ...whole, method: 'body' };
  return best;
}

/** Class names of an article's lead (standfirst, intro, perex, chapô...), which templates often put beside the body. */
const LEAD_RE = /(?:^|[^a-z])(?:lead|leadtext|lede|intro|introtext|perex|chapo|chapeau|excerpt|summary|standfirst|vorspann|deck|dek|abstract|bajada|copete|sapo|entradilla|teaser-text|subheadline|teaser|description|hero)(?:[^a-z]|$)/;
/** How far above the container a lead is looked for. */
const LEAD_LEVELS = 5;
/** Prose a lead needs (a one-word label is not one), and its link ceiling. */
const LEAD_MIN_TEXT = 40;
const LEAD_MAX_LINKS = 0.3;

/**
 * Leads outside the chosen container: elements named like a standfirst that come before it
 * within its nearest ancestors (an article header's intro paragraph, a "perex" above the body).
 */
function findLeads(container: DomElement, body: DomElement, skip: (el: DomElement) => boolean, stats: StatsMap): DomElement[] {
  let top = container;
  // The container's ancestors up to `top` (a handful): checked per lead candidate instead of climbing to the root each time.
  const above = new Set<DomElement>();
  for (let i = 0; i < LEAD_LEVELS && top.parent && isElement(top.parent) && top !== body; i++) above.add((top = top.parent));
  if (top === container) return [];
  const leads: DomElement[] = [];
  const stack: DomElement[] = [top];
  while (stack.length) {
    const el = stack.pop()!;
    if (el === container) break;
    if (skip(el)) continue;
    if (el !== top && LEAD_RE.test(classAndId(el))) {
      const s = stats.get(el);
      // Stop at the container: a lead holds no part of it.
      if (s && s.text - s.link >= LEAD_MIN_TEXT && linkDensity(s) <= LEAD_MAX_LINKS && !above.has(el)) {
        leads.push(el);
        continue;
      }
    }
    for (let i = el.children.length - 1; i >= 0; i--) {
      const c = el.children[i]!;
      if (isElement(c)) stack.push(c);
    }
  }
  return leads;
}

/** When a page's JSON-LD articleBody has this many times the text we found, the page renders its article by script. */
const LD_BODY_RATIO = 2;

/**
 * JSON-LD `articleBody` as content, when it holds much more text than the
 * selection from the markup (pages that render the article by script, or
 * ship it only as data). Plain text keeps its line breaks; markup inside the
 * string is parsed like a page, never run.
 */
export function articleBodyContent(articleBody: string | null, found: Content, base: string, images = false): Content | null {
  // The raw string is never shorter than its text: most pages are settled without parsing it.
  if (!articleBody || visibleLength(articleBody) < LD_BODY_RATIO * visibleLength(found.text)) return null;
  const hasMarkup = /<\/?[a-z][^>]*>/i.test(articleBody);
  const html = hasMarkup
    ? articleBody
    : `<p>${articleBody.replace(/&(?![#\w]+;)/g, '&amp;').replace(/</g, '&lt;').replace(/\r?\n\s*\n/g, '</p><p>').replace(/\r?\n/g, '<br>')}</p>`;
  const root = parseHtml(html).root()[0] as unknown as DomElement;
  // The same depth guard as for pages: the recursive renderer never sees a pathological tree.
  const r = treeDepth(root) > MAX_RENDER_DEPTH ? plainContent(root) : renderBlocks([root], { base, skip: isJunk, images });
  if (visibleLength(r.text) < LD_BODY_RATIO * visibleLength(found.text)) return null;
  // What the markup did show (often a lead the data leaves out) stays in front.
  if (!found.text || collapseSpaces(r.text).includes(collapseSpaces(found.text))) return { ...r, method: 'json-ld' };
  return { markdown: `${found.markdown}\n\n${r.markdown}`, text: `${found.text}\n\n${r.text}`, headings: [...found.headings, ...r.headings], method: `${found.method}+json-ld` };
}
