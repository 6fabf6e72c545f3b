// htmlparser2 keeps its open-element stack with Array.unshift, so parsing is
// quadratic in nesting depth: 150,000 unclosed <div>s (1.6 MB, under the fetch
// cap) blocked the event loop for ~20 s. We parse with a DOM handler that
// counts the depth the parser itself reports (its implied closes included) and
// stops at MAX_NESTING_DEPTH, which bounds the quadratic part to a few ms.
import { DomHandler, type Document } from 'domhandler';
import { Parser } from 'htmlparser2';

// Real pages nest a few hundred levels at most.
export const MAX_NESTING_DEPTH = 10_000;

export class PageTooComplexError extends Error {
  constructor(readonly depth: number) {
    super(`the page nests elements more than ${depth} levels deep; it is refused rather than parsed`);
    this.name = 'PageTooComplexError';
  }
}

class DepthLimitedHandler extends DomHandler {
  private depth = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override onopentag(name: string, attribs: Record<string, string>): void {
    if (++this.depth > this.limit) throw new PageTooComplexError(this.limit);
    super.onopentag(name, attribs);
  }

  override onclosetag(): void {
    this.depth--;
    super.onclosetag();
  }
}

/**
 * Parse HTML as cheerio would (htmlparser2, HTML mode), refusing pages nested
 * deeper than `limit`. @throws PageTooComplexError
 */
export function parseDocumentWithDepthLimit(html: string, limit = MAX_NESTING_DEPTH): Document {
  const handler = new DepthLimitedHandler(limit);
  new Parser(handler, { xmlMode: false, decodeEntities: true, lowerCaseAttributeNames: true }).end(html);
  return handler.root;
}
