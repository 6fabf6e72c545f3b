/**
 * Iterative, structure-free text rendering: the safety net for pathological
 * trees (tens of thousands of nested unclosed tags) that would exhaust the
 * stack of the recursive Markdown renderer.
 */
import { type DomElement, type DomNode, BLOCK_TAGS, collapseSpaces, isElement, isText } from './dom.js';

/** Deeper than this, a tree is treated as pathological (real pages stay well under 200). */
export const MAX_RENDER_DEPTH = 1000;

export function treeDepth(root: DomElement): number {
  let max = 0;
  const stack: [DomNode, number][] = [[root, 0]];
  while (stack.length) {
    const [n, d] = stack.pop()!;
    if (d > max) max = d;
    if (isElement(n) || n.type === 'root') for (const c of (n as DomElement).children) stack.push([c, d + 1]);
  }
  return max;
}

/** Paragraphs of visible text, blocks separated, in document order. */
export function plainParagraphs(root: DomElement, skip: (el: DomElement) => boolean): string[] {
  const paragraphs: string[] = [];
  let buf = '';
  const flush = (): void => {
    for (const line of buf.split('\n')) {
      const t = collapseSpaces(line).trim();
      if (t) paragraphs.push(t);
    }
    buf = '';
  };
  // Stack of nodes, with a marker (null) standing for "end of a block element".
  const stack: (DomNode | null)[] = [...root.children].reverse();
  while (stack.length) {
    const n = stack.pop();
    if (n === undefined) break;
    if (n === null) {
      flush();
      continue;
    }
    if (isText(n)) buf += n.data.replace(/\n/g, ' ');
    else if (isElement(n) && !skip(n)) {
      if (n.name === 'br') buf += '\n';
      else {
        const block = BLOCK_TAGS.has(n.name);
        if (block) {
          flush();
          stack.push(null);
        }
        for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
      }
    }
  }
  flush();
  return paragraphs;
}
