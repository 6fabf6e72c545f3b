/**
 * Chooses the element(s) holding the main content: first known markers
 * (schema.org articleBody, CMS class names, <article>, <main>), then a
 * readability-style score over paragraphs.
 */
import { type DomElement, type DomNode, BLOCK_TAGS, attr, classAndId, descendants, isElement, isText } from './dom.js';
import { textContent } from './scan.js';
import { type StatsMap, linkDensity, visibleLength } from './stats.js';

/** Class/id names CMSs give the article body, strongest first (after trafilatura's BODY_XPATH). */
const BODY_CLASS_TIERS: RegExp[] = [
  /entry-content|post-content|post_content|postcontent|post-body|post-text|post_text|post-entry|postentry|article-content|article__content|article-body|article__body|articlebody|article-text|articletext|articlecontent|story-body|story-content|storycontent|body-text|field-body|fulltext|art-content|c-entry-content|rich-text|richtext|article__text|post__content|post__body|blog-content|blog-post-content|single-content|text-content/,
  /content-main|content_main|content-body|contentbody|content__body|main-content|maincontent|page-content|pagecontent|main-column|region-content|(?:^| )(?:content|text|story|post|entry)(?: |$)/,
];

/** A class token that names furniture as well ("related-post-content", "comment-body") is no body marker. */
const FURNITURE_TOKEN_RE = /related|comment|sidebar|teaser|footer|author|promo|newsletter|caption/;

/** Class + id for body-marker tests, without tokens that also name furniture. */
function markerNames(el: DomElement): string {
  const ci = classAndId(el);
  if (!ci || !FURNITURE_TOKEN_RE.test(ci)) return ci;
  return ci.split(/\s+/).filter((t) => !FURNITURE_TOKEN_RE.test(t)).join(' ');
}

const CONTAINER_TAGS = new Set(['div', 'section', 'article', 'main', 'td', 'span', 'font', 'center', 'form']);

/** Enough text that a marker is taken to hold the article rather than a teaser or an empty shell. */
const MIN_MARKER_TEXT = 250;

export interface Candidate {
  nodes: DomElement[];
  method: string;
  /** Chosen among several candidates for carrying the page title: the page is a listing around it. */
  titled?: boolean;
}

const TITLE_TAGS = new Set(['h1', 'h2', 'h3']);

/**
 * Elements with a heading below them that is (part of) the page title: the article the page is
 * about. One pass over the page, each ancestor chain climbed once (per candidate subtree walks
 * were quadratic in nested candidates).
 */
function titleHeadingHolders(body: DomElement, title: string): Set<DomElement> {
  const holders = new Set<DomElement>();
  for (const d of descendants(body)) {
    if (!TITLE_TAGS.has(d.name)) continue;
    const h = normaliseTitle(textContent(d));
    if (h.length < 10 || !title.includes(h)) continue;
    for (let p = d.parent; p && isElement(p) && !holders.has(p); p = p.parent) holders.add(p);
  }
  return holders;
}

