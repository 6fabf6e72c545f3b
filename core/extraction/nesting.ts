// htmlparser2 keeps its open-element stack with Array.unshift, so parsing is
// quadratic in nesting depth: 150,000 unclosed <div>s (1.6 MB, under the fetch
// cap) block the event loop for ~20 s. This linear pre-scan mirrors the
// parser's stack closely enough to refuse such pages before they are parsed.

const VOID = new Set(['area', 'base', 'basefont', 'br', 'col', 'command', 'embed', 'frame', 'hr', 'img', 'input', 'isindex', 'keygen', 'link', 'meta', 'param', 'source', 'track', 'wbr']);
// Start tags the parser closes by itself when the next one opens: they never pile up.
const SELF_CLOSING_SIBLINGS = new Set(['p', 'li', 'dt', 'dd', 'option', 'optgroup', 'tr', 'td', 'th', 'thead', 'tbody', 'tfoot', 'rb', 'rt', 'rp']);
const RAW_TEXT = new Set(['script', 'style', 'textarea', 'title', 'xmp', 'noembed', 'noframes']);

// 50,000 levels parse in under a second; real pages stay in the hundreds.
export const MAX_NESTING_DEPTH = 50_000;

export class PageTooComplexError extends Error {
  constructor(readonly depth: number) {
    super(`the page nests elements more than ${depth} levels deep; it is refused rather than parsed`);
    this.name = 'PageTooComplexError';
  }
}

/** True when the page's elements nest deeper than `limit` (linear time). */
export function nestsDeeperThan(html: string, limit = MAX_NESTING_DEPTH): boolean {
  const stack: string[] = [];
  const open = new Map<string, number>();
  const tag = /<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)[^>]*?(\/?)>/g;
  let lower: string | undefined;
  let m: RegExpExecArray | null;
  while ((m = tag.exec(html))) {
    const name = m[2]!.toLowerCase();
    if (m[1]) {
      // An end tag pops up to its element, if that element is open at all.
      if (!open.get(name)) continue;
      for (;;) {
        const popped = stack.pop()!;
        open.set(popped, open.get(popped)! - 1);
        if (popped === name) break;
      }
      continue;
    }
    if (RAW_TEXT.has(name)) {
      lower ??= html.toLowerCase();
      const end = lower.indexOf(`</${name}`, tag.lastIndex);
      if (end < 0) break;
      tag.lastIndex = end;
      continue;
    }
    if (m[3] || VOID.has(name) || SELF_CLOSING_SIBLINGS.has(name)) continue;
    stack.push(name);
    open.set(name, (open.get(name) ?? 0) + 1);
    if (stack.length > limit) return true;
  }
  return false;
}
