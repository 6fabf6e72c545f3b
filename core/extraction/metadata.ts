/**
 * Page metadata from <head> and JSON-LD. Order of preference per field: JSON-LD
 * and OpenGraph are written for machines and are usually cleaner than <title>,
 * which often carries the site name.
 */
import { type DomElement, type DomNode, collapseSpaces, descendants, isElement } from './dom.js';
import { resolveHttpUrl } from './links.js';
import { type DocumentScan, spacedText, textContent } from './scan.js';

export interface PageMetadata {
  title: string | null;
  description: string | null;
  language: string | null;
  canonicalUrl: string | null;
  siteName: string | null;
  author: string | null;
  publishedAt: string | null;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

function clean(s: string | null | undefined): string | null {
  if (s == null) return null;
  const t = collapseSpaces(s).trim();
  return t ? t : null;
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Flattens top-level arrays and @graph containers into a list of JSON-LD nodes (parse once, pass to extractMetadata and jsonLdArticleBody). */
export function jsonLdNodes(doc: DocumentScan): JsonObject[] {
  const out: JsonObject[] = [];
  const visit = (v: Json | undefined): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (isObject(v)) {
      out.push(v);
      if (v['@graph']) visit(v['@graph']);
    }
  };
  for (const el of doc.jsonLd) {
    try {
      visit(JSON.parse(textContent(el)) as Json);
    } catch {
      /* invalid JSON-LD is common; ignore that block */
    }
  }
  return out;
}

export function jsonLdTypes(node: JsonObject): string[] {
  const t = node['@type'];
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === 'string');
  return [];
}

const ARTICLE_TYPE = /Article|BlogPosting|Report|Posting|Review|Recipe|WebPage|CreativeWork|Story/i;

/** A name out of a string, a {name} object, or the first of an array of either. */
function nameOf(v: Json | undefined): string | null {
  if (typeof v === 'string') return clean(v);
  if (Array.isArray(v)) {
    const names = v.map((x) => nameOf(x)).filter((x): x is string => !!x);
    return names.length ? names.join(', ') : null;
  }
  if (isObject(v)) return nameOf(v['name']);
  return null;
}

interface LdFacts {
  headline: string | null;
  author: string | null;
  published: string | null;
  publisher: string | null;
}

function jsonLdFacts(nodes: JsonObject[]): LdFacts {
  const facts: LdFacts = { headline: null, author: null, published: null, publisher: null };
  // Article-like nodes first: a page's JSON-LD often also describes the site or breadcrumbs.
  const ordered = [...nodes.filter((n) => jsonLdTypes(n).some((t) => ARTICLE_TYPE.test(t))), ...nodes];
  for (const n of ordered) {
    facts.headline ??= typeof n['headline'] === 'string' ? clean(n['headline']) : null;
    facts.author ??= nameOf(n['author']);
    facts.published ??= typeof n['datePublished'] === 'string' ? clean(n['datePublished']) : null;
    facts.publisher ??= nameOf(n['publisher']);
  }
  for (const n of nodes) {
    if (!facts.publisher && jsonLdTypes(n).some((t) => t === 'WebSite' || t === 'Organization')) facts.publisher = nameOf(n['name']);
  }
  return facts;
}

function notUrl(s: string | null): string | null {
  return s && !/^https?:\/\//i.test(s) ? s : null;
}

/** The longest `articleBody` of an article-like JSON-LD node: the text some sites only render by script. */
export function jsonLdArticleBody(nodes: JsonObject[]): string | null {
  let best: string | null = null;
  for (const n of nodes) {
    const b = n['articleBody'] ?? n['text'];
    if (typeof b !== 'string' || !jsonLdTypes(n).some((t) => ARTICLE_TYPE.test(t))) continue;
    if (!best || b.length > best.length) best = b;
  }
  return best;
}

/**
 * The date an element marks as the publication date: its datetime, content or title attribute
 * (machine-readable), or else (`fromText`) its text when that holds a year.
 */
function markedDate(el: DomElement | null, fromText: boolean): string | null {
  if (!el) return null;
  const v = fromText ? clean(textContent(el)) : clean(el.attribs['datetime'] ?? el.attribs['content'] ?? el.attribs['title']);
  return v && v.length <= 64 && (fromText ? /\d{4}/ : /\d/).test(v) ? v : null;
}

/** Longest text taken for an author's name. */
const AUTHOR_MAX = 100;
/** "By", "Von", "Par"... before the name in a byline. */
const BYLINE_PREFIX_RE = /^(?:(?:view|see|show|zeige|alle)\s+(?:all\s+|alle\s+)?(?:posts|articles|stories|beiträge|artikel)\s+(?:by|von)|posted by|written by|geschrieben von|by|von|par|por|di|door|av|af|autor(?:in)?|author|auteur|text|texte)\s*:?\s+/i;

