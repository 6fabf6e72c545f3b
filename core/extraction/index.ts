/**
 * Main-content extraction: HTML string → metadata, Markdown, plain text, links.
 *
 * Pipeline: parse (htmlparser2 via cheerio) → metadata and links from the whole
 * page → mark junk and boilerplate → choose the content container → filter
 * link-heavy blocks inside it → render. When the result is implausibly short,
 * wider selections are tried so a page with text never yields nothing.
 */
import { articleBodyContent, extractContent } from './content.js';
import { type DomElement, parseHtml } from './dom.js';
import { collectLinks, documentBase } from './links.js';
import { extractMetadata, jsonLdArticleBody, jsonLdNodes, jsonLdTypes, type PageMetadata } from './metadata.js';
import type { Heading } from './render.js';
import { scanDocument, textContent } from './scan.js';

export { decodeHtml } from './decode.js';
export { PageTooComplexError } from './nesting.js';
export type { DecodedHtml } from './decode.js';
export type { Heading } from './render.js';

export interface ExtractedPage extends PageMetadata {
  /** Main content, from the same selection as `text`. */
  markdown: string;
  text: string;
  /** Absolute http(s) URLs of all <a href> on the page (deduped, fragment removed), for crawling. */
  links: string[];
  headings: Heading[];
}

export interface ExtractOptions {
  /**
   * Comment threads and replies: true keeps them after the article, false drops them. Unset:
   * dropped on articles, kept on discussion pages (forum threads, Q&A, or pages whose only
   * text is the thread).
   */
  includeComments?: boolean;
  /** Markdown keeps images as `![alt](src)` with absolute URLs (off by default; `text` never has them). */
  includeImages?: boolean;
}

/** JSON-LD types of pages whose posts are the content. */
const DISCUSSION_TYPE = /^(?:DiscussionForumPosting|QAPage)$/;

/** @throws PageTooComplexError for pages nested too deep to parse in reasonable time. */
export function extractPage(html: string, baseUrl: string, options: ExtractOptions = {}): ExtractedPage {
  const $ = parseHtml(html);
  const doc = scanDocument($.root()[0] as unknown as DomElement);
  const base = documentBase(doc, baseUrl);
  const ld = jsonLdNodes(doc);
  const metadata = extractMetadata(doc, base, ld);
  const links = collectLinks(doc, base);

  const title = `${metadata.title ?? ''} ${doc.title ? textContent(doc.title) : ''}`;
  const discussion = ld.some((n) => jsonLdTypes(n).some((t) => DISCUSSION_TYPE.test(t)));
  const found = extractContent(doc, base, title, { comments: options.includeComments, discussion, images: options.includeImages });
  const content = articleBodyContent(jsonLdArticleBody(ld), found, base, options.includeImages) ?? found;
  return { ...metadata, markdown: content.markdown, text: content.text, links, headings: content.headings };
}
