/**
 * One iterative pass over the parsed document collecting the elements that
 * metadata, links and content selection need. CSS selectors (css-select) walk
 * ancestors for every candidate and get very slow on deeply nested pages.
 */
import { type DomElement, type DomNode, isElement, isText } from './dom.js';

export interface DocumentScan {
  root: DomElement;
  html: DomElement | null;
  body: DomElement | null;
  title: DomElement | null;
  firstH1: DomElement | null;
  base: DomElement | null;
  /** <meta> elements in document order. */
  metas: DomElement[];
  /** <link> elements in document order. */
  linkTags: DomElement[];
  /** <script type="application/ld+json"> elements. */
  jsonLd: DomElement[];
  /** <a href> elements in document order. */
  anchors: DomElement[];
  /** First <time datetime>. */
  time: DomElement | null;
  /** First element marked as the publication date in the page (microdata itemprop=datePublished, <time pubdate>), <meta> aside. */
  datePublished: DomElement | null;
  /** First microdata itemprop=author outside <meta>. */
  authorMark: DomElement | null;
  /** rel=author links in document order. */
  authorLinks: DomElement[];
  /** First element classed as a byline. */
  byline: DomElement | null;
}

export function scanDocument(root: DomElement): DocumentScan {
  const s: DocumentScan = {
    root, html: null, body: null, title: null, firstH1: null, base: null,
    metas: [], linkTags: [], jsonLd: [], anchors: [], time: null, datePublished: null, authorMark: null, authorLinks: [], byline: null,
  };
  const stack: DomNode[] = [...root.children].reverse();
  while (stack.length) {
    const n = stack.pop()!;
    if (!isElement(n)) continue;
    switch (n.name) {
      case 'html': s.html ??= n; break;
      case 'body': s.body ??= n; break;
      case 'title': s.title ??= n; break;
      case 'h1': s.firstH1 ??= n; break;
      case 'base': if (n.attribs['href'] !== undefined) s.base ??= n; break;
      case 'meta': s.metas.push(n); break;
      case 'link': s.linkTags.push(n); break;
      case 'a': if (n.attribs['href'] !== undefined) s.anchors.push(n); break;
      case 'time': if (n.attribs['datetime'] !== undefined) s.time ??= n; break;
      case 'script': if ((n.attribs['type'] ?? '').trim().toLowerCase() === 'application/ld+json') s.jsonLd.push(n); break;
      default: break;
    }
    const a = n.attribs;
    if (a['itemprop'] !== undefined && n.name !== 'meta') {
      const prop = a['itemprop'].toLowerCase();
      if (prop === 'datepublished') s.datePublished ??= n;
      else if (prop === 'author') s.authorMark ??= n;
    }
    if (n.name === 'time' && a['pubdate'] !== undefined) s.datePublished ??= n;
    if (n.name === 'a' && a['rel'] !== undefined && /(?:^|\s)author(?:\s|$)/i.test(a['rel'])) s.authorLinks.push(n);
    if (!s.byline && a['class'] !== undefined && /byline/i.test(a['class'])) s.byline = n;
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
  }
  return s;
}

/** The words below a node, element boundaries read as spaces (for short labels such as names). */
export function spacedText(node: DomNode): string {
  const parts: string[] = [];
  const stack: DomNode[] = [node];
  while (stack.length) {
    const n = stack.pop()!;
    if (isText(n)) parts.push(n.data);
    else if (isElement(n) && n.name !== 'script' && n.name !== 'style') for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
  }
  return parts.join(' ');
}

/** All text below a node (iterative, like Node.textContent). */
export function textContent(node: DomNode): string {
  let out = '';
  const stack: DomNode[] = [node];
  while (stack.length) {
    const n = stack.pop()!;
    if (isText(n)) out += n.data;
    else if (isElement(n) || n.type === 'root') {
      const children = (n as DomElement).children;
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
    }
  }
  return out;
}