function nameOfMark(el: DomElement): string | null {
  const v = clean(el.attribs['content'] ?? spacedText(el))?.replace(BYLINE_PREFIX_RE, '') ?? null;
  return v && v.length <= AUTHOR_MAX ? v : null;
}

function isFooter(el: DomElement): boolean {
  return el.name === 'footer' || /footer/i.test(el.attribs['class'] ?? '') || /footer/i.test(el.attribs['id'] ?? '');
}

/**
 * Whether `el` sits in a page footer (where rel=author links credit the theme's maker). `memo`
 * holds the answer for elements already climbed through, so many links share one walk up.
 */
function inFooter(el: DomElement, memo: Map<DomNode, boolean>): boolean {
  const path: DomNode[] = [];
  let found = false;
  for (let p = el.parent; p && isElement(p); p = p.parent) {
    const known = memo.get(p);
    if (known !== undefined) {
      found = known;
      break;
    }
    path.push(p);
    if (isFooter(p)) {
      found = true;
      break;
    }
  }
  // Each element on the path is in a footer exactly when the answer was found at or above it.
  for (const p of path) memo.set(p, found);
  return found;
}

/** The author the page shows: microdata itemprop=author (its itemprop=name if any), a rel=author link, else a byline's text. */
function visibleAuthor(doc: DocumentScan): string | null {
  const mark = doc.authorMark;
  if (mark) {
    let name: DomElement = mark;
    for (const d of descendants(mark)) {
      if ((d.attribs['itemprop'] ?? '').toLowerCase() === 'name') {
        name = d;
        break;
      }
    }
    const v = nameOfMark(name);
    if (v) return v;
  }
  const footers = new Map<DomNode, boolean>();
  for (const link of doc.authorLinks) {
    if (inFooter(link, footers)) continue;
    const v = nameOfMark(link);
    if (v) return v;
  }
  if (doc.byline) {
    const v = clean(spacedText(doc.byline))?.replace(BYLINE_PREFIX_RE, '') ?? null;
    // A byline is a name or two, not a paragraph.
    if (v && v.length <= 60 && BYLINE_NAME_RE.test(v)) return v;
  }
  return null;
}

/** One to four capitalised names, joined by commas, "and" words or ampersands. */
const BYLINE_NAME_RE = /^\p{Lu}[\p{L}.'’-]*(?:(?:\s+|\s*[,&]\s*|\s+(?:und|and|et|y|e)\s+)\p{Lu}[\p{L}.'’-]*){0,5}$/u;

export function extractMetadata(doc: DocumentScan, base: string, nodes: JsonObject[] = jsonLdNodes(doc)): PageMetadata {
  const meta = new Map<string, string>();
  for (const el of doc.metas) {
    const key = (el.attribs['property'] ?? el.attribs['name'] ?? el.attribs['itemprop'] ?? '').trim().toLowerCase();
    const content = el.attribs['content'];
    // First occurrence wins: later duplicates are usually from embedded widgets.
    if (key && content && !meta.has(key)) meta.set(key, content);
  }
  const m = (...keys: string[]): string | null => {
    for (const k of keys) {
      const v = clean(meta.get(k));
      if (v) return v;
    }
    return null;
  };
  const ld = jsonLdFacts(nodes);

  const canonicalLink = doc.linkTags.find((l) => (l.attribs['rel'] ?? '').toLowerCase().split(/\s+/).includes('canonical'));
  const canonicalHref = canonicalLink?.attribs['href'] ?? m('og:url');
  const lang = doc.html?.attribs['lang'] ?? m('content-language', 'og:locale', 'dc.language');

  return {
    title: m('og:title', 'twitter:title') ?? ld.headline ?? clean(doc.title ? textContent(doc.title) : null) ?? clean(doc.firstH1 ? textContent(doc.firstH1) : null),
    description: m('description', 'og:description', 'twitter:description', 'dc.description'),
    language: clean(lang?.replace('_', '-') ?? null),
    canonicalUrl: canonicalHref ? resolveHttpUrl(canonicalHref, base) : null,
    siteName: m('og:site_name', 'application-name') ?? ld.publisher,
    // article:author is often a profile URL, so it only fills in after JSON-LD; the visible byline comes last.
    author: m('author', 'dc.creator', 'parsely-author', 'sailthru.author') ?? ld.author ?? notUrl(m('article:author')) ?? visibleAuthor(doc),
    publishedAt:
      m('article:published_time', 'og:article:published_time', 'datepublished', 'dc.date', 'dc.date.issued', 'date', 'pubdate') ??
      ld.published ??
      markedDate(doc.datePublished, false) ??
      clean(doc.time?.attribs['datetime']) ??
      markedDate(doc.datePublished, true),
  };
}
