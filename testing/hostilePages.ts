/**
 * Generators of hostile HTML for the extractor: each shape grows with `n`
 * (leaves, siblings, nesting or characters), so a pass that is quadratic in
 * some part of the document shows as time growing ~16x for 4x the input.
 * Shared by spec/extraction/adversarialScaling.test.ts (which bounds that
 * growth) and bench/adversarial.ts (which reports the timings).
 */

const PROSE = 'Prose words, more prose words, and then some more words for the count. ';
const TITLE = 'The Quick Brown Fox Jumps Over';

/** `depth` nested <tag>s (each opening with `each`) around `inner`, in a page. */
function nest(tag: string, depth: number, inner: string, each = ''): string {
  const d = Math.round(depth);
  return `<html><body>${`<${tag}>${each}`.repeat(d)}${inner}${`</${tag}>`.repeat(d)}</body></html>`;
}

export interface HostileShape {
  name: string;
  /** A size at which the page is a few tens of KB; the benchmark uses n and 4n, the test n and 8n (nesting stays under MAX_RENDER_DEPTH at 8n). */
  n: number;
  html(n: number): string;
}

export const HOSTILE_SHAPES: HostileShape[] = [
  // The reported page: 900 nested divs around 20,000 spans (290 KB) took 68 s.
  { name: 'deep nesting around many leaves', n: 5000, html: (n) => nest('div', n / 25, '<span>x</span>'.repeat(n)) },
  { name: 'very deep nesting alone', n: 2000, html: (n) => `<html><body>${'<div>'.repeat(n)}text${'</div>'.repeat(n)}</body></html>` },
  { name: 'very wide', n: 1000, html: (n) => `<html><body><div>${`<p>${PROSE}</p>`.repeat(n)}</div></body></html>` },
  { name: 'siblings with class names', n: 1000, html: (n) => `<html><body>${Array.from({ length: n }, (_, i) => `<div class="entry c${i} sidebar-${i} widget">${PROSE}</div>`).join('')}</body></html>` },
  { name: 'same-class posts', n: 1000, html: (n) => `<html><body><div>${`<div class="entry-content">${PROSE}</div>`.repeat(n)}</div></body></html>` },
  { name: 'huge attribute lists', n: 2000, html: (n) => `<html><body><div ${Array.from({ length: n }, (_, i) => `data-a${i}="v${i}"`).join(' ')} class="${'x '.repeat(n)}">text</div><p>${PROSE.repeat(5)}</p></body></html>` },
  { name: 'long text without spaces', n: 50_000, html: (n) => `<html><body><p>${'a'.repeat(n)}</p><pre>${'a'.repeat(n)}</pre></body></html>` },
  { name: 'many <br>', n: 5000, html: (n) => `<html><body><div>${'line of text<br>'.repeat(n)}</div></body></html>` },
  { name: '<br> run inside bold', n: 5000, html: (n) => `<html><body><p>${PROSE}<b>x${'<br>'.repeat(n)}x</b></p></body></html>` },
  { name: 'backtick run in <pre>', n: 5000, html: (n) => `<html><body><p>${PROSE.repeat(5)}</p><pre>${'`'.repeat(n)}</pre></body></html>` },
  { name: 'nested tables around many cells', n: 2000, html: (n) => `<html><body>${'<table><tr><td>cell<td>'.repeat(n / 40)}${'<span>c, </span>'.repeat(n)}${'</table>'.repeat(n / 40)}</body></html>` },
  { name: 'nested articles around title headings', n: 1000, html: (n) => `<html><head><title>${TITLE}</title></head><body>${`<article><p>${PROSE.repeat(4)}</p>`.repeat(n / 10)}${'<h2>Another heading of the page</h2>'.repeat(n)}<h2>${TITLE}</h2>${'</article>'.repeat(n / 10)}</body></html>` },
  { name: 'deep rel=author links', n: 4000, html: (n) => nest('div', n / 10, '<a rel="author" href="/a"></a>'.repeat(n)) },
  { name: 'deep headers', n: 4000, html: (n) => nest('div', n / 40, '<header>h</header>'.repeat(n)) },
  { name: 'nested spans with text', n: 100, html: (n) => nest('span', n, 'x', 'word, '.repeat(20)) },
  { name: 'deep lead boxes', n: 1000, html: (n) => nest('div', n / 10, `${`<div class="lead">${PROSE}</div>`.repeat(n)}<div class="entry-content">${PROSE.repeat(10)}</div>`) },
];

/** CPU milliseconds of this process spent in `fn`: less sensitive than the wall clock to other work on the machine. */
export function cpuMs(fn: () => void): number {
  const before = process.cpuUsage();
  fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

export interface Scaling {
  /** Page sizes in bytes at n and factor × n. */
  bytes: [number, number];
  /** CPU ms per page at n and at factor × n (best of the runs). */
  ms: [number, number];
  /** ms at factor × n / ms at n: ~factor for a linear pass, ~factor² for a quadratic one. */
  ratio: number;
}

/**
 * How `extract`'s cost grows from n to factor × n on one shape. The small page is timed as a
 * batch of `factor` extractions, so both measurements allocate about as much and garbage
 * collection weighs the same on each; runs are interleaved and the best of each kept.
 */
export function scaling(extract: (html: string) => unknown, shape: HostileShape, { factor = 4, runs = 3 } = {}): Scaling {
  const small = shape.html(shape.n);
  const large = shape.html(factor * shape.n);
  extract(small); // warm the JIT on this shape
  let a = Number.POSITIVE_INFINITY;
  let b = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    a = Math.min(a, cpuMs(() => {
      for (let k = 0; k < factor; k++) extract(small);
    }) / factor);
    b = Math.min(b, cpuMs(() => extract(large)));
  }
  return { bytes: [small.length, large.length], ms: [a, b], ratio: b / Math.max(a, 0.01) };
}
