/** Per-element text statistics, computed once per page, used by scoring and link-density filters. */
import { type DomElement, type DomNode, isElement, isText } from './dom.js';

export interface TextStats {
  /** Characters of visible text (whitespace runs counted once). */
  text: number;
  /** Characters of that text inside <a>. */
  link: number;
}

export type StatsMap = Map<DomElement, TextStats>;

/** Non-space character count, an approximation of rendered text length that is cheap to compute. */
export function visibleLength(s: string): number {
  let n = 0;
  let prevSpace = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const space = c === 32 || c === 10 || c === 9 || c === 13 || c === 12 || c === 160;
    if (!space) n++;
    else if (!prevSpace) n++;
    prevSpace = space;
  }
  return n;
}

/**
 * Bottom-up pass over `root`. Elements for which `skip` is true count as empty
 * and are not descended into.
 */
export function computeStats(root: DomElement, skip: (el: DomElement) => boolean): StatsMap {
  const stats: StatsMap = new Map();
  // Pre-order first; read backwards, every element comes after all of its descendants (no per-node pairs to allocate).
  const order: DomElement[] = [];
  const stack: DomElement[] = [root];
  while (stack.length) {
    const el = stack.pop()!;
    if (skip(el)) {
      stats.set(el, { text: 0, link: 0 });
      continue;
    }
    order.push(el);
    for (const c of el.children) if (isElement(c)) stack.push(c);
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const el = order[i]!;
    let text = 0;
    let link = 0;
    const inLink = el.name === 'a';
    for (const c of el.children as DomNode[]) {
      if (isText(c)) {
        const n = visibleLength(c.data);
        text += n;
        if (inLink) link += n;
      } else if (isElement(c)) {
        const s = stats.get(c);
        if (!s) continue;
        text += s.text;
        link += inLink ? s.text : s.link;
      }
    }
    stats.set(el, { text, link });
  }
  return stats;
}

export function linkDensity(s: TextStats | undefined): number {
  return s && s.text > 0 ? s.link / s.text : 0;
}
