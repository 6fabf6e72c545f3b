/**
 * Client-chosen selection of a page, for the Firecrawl-compatible scrape:
 * include/exclude CSS selectors, main content or the whole page, cleaned
 * HTML, Open Graph fields. Main-content Markdown comes from extractPage; this
 * module only narrows the HTML it is given and renders the other views.
 *
 * Selectors come from clients, so they are restricted to what css-select
 * matches in (elements × depth) time: compound selectors (tag, #id, .class,
 * [attr], [attr=value], *) joined by combinators, no pseudo-classes (`:has`
 * nests one whole-tree search per level). Trees deeper than MAX_RENDER_DEPTH
 * are not matched at all (a descendant combinator walks every ancestor).
 */
import * as cheerio from 'cheerio';
import { parse as parseSelector, SelectorType } from 'css-what';
import { isJunk } from './boilerplate.js';
import { type DomElement, parseHtml } from './dom.js';
import { extractPage, type ExtractedPage } from './index.js';
import { MAX_RENDER_DEPTH, plainParagraphs, treeDepth } from './plaintext.js';
import { renderBlocks } from './render.js';
import { scanDocument } from './scan.js';

export const MAX_SELECTORS = 20;
export const MAX_SELECTOR_LENGTH = 200;
/** Combinators in one selector: each one is a walk over the candidates' ancestors or siblings. */
export const MAX_COMBINATORS = 4;

/** Why a client's CSS selector is refused, or null when it may be matched. */
export function selectorProblem(selector: string): string | null {
  if (selector.length > MAX_SELECTOR_LENGTH) return `must be at most ${MAX_SELECTOR_LENGTH} characters`;
  let parsed: ReturnType<typeof parseSelector>;
  try {
    parsed = parseSelector(selector);
  } catch {
    return 'is not a valid CSS selector';
  }
  for (const group of parsed) {
    let combinators = 0;
    for (const token of group) {
      if (token.type === SelectorType.Pseudo || token.type === SelectorType.PseudoElement || token.type === SelectorType.ColumnCombinator) {
        return 'may use tag, #id, .class, [attribute] and combinators only (no pseudo-classes)';
      }
      if (token.type === SelectorType.Descendant || token.type === SelectorType.Child || token.type === SelectorType.Sibling || token.type === SelectorType.Adjacent) combinators++;
    }
    if (combinators > MAX_COMBINATORS) return `may have at most ${MAX_COMBINATORS} combinators`;
  }
  return null;
}

export class SelectionTooComplexError extends Error {
  constructor() {
    super(`the page is nested deeper than ${MAX_RENDER_DEPTH} elements; includeTags/excludeTags cannot be applied to it`);
    this.name = 'SelectionTooComplexError';
  }
}

export interface SelectionOptions {
  /** true: the article only (extractPage); false: the whole page. */
  onlyMainContent: boolean;
  includeTags?: string[] | undefined;
  excludeTags?: string[] | undefined;
  /** Also produce the cleaned HTML (it costs a serialisation). */
  html?: boolean | undefined;
}

export interface SelectedDocument {
  markdown: string;
  /** Cleaned HTML of the same selection, when asked for. */
  html: string | null;
  links: string[];
  metadata: Pick<ExtractedPage, 'title' | 'description' | 'language' | 'canonicalUrl' | 'siteName' | 'author' | 'publishedAt'>;
  /** Open Graph properties as Firecrawl names them: og:title → ogTitle, og:image:width → ogImageWidth. */
  openGraph: Record<string, string>;
}

/** Never content in any view. */
const REMOVED = 'script, style, noscript, template, iframe, frame, frameset, object, embed, link, meta, base';
/** Page furniture left out of the main-content HTML (Firecrawl's own list, in spirit). */
const NON_MAIN = 'header, footer, nav, aside, menu, [role=navigation], [role=banner], [role=contentinfo], [role=complementary], .sidebar, #sidebar, .cookie, #cookie, .ad, .ads, .advert, .breadcrumbs, .breadcrumb, .menu, .navbar, .social, .share';

function camelOg(property: string): string {
  return property
    .split(':')
    .map((part, i) => (i === 0 ? part : part.charAt(0).toUpperCase() + part.slice(1)))
    .join('')
    .replace(/[-_](\w)/g, (_m, c: string) => c.toUpperCase());
}

function openGraph(root: DomElement): Record<string, string> {
  const og: Record<string, string> = {};
  for (const el of scanDocument(root).metas) {
    const key = (el.attribs['property'] ?? el.attribs['name'] ?? '').trim().toLowerCase();
    const content = el.attribs['content'];
    if (!/^og:[a-z_:-]{1,60}$/.test(key) || content === undefined) continue;
    const name = camelOg(key);
    og[name] ??= content.trim();
  }
  return og;
}

/** The page narrowed to includeTags (inside the original <head>) minus excludeTags; the original when neither is given. */
function narrow($: cheerio.CheerioAPI, opts: SelectionOptions): boolean {
  const include = opts.includeTags ?? [];
  const exclude = opts.excludeTags ?? [];
  if (include.length === 0 && exclude.length === 0) return false;
  if (treeDepth($.root()[0] as unknown as DomElement) > MAX_RENDER_DEPTH) throw new SelectionTooComplexError();
  if (include.length > 0) {
    const matched = $(include.join(', ')).toArray();
    const set = new Set<unknown>(matched);
    // An element inside another kept one is already there (at most depth steps each: checked above).
    const kept = matched.filter((el) => {
      for (let p = el.parent; p; p = p.parent) if (set.has(p)) return false;
      return true;
    });
    const body = $('body');
    const clones = kept.map((el) => $(el).clone());
    if (body.length) {
      body.empty();
      for (const c of clones) body.append(c);
    } else {
      $.root().empty().append('<body></body>');
      for (const c of clones) $('body').append(c);
    }
  }
  if (exclude.length > 0) $(exclude.join(', ')).remove();
  return true;
}

function wholePageMarkdown(root: DomElement, base: string): string {
  const body = (scanDocument(root).body ?? root) as DomElement;
  const skip = (el: DomElement) => isJunk(el) && el.name !== 'img' && el.name !== 'picture';
  if (treeDepth(body) > MAX_RENDER_DEPTH) return plainParagraphs(body, skip).join('\n\n');
  return renderBlocks([body], { base, skip, images: true }).markdown;
}

/** One page as Firecrawl's scrape describes it: Markdown, optional cleaned HTML, links, metadata. */
export function selectDocument(html: string, baseUrl: string, opts: SelectionOptions): SelectedDocument {
  const full = extractPage(html, baseUrl);
  const $ = parseHtml(html);
  const og = openGraph($.root()[0] as unknown as DomElement);
  const narrowed = narrow($, opts);
  const source = narrowed ? $.html() : html;

  let markdown: string;
  if (opts.onlyMainContent) markdown = narrowed ? extractPage(source, baseUrl).markdown : full.markdown;
  else markdown = wholePageMarkdown($.root()[0] as unknown as DomElement, baseUrl);

  let cleaned: string | null = null;
  if (opts.html) {
    $(REMOVED).remove();
    if (opts.onlyMainContent) $(NON_MAIN).remove();
    $.root()
      .find('*')
      .contents()
      .filter((_i, n) => n.type === 'comment')
      .remove();
    cleaned = $('body').length ? ($('body').html() ?? '').trim() : ($.root().html() ?? '').trim();
  }

  const { title, description, language, canonicalUrl, siteName, author, publishedAt } = full;
  return { markdown, html: cleaned, links: full.links, metadata: { title, description, language, canonicalUrl, siteName, author, publishedAt }, openGraph: og };
}
