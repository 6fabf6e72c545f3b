/**
 * Minimal view of cheerio's (domhandler's) node tree, plus helpers.
 * The extractor walks the tree directly: per-node cheerio wrappers would cost
 * most of the time budget on large pages.
 */
import * as cheerio from 'cheerio';
import { parseDocumentWithDepthLimit } from './nesting.js';

export interface DomNode {
  type: string;
  parent: DomNode | null;
}
export interface DomText extends DomNode {
  type: 'text';
  data: string;
}
export interface DomElement extends DomNode {
  name: string;
  attribs: Record<string, string>;
  children: DomNode[];
}

/** domhandler marks <script> and <style> with their own node types; all three are elements. */
export function isElement(node: DomNode): node is DomElement {
  return node.type === 'tag' || node.type === 'script' || node.type === 'style';
}
export function isText(node: DomNode): node is DomText {
  return node.type === 'text';
}

/**
 * Parses with htmlparser2 rather than parse5: about 5x faster on real pages,
 * and forgiving enough for extraction (we never re-serialise the tree).
 */
export function parseHtml(html: string): cheerio.CheerioAPI {
  return cheerio.load(parseDocumentWithDepthLimit(html), { xml: { xmlMode: false, decodeEntities: true, lowerCaseAttributeNames: true } });
}

/** Elements that end a line of text; everything else is inline. */
export const BLOCK_TAGS = new Set([
  'address', 'article', 'aside', 'blockquote', 'body', 'center', 'dd', 'details', 'dialog', 'dir', 'div', 'dl', 'dt',
  'fieldset', 'figcaption', 'figure', 'footer', 'form', 'frameset', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header',
  'hgroup', 'hr', 'html', 'li', 'main', 'menu', 'nav', 'ol', 'p', 'pre', 'section', 'summary', 'table', 'tbody',
  'td', 'tfoot', 'th', 'thead', 'tr', 'ul', 'caption', 'legend', 'option', 'noscript', 'br', 'frame', 'iframe',
  'video', 'audio', 'canvas', 'object', 'embed',
]);

// attribs is optional at runtime: the document root stands in for <body> on pages without one.
export function attr(el: DomElement, name: string): string {
  return el.attribs?.[name] ?? '';
}

/** Lowercased class + id, the string boilerplate patterns are tested against. */
export function classAndId(el: DomElement): string {
  let c = el.attribs?.['class'];
  const i = el.attribs?.['id'];
  if (!c && !i) return '';
  // CMS taxonomy classes ("category-comments", "tag-social-media" on WordPress posts) name topics, not roles.
  if (c && /(?:^|\s)(?:category|tag|tags|label|topic|rubrik)-/i.test(c)) c = c.replace(/(?:^|\s)(?:category|tag|tags|label|topic|rubrik)-\S*/gi, ' ');
  return `${c ?? ''} ${i ?? ''}`.toLowerCase();
}

export function childElements(el: DomElement): DomElement[] {
  const out: DomElement[] = [];
  for (const c of el.children) if (isElement(c)) out.push(c);
  return out;
}

/** Depth-first pre-order over elements below `root` (iterative: pages can nest thousands deep). */
export function* descendants(root: DomElement): Generator<DomElement> {
  const stack: DomNode[] = [...root.children].reverse();
  while (stack.length) {
    const n = stack.pop()!;
    if (!isElement(n)) continue;
    yield n;
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
  }
}

export function isAncestor(anc: DomElement, node: DomNode): boolean {
  for (let p = node.parent; p; p = p.parent) if (p === anc) return true;
  return false;
}

/** Collapses runs of whitespace (incl. NBSP) to single spaces. */
export function collapseSpaces(s: string): string {
  return s.replace(/[\s\u00a0]+/g, ' ');
}