export function normaliseTitle(s: string): string {
  return s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

/**
 * On listing-like pages (several candidates, e.g. an article followed by
 * teaser <article>s), the one headed by the page title, if exactly one is.
 */
function titledCandidate(els: DomElement[], stats: StatsMap, holders: () => Set<DomElement>): DomElement | null {
  if (els.length < 2) return null;
  const titled = els.filter((el) => ownText(el, stats) >= MIN_MARKER_TEXT && holders().has(el));
  return titled.length === 1 ? titled[0]! : null;
}

/** Prose a further part of a titled article needs. */
const PART_MIN_TEXT = 50;

/**
 * The titled candidate and, when it sits in an <article>, the other candidates of the same
 * kind in that <article> (a lead box under the title, then the body further down), in document order.
 */
function articleParts(titled: DomElement, els: DomElement[], stats: StatsMap): DomElement[] {
  let article: DomNode | null = titled.parent;
  while (article && isElement(article) && article.name !== 'article') article = article.parent;
  if (!article || !isElement(article)) return [titled];
  const parts = new Set(els.filter((el) => el === titled || ownText(el, stats) >= PART_MIN_TEXT));
  // Outermost parts inside the <article>, in document order, in one walk (a part nested in another is rendered with it).
  const outer: DomElement[] = [];
  const stack: DomElement[] = [article];
  while (stack.length) {
    const el = stack.pop()!;
    if (el !== article && parts.has(el)) {
      outer.push(el);
      continue;
    }
    for (let i = el.children.length - 1; i >= 0; i--) {
      const c = el.children[i]!;
      if (isElement(c)) stack.push(c);
    }
  }
  if (outer.length < 2 || !outer.includes(titled)) return [titled];
  return outer;
}

/** The candidate with the most non-link text. */
function largest(els: DomElement[], stats: StatsMap): DomElement | null {
  let best: DomElement | null = null;
  let bestLen = -1;
  for (const el of els) {
    const s = stats.get(el);
    if (!s) continue;
    // Text outside links: a list of teaser links is not an article.
    const len = s.text - s.link;
    if (len > bestLen) {
      best = el;
      bestLen = len;
    }
  }
  return best;
}

/** Share of the best candidate's prose a sibling post needs to be kept with it. */
const POST_MIN_SHARE = 0.1;
/** Fewer same-class siblings are an article split in parts (the scored path joins those), not a thread. */
const MIN_POSTS = 3;

/**
 * A thread of posts (forum messages, a question and its answers, a newsletter's stories): the
 * candidate's siblings with the same element name and class, each with prose of its own, in
 * document order. A lone article yields just itself.
 */
function samePosts(best: DomElement, els: DomElement[], stats: StatsMap): DomElement[] {
  const parent = best.parent;
  const sig = `${best.name} ${best.attribs['class'] ?? ''}`;
  const min = Math.max(MIN_MARKER_TEXT / 5, POST_MIN_SHARE * ownText(best, stats));
  const posts = els.filter((el) => el.parent === parent && `${el.name} ${el.attribs['class'] ?? ''}` === sig && (el === best || ownText(el, stats) >= min));
  if (posts.length < MIN_POSTS) return [best];
  const order = new Map<DomNode, number>();
  (parent as DomElement).children.forEach((c, i) => order.set(c, i));
  return posts.sort((a, b) => order.get(a)! - order.get(b)!);
}

function ownText(el: DomElement, stats: StatsMap): number {
  const s = stats.get(el);
  return s ? s.text - s.link : 0;
}

/** Ancestors of likely article bodies: boilerplate class names on these are ignored. */
export function findMarkerAncestors(body: DomElement): Set<DomElement> {
  const out = new Set<DomElement>();
  for (const el of descendants(body)) {
    if (!isMarker(el)) continue;
    // The marker itself too: "article-content sticky-sidebar-relative" is an article body.
    out.add(el);
    for (let p = el.parent; p && isElement(p) && !out.has(p); p = p.parent) out.add(p);
  }
  return out;
}

function isMarker(el: DomElement): boolean {
  if (el.name === 'main' || attr(el, 'itemprop') === 'articleBody' || attr(el, 'role') === 'main') return true;
  if (!CONTAINER_TAGS.has(el.name)) return false;
  const ci = markerNames(el);
  return ci !== '' && BODY_CLASS_TIERS[0]!.test(ci);
}

/** Marker-based choice; null when no marker holds enough text. */
export function findMarkedContainer(body: DomElement, stats: StatsMap, skip: (el: DomElement) => boolean, title = ''): Candidate | null {
  const itemprop: DomElement[] = [];
  const tiers: DomElement[][] = BODY_CLASS_TIERS.map(() => []);
  const articles: DomElement[] = [];
  const mains: DomElement[] = [];
  // One pass collecting all marker kinds; skipped subtrees (e.g. comments) cannot supply a container.
  const stack: DomElement[] = [body];
  while (stack.length) {
    const el = stack.pop()!;
    if (skip(el)) continue;
    if (attr(el, 'itemprop') === 'articleBody') itemprop.push(el);
    if (el.name === 'article') articles.push(el);
    if (el.name === 'main' || attr(el, 'role') === 'main') mains.push(el);
    if (CONTAINER_TAGS.has(el.name)) {
      const ci = markerNames(el);
      if (ci) {
        for (let t = 0; t < BODY_CLASS_TIERS.length; t++) {
          if (BODY_CLASS_TIERS[t]!.test(ci)) {
            tiers[t]!.push(el);
            break;
          }
        }
      }
    }
    for (const c of el.children) if (isElement(c)) stack.push(c);
  }
  let holders: Set<DomElement> | null = null;
  const titleHolders = () => (holders ??= titleHeadingHolders(body, title));
  const ordered: [string, DomElement[]][] = [
    ['itemprop', itemprop],
    ['class', tiers[0]!],
    ['article', articles],
    ['class2', tiers[1]!],
    ['main', mains],
  ];
  for (const [method, els] of ordered) {
    const titled = title ? titledCandidate(els, stats, titleHolders) : null;
    if (titled) return { nodes: articleParts(titled, els, stats), method, titled: true };
    const best = largest(els, stats);
    if (best && ownText(best, stats) >= MIN_MARKER_TEXT) {
      const posts = samePosts(best, els, stats);
      return posts.length > 1 ? { nodes: posts, method: `${method}+posts` } : { nodes: [best], method };
    }
  }
  return null;
}

const POSITIVE_RE = /article|body|content|entry|hentry|h-entry|main|page|post|text|blog|story|artikel|inhalt|beitrag/;
const NEGATIVE_RE = /hidden|banner|combx|comment|com-|contact|foot|footer|footnote|gdpr|masthead|media|meta|outbrain|promo|related|scroll|share|shoutbox|sidebar|skyscraper|sponsor|shopping|tags|tool|widget|nav|menu|teaser|header/;

function classWeight(el: DomElement): number {
  const ci = classAndId(el);
  if (!ci) return 0;
  let w = 0;
  if (NEGATIVE_RE.test(ci)) w -= 25;
  if (POSITIVE_RE.test(ci)) w += 25;
  return w;
}

function tagWeight(name: string): number {
  switch (name) {
    case 'div':
    case 'article':
    case 'main':
      return 5;
    case 'pre':
    case 'td':
    case 'blockquote':
      return 3;
    case 'address':
    case 'ol':
    case 'ul':
    case 'dl':
    case 'dd':
    case 'dt':
    case 'li':
    case 'form':
      return -3;
    default:
      return 0;
  }
}

const PARAGRAPH_TAGS = new Set(['p', 'pre', 'td', 'blockquote', 'dd', 'div', 'section', 'font', 'span', 'li']);

/** Text directly in `el` (text nodes and inline children), i.e. what it would render as one paragraph. */
function inlineText(el: DomElement, skip: (el: DomElement) => boolean): string {
  let out = '';
  for (const c of el.children as DomNode[]) {
    if (isText(c)) out += c.data;
    else if (isElement(c) && !BLOCK_TAGS.has(c.name) && !skip(c)) out += inlineText(c, skip);
  }
  return out;
}

/**
 * What scoring reads of an element's inline text: visibleLength and countCommas of inlineText,
 * built from its children's summaries (memoised per page) rather than from the string, so
 * nested inline elements (spans in spans) are not each re-read to the bottom.
 */
interface InlineSummary {
  length: number;
  commas: number;
  empty: boolean;
  /** First and last characters are whitespace (as visibleLength counts it): runs merge across a join. */
  leadSpace: boolean;
  trailSpace: boolean;
}

const EMPTY_SUMMARY: InlineSummary = { length: 0, commas: 0, empty: true, leadSpace: false, trailSpace: false };

function isSpaceCode(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13 || c === 12 || c === 160;
}

function textSummary(s: string): InlineSummary {
  if (!s) return EMPTY_SUMMARY;
  return { length: visibleLength(s), commas: countCommas(s), empty: false, leadSpace: isSpaceCode(s.charCodeAt(0)), trailSpace: isSpaceCode(s.charCodeAt(s.length - 1)) };
}

/** The summary of a + b: a whitespace run that starts b counts once more after a non-space end of a. */
function joinSummaries(a: InlineSummary, b: InlineSummary): InlineSummary {
  if (a.empty) return b;
  if (b.empty) return a;
  return { length: a.length + b.length + (b.leadSpace && !a.trailSpace ? 1 : 0), commas: a.commas + b.commas, empty: false, leadSpace: a.leadSpace, trailSpace: b.trailSpace };
}

function inlineSummary(el: DomElement, skip: (el: DomElement) => boolean, memo: Map<DomElement, InlineSummary>): InlineSummary {
  let sum = memo.get(el);
  if (sum) return sum;
  sum = EMPTY_SUMMARY;
  for (const c of el.children as DomNode[]) {
    if (isText(c)) sum = joinSummaries(sum, textSummary(c.data));
    else if (isElement(c) && !BLOCK_TAGS.has(c.name) && !skip(c)) sum = joinSummaries(sum, inlineSummary(c, skip, memo));
  }
  memo.set(el, sum);
  return sum;
}

function countCommas(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 44 || c === 0x3001 || c === 0xff0c || c === 0x060c) n++;
  }
  return n;
}

/** Prose a parent must have, relative to the current container, to be climbed to; and its link ceiling. */
const CLIMB_GAIN = 1.5;
const CLIMB_MAX_LINKS = 0.25;

/**
 * Articles split into many small boxes (one per paragraph or image) make a
 * single box win the vote; move up while the parent adds substantial prose
 * without adding links.
 */
function climb(el: DomElement, body: DomElement, stats: StatsMap): DomElement {
  let cur = el;
  let node: DomElement = el;
  while (node !== body && node.parent && isElement(node.parent)) {
    const parent = node.parent;
    const ps = stats.get(parent);
    if (!ps) break;
    const prose = ps.text - ps.link;
    node = parent;
    // Wrappers that add nothing are passed through; the container only moves where prose is gained.
    if (prose <= ownText(cur, stats) * 1.05) continue;
    if (prose < CLIMB_GAIN * ownText(cur, stats) || linkDensity(ps) > CLIMB_MAX_LINKS) break;
    cur = parent;
  }
  return cur;
}
/** Readability-style: paragraphs vote for their ancestors; link-heavy candidates lose. */
export function findScoredContainer(body: DomElement, stats: StatsMap, skip: (el: DomElement) => boolean): Candidate | null {
  const scores = new Map<DomElement, number>();
  const init = (el: DomElement): number => {
    let s = scores.get(el);
    if (s === undefined) {
      s = tagWeight(el.name) + classWeight(el);
      scores.set(el, s);
    }
    return s;
  };
  const summaries = new Map<DomElement, InlineSummary>();
  const stack: DomElement[] = [body];
  while (stack.length) {
    const el = stack.pop()!;
    if (skip(el)) continue;
    for (const c of el.children) if (isElement(c)) stack.push(c);
    if (!PARAGRAPH_TAGS.has(el.name)) continue;
    const { length: len, commas } = inlineSummary(el, skip, summaries);
    if (len < 25) continue;
    const score = 1 + commas + Math.min(Math.floor(len / 100), 3);
    // Divs with their own text are paragraphs too, and can be the container themselves.
    let target: DomNode | null = el.name === 'p' || el.name === 'li' || el.name === 'td' ? el.parent : el;
    for (let level = 0; level < 4 && target && isElement(target); level++, target = target.parent) {
      const div = level === 0 ? 1 : level === 1 ? 2 : level * 3;
      scores.set(target, init(target) + score / div);
    }
  }
  let best: DomElement | null = null;
  let bestScore = 0;
  for (const [el, s] of scores) {
    const final = s * (1 - linkDensity(stats.get(el)));
    if (final > bestScore) {
      best = el;
      bestScore = final;
    }
  }
  if (!best) return null;
  best = climb(best, body, stats);
  // Siblings scoring close to the winner are parts of the same article (split by ads or figures).
  const parent = best.parent;
  const nodes: DomElement[] = [best];
  if (parent && isElement(parent) && parent !== body.parent) {
    const threshold = Math.max(10, bestScore * 0.2);
    const siblings: DomElement[] = [];
    for (const sib of parent.children) {
      if (!isElement(sib) || skip(sib)) continue;
      if (sib === best) {
        siblings.push(sib);
        continue;
      }
      const s = scores.get(sib);
      const st = stats.get(sib);
      const ld = linkDensity(st);
      if (s !== undefined && s * (1 - ld) >= threshold) siblings.push(sib);
      else if (sib.name === 'p' && st && ((st.text > 80 && ld < 0.25) || (st.text > 0 && ld === 0 && /\.( |$)/.test(inlineText(sib, skip)))))
        siblings.push(sib);
    }
    if (siblings.length > 1) return { nodes: siblings, method: 'score+siblings' };
  }
  return { nodes, method: 'score' };
}
