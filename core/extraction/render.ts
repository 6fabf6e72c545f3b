/**
 * Renders selected content to Markdown and plain text in one walk, so both
 * always come from the same selection. Block elements end a paragraph, <br>
 * ends a line: adjacent blocks can never glue their words together.
 */
import { type DomElement, type DomNode, BLOCK_TAGS, childElements, collapseSpaces, isElement, isText } from './dom.js';
import { resolveHttpUrl } from './links.js';

export interface Heading {
  level: number;
  text: string;
}

interface Block {
  md: string;
  text: string;
  heading?: Heading;
  /** A short paragraph that reads as a heading ("**More on this**", "Related:"). */
  lead?: boolean;
  /** Stands for skipped boilerplate; never output. */
  gap?: boolean;
}

const GAP: Block = { md: '', text: '', gap: true };

export interface Rendered {
  markdown: string;
  text: string;
  headings: Heading[];
}

export interface RenderContext {
  base: string;
  /** Elements (with their subtrees) to leave out. */
  skip: (el: DomElement) => boolean;
  /** Whether a skipped element held visible text (it then separates sections: see dropOrphanHeadings). */
  isGap?: (el: DomElement) => boolean;
  /** Markdown keeps images as ![alt](src) (plain text never does). */
  images?: boolean;
}

/** Lazy-loading attributes first: `src` is often a placeholder until a script swaps it. */
const IMAGE_SRC_ATTRS = ['data-src', 'data-lazy-src', 'data-original', 'src'];

/** `![alt](url)` for an <img> (or the <img> inside a <picture>), or '' when it has no http(s) source. */
function imageMarkdown(el: DomElement, ctx: RenderContext): string {
  const img = el.name === 'picture' ? childElements(el).find((c) => c.name === 'img') : el;
  if (!img) return '';
  // Hidden images and 1-pixel trackers are no content.
  const a = img.attribs;
  if ('hidden' in a || a['aria-hidden'] === 'true' || a['width'] === '1' || a['height'] === '1' || /display\s*:\s*none/i.test(a['style'] ?? '')) return '';
  let url: string | null = null;
  for (const a of IMAGE_SRC_ATTRS) {
    const v = img.attribs[a];
    if (v && (url = resolveHttpUrl(v, ctx.base))) break;
  }
  if (!url) {
    const first = (img.attribs['srcset'] ?? img.attribs['data-srcset'] ?? '').trim().split(/\s+/)[0];
    if (first) url = resolveHttpUrl(first, ctx.base);
  }
  if (!url) return '';
  const alt = collapseSpaces(img.attribs['alt'] ?? '').trim().replace(/[\\[\]]/g, '\\$&');
  return `![${alt}](${markdownUrl(url)})`;
}

/** A URL as a Markdown link destination: parentheses and whitespace percent-encoded (encodeURIComponent leaves parentheses). */
function markdownUrl(url: string): string {
  return url.replace(/[()\s]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

function isImage(el: DomElement, ctx: RenderContext): boolean {
  return ctx.images === true && (el.name === 'img' || el.name === 'picture');
}

/** Image credits and source lines ("Foto: dpa", "Credit: Getty Images", "© Reuters"). */
const CREDIT_RE = /^(?:(?:foto|fotos|photo|photos|bild|bilder|image|images|picture|credit|credits|cr[ée]dits?(?: photos?)?|titelbild|abbildung(?: \d+)?|illustration|grafik|quelle|source)\s*:|©|\(c\)\s)/i;
const MONTH = '(?:jan(?:uary|uar|vier)?|feb(?:ruary|ruar)?|m[äa]r(?:ch|z|s)?|apr(?:il)?|ma[iy]|june?|juni|july?|juli|aug(?:ust)?|sept?(?:ember)?|o[ck]t(?:ober)?|nov(?:ember)?|d[eé][cz](?:ember)?)\\.?';
/** A line that is only a date and/or time, perhaps labelled ("23.10.2018", "19:49 Uhr", "January 13, 2020", "Aktualisiert am 2.1.2021"): a dateline. */
const DATE_ONLY_RE = new RegExp(`^(?:(?:\\d{1,4}[./-]\\d{1,2}(?:[./-]\\d{2,4})?\\.?|\\d{1,2}:\\d{2}(?::\\d{2})?|\\d{1,4}\\.?|${MONTH}|uhr|[ap]\\.?m\\.?|[,|·–:-]|(?:date|datum|fecha|data|published|updated|posted|veröffentlicht|aktualisiert|erschienen|stand|publié|mis à jour|on|am|le|vom)(?=[\\s:.]|$))\\s*)+$`, 'i');

/**
 * Short calls to action that sites put inside the article body: newsletter and subscription
 * prompts, "follow us", donations, app downloads, advertising notices (several languages).
 */
const CTA_RE = /newsletter|subscri(?:be|ption)|abonn|\babo\b|sign(?:ing)? up|anmelden|registrier|follow us|folg(?:en sie|e uns)|jetzt spenden|unterstützen sie|support us|donate|postfach|inbox|download (?:the|our) app|telegram|whatsapp|enthält werbung|affiliate|s[ií]guenos|all rights reserved|alle rechte vorbehalten|support(?:ing)? our work|consider supporting|unterstütze|gefällt (?:dir|ihnen|euch) unser|we want to hear what you think|letter to the editor|leserbrief|for the latest (?:news|stories)|hazte miembro|(?:artikel|beitrag) teilen|share this (?:article|story|post)|externer? inhalte?\b|redaktioneller inhalt|third-party content/i;
const CTA_MAX = 160;
/** Titles of "more on this" boxes: only a line of their own this short is taken for one. */
const MORE_RE = /mehr zum thema|weitere informationen|könnte sie auch interessieren|lesen sie (?:auch|mehr)|auch interessant|zum weiterlesen|weiterführende|see also|read (?:more|also|next)|related|zobacz również|puedes ver|mira:|à lire aussi|lire aussi|leggi anche|über (?:den|die) autor|about the author|zum autor|sobre el autor|weitere (?:beiträge|artikel|news|nachrichten)|more (?:from|stories|articles)/i;
const MORE_MAX = 50;

function isCallToAction(text: string, max = CTA_MAX): boolean {
  return (text.length <= max && CTA_RE.test(text)) || (text.length <= MORE_MAX && MORE_RE.test(text));
}

function isCreditOrDate(text: string): boolean {
  if (text.length > 150) return false;
  if (CREDIT_RE.test(text)) return true;
  return text.length <= 40 && /\d/.test(text) && !/^\d+$/.test(text) && DATE_ONLY_RE.test(text);
}

/** Longest paragraph still taken as a pseudo-heading. */
const LEAD_MAX = 80;

const HEADING_LEVEL: Record<string, number> = { h1: 1, h2: 2, h3: 3, h4: 4, h5: 5, h6: 6 };
const CODE_TAGS = new Set(['code', 'kbd', 'samp', 'tt']);

function escapeMd(s: string): string {
  return s.replace(/[\\`*_[\]]/g, '\\$&').replace(/<(?=[a-zA-Z/!?])/g, '\\<');
}

/** A plain-text paragraph as Markdown that renders back to the same text. */
export function escapeMarkdown(paragraph: string): string {
  return paragraph.split('\n').map((l) => escapeLineStart(escapeMd(l))).join('\\\n');
}

/** A line that Markdown would read as structure (heading, list, quote) gets its first char escaped. */
function escapeLineStart(line: string): string {
  // An ordered-list marker is escaped at its punctuation ("1\\."): a backslash before a digit is literal.
  const ordered = /^(\d{1,9})([.)])(\s|$)/.exec(line);
  if (ordered) return `${ordered[1]}\\${line.slice(ordered[1]!.length)}`;
  return /^(?:#{1,6}(?:\s|$)|>|[-+](?:\s|$)|={3,}|-{3,})/.test(line) ? `\\${line}` : line;
}

/** Splits on hard breaks, collapses spaces per line, drops empty lines. */
function tidyLines(s: string): string[] {
  const out: string[] = [];
  for (const raw of s.split('\n')) {
    const line = collapseSpaces(raw).trim();
    if (line) out.push(line);
  }
  return out;
}

/** Text of an element ignoring skipped parts, for code blocks (whitespace kept). */
function rawText(node: DomNode, ctx: RenderContext): string {
  if (isText(node)) return node.data;
  if (!isElement(node) || ctx.skip(node)) return '';
  if (node.name === 'br') return '\n';
  let s = '';
  for (const c of node.children) s += rawText(c, ctx);
  return s;
}

/** A fence longer than any backtick run in the code (one pass: growing a fence until `includes` fails is quadratic in a run). */
function codeFence(code: string): string {
  let longest = 0;
  let run = 0;
  for (let i = 0; i < code.length; i++) {
    run = code.charCodeAt(i) === 96 ? run + 1 : 0;
    if (run > longest) longest = run;
  }
  return '`'.repeat(Math.max(3, longest + 1));
}

function codeLanguage(pre: DomElement): string {
  const code = childElements(pre).find((c) => c.name === 'code');
  const cls = `${pre.attribs['class'] ?? ''} ${code?.attribs['class'] ?? ''}`;
  const m = /(?:^|\s)(?:language|lang)-([\w+#-]+)/.exec(cls);
  return m?.[1] ?? '';
}

class Writer {
  readonly blocks: Block[] = [];
  readonly headings: Heading[] = [];
  private md = '';
  private text = '';
  /** Whether the open paragraph holds an image (a paragraph of images alone has no text but is kept). */
  private image = false;

  /**
   * Only paragraphs of the main flow are checked for credits and datelines, not table cells or list
   * items; calls to action are dropped everywhere but inside headings (judged as a whole).
   */
  constructor(
    private readonly ctx: RenderContext,
    private readonly topLevel = false,
    private readonly dropCalls = true,
  ) {}

  flush(): void {
    if (this.text || this.image) {
      const textLines = tidyLines(this.text);
      if (textLines.length || this.image) {
        const mdLines = tidyLines(this.md).map(escapeLineStart);
        const md = mdLines.join('\\\n');
        const text = textLines.join('\n');
        if (text && ((this.topLevel && isCreditOrDate(text)) || (this.dropCalls && isCallToAction(text)))) {
          this.md = '';
          this.text = '';
          this.image = false;
          return;
        }
        const lead = !!text && text.length <= LEAD_MAX && (text.endsWith(':') || /^\*\*[^*]+\*\*:?$/.test(md));
        this.blocks.push({ md, text, lead });
      }
    }
    this.md = '';
    this.text = '';
    this.image = false;
  }

  private inline(md: string, text: string): void {
    this.md += md;
    this.text += text;
  }

  walkChildren(el: DomElement): void {
    for (const c of el.children) this.walk(c);
  }

  walk(node: DomNode): void {
    if (isText(node)) {
      // Source newlines are just spaces; only <br> and blocks make lines.
      const t = collapseSpaces(node.data);
      this.inline(escapeMd(t), t);
      return;
    }
    if (!isElement(node)) return;
    const el = node;
    const name = el.name;
    if (isImage(el, this.ctx)) {
      const img = imageMarkdown(el, this.ctx);
      if (img) {
        this.inline(img, '');
        this.image = true;
      }
      return;
    }
    if (this.ctx.skip(el)) {
      if (BLOCK_TAGS.has(name)) this.flush();
      if (this.ctx.isGap?.(el) && this.blocks[this.blocks.length - 1] !== GAP) this.blocks.push(GAP);
      return;
    }
    if (name === 'br') {
      this.inline('\n', '\n');
      return;
    }
    if (!BLOCK_TAGS.has(name)) {
      if (hasBlockDescendant(el, this.ctx)) this.walkChildren(el);
      else {
        const r = renderInline(el, this.ctx);
        this.inline(r.md, r.text);
        if (r.image) this.image = true;
      }
      return;
    }
    this.flush();
    const level = HEADING_LEVEL[name];
    if (level) this.heading(el, level);
    else if (name === 'ul' || name === 'ol' || name === 'menu' || name === 'dir') this.list(el, name === 'ol');
    else if (name === 'table') this.table(el);
    else if (name === 'pre') this.pre(el);
    else if (name === 'blockquote') this.quote(el);
    else if (name !== 'hr') this.walkChildren(el);
    this.flush();
  }

  private sub(el: DomElement, dropCalls = true): Writer {
    const w = new Writer(this.ctx, false, dropCalls);
    w.walkChildren(el);
    w.flush();
    // Gaps only matter between top-level sections; inside a list item or cell they would leave blank lines.
    for (let i = w.blocks.length - 1; i >= 0; i--) if (w.blocks[i]!.gap) w.blocks.splice(i, 1);
    this.headings.push(...w.headings);
    return w;
  }

  private heading(el: DomElement, level: number): void {
    const w = this.sub(el, false);
    const text = w.blocks.map((b) => b.text.replace(/\n/g, ' ')).join(' ');
    if (!text) return;
    const md = w.blocks.map((b) => b.md.replace(/\\\n/g, ' ')).join(' ');
    // A "More on this topic" title: its box is furniture even where the links under it survived.
    if (this.topLevel && isCallToAction(text, MORE_MAX)) return;
    const heading = { level, text };
    this.blocks.push({ md: `${'#'.repeat(level)} ${md}`, text, heading });
    this.headings.push(heading);
  }

  private list(el: DomElement, ordered: boolean): void {
    const mdItems: string[] = [];
    const textItems: string[] = [];
    let n = Number.parseInt(el.attribs['start'] ?? '1', 10);
    if (!Number.isFinite(n)) n = 1;
    for (const item of childElements(el)) {
      if (this.ctx.skip(item)) continue;
      const w = this.sub(item);
      if (!w.blocks.length) continue;
      const marker = ordered ? `${n++}.` : '-';
      const indent = ' '.repeat(marker.length + 1);
      const lines = w.blocks.map((b) => b.md).join('\n').split('\n');
      mdItems.push(lines.map((l, i) => (i === 0 ? `${marker} ${l}` : `${indent}${l}`)).join('\n'));
      textItems.push(w.blocks.filter((b) => b.text).map((b) => b.text).join('\n'));
    }
    if (mdItems.length) this.blocks.push({ md: mdItems.join('\n'), text: textItems.filter((t) => t).join('\n') });
  }

  private table(el: DomElement): void {
    const rows = tableRows(el);
    if (!isDataTable(el, rows, this.ctx)) {
      this.walkChildren(el);
      return;
    }
    // The caption titles the table: a paragraph of its own before it.
    const caption = childElements(el).find((c) => c.name === 'caption');
    if (caption && !this.ctx.skip(caption)) {
      const w = this.sub(caption);
      this.blocks.push(...w.blocks.filter((b) => b.text));
    }
    const mdRows: string[][] = [];
    const textRows: string[] = [];
    for (const row of rows) {
      const cellsMd: string[] = [];
      const cellsText: string[] = [];
      for (const cell of row) {
        if (this.ctx.skip(cell)) continue;
        const w = this.sub(cell);
        cellsMd.push(w.blocks.map((b) => b.md.replace(/\\?\n/g, ' ')).join(' ').replace(/\|/g, '\\|'));
        cellsText.push(w.blocks.filter((b) => b.text).map((b) => b.text.replace(/\n/g, ' ')).join(' '));
      }
      if (cellsText.some((c) => c) || cellsMd.some((c) => c)) {
        mdRows.push(cellsMd);
        textRows.push(cellsText.filter((c) => c).join('\t'));
      }
    }
    if (!mdRows.length) return;
    const width = Math.max(...mdRows.map((r) => r.length));
    const line = (r: string[]): string => `| ${Array.from({ length: width }, (_, i) => r[i] ?? '').join(' | ')} |`;
    const md = [line(mdRows[0]!), `|${' --- |'.repeat(width)}`, ...mdRows.slice(1).map(line)].join('\n');
    this.blocks.push({ md, text: textRows.join('\n') });
  }

  private pre(el: DomElement): void {
    const code = rawText(el, this.ctx).replace(/^\n+|\s+$/g, '');
    if (!code.trim()) return;
    const fence = codeFence(code);
    this.blocks.push({ md: `${fence}${codeLanguage(el)}\n${code}\n${fence}`, text: code });
  }

  private quote(el: DomElement): void {
    const w = this.sub(el);
    if (!w.blocks.length) return;
    const md = w.blocks
      .map((b) => b.md)
      .join('\n\n')
      .split('\n')
      .map((l) => (l ? `> ${l}` : '>'))
      .join('\n');
    this.blocks.push({ md, text: w.blocks.filter((b) => b.text).map((b) => b.text).join('\n\n') });
  }
}

/** Rows of a table, not descending into nested tables. */
function tableRows(table: DomElement): DomElement[][] {
  const rows: DomElement[][] = [];
  const visit = (el: DomElement): void => {
    for (const c of childElements(el)) {
      if (c.name === 'tr') rows.push(childElements(c).filter((x) => x.name === 'td' || x.name === 'th'));
      else if (c.name === 'thead' || c.name === 'tbody' || c.name === 'tfoot') visit(c);
    }
  };
  visit(table);
  return rows;
}

const LAYOUT_INSIDE_CELL = new Set(['table', 'p', 'div', 'ul', 'ol', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre', 'section', 'article']);

/** Layout tables (one column, or cells holding paragraphs and nested tables) are rendered as blocks. */
function isDataTable(table: DomElement, rows: DomElement[][], ctx: RenderContext): boolean {
  if (rows.length === 0) return false;
  if (!rows.some((r) => r.length > 1)) return false;
  return !hasDescendant(table, ctx, layoutCaches, (c) => LAYOUT_INSIDE_CELL.has(c.name));
}

/** Memos of hasDescendant per render (the answers depend on ctx.skip): each element is looked at once, however deep tables or inline runs nest. */
const layoutCaches = new WeakMap<RenderContext, Map<DomElement, boolean>>();
const blockDescCaches = new WeakMap<RenderContext, Map<DomElement, boolean>>();

/** Whether a non-skipped element below `el` (skipped subtrees left out) satisfies `test`. */
function hasDescendant(el: DomElement, ctx: RenderContext, caches: WeakMap<RenderContext, Map<DomElement, boolean>>, test: (c: DomElement) => boolean): boolean {
  let cache = caches.get(ctx);
  if (!cache) {
    cache = new Map();
    caches.set(ctx, cache);
  }
  const cached = cache.get(el);
  if (cached !== undefined) return cached;
  let found = false;
  for (const c of el.children) {
    if (!isElement(c) || ctx.skip(c)) continue;
    if (test(c) || hasDescendant(c, ctx, caches, test)) {
      found = true;
      break;
    }
  }
  cache.set(el, found);
  return found;
}

function hasBlockDescendant(el: DomElement, ctx: RenderContext): boolean {
  return hasDescendant(el, ctx, blockDescCaches, (c) => BLOCK_TAGS.has(c.name) && c.name !== 'br');
}

/** Moves leading/trailing whitespace outside of a Markdown wrapper like [..] or **..**. */
function wrap(inner: string, open: string, close: string): string {
  // trim() removes exactly what \s matches; a lazy regex split here was quadratic in a run of line breaks.
  const core = inner.trim();
  if (!core) return inner;
  const start = inner.length - inner.trimStart().length;
  return `${inner.slice(0, start)}${open}${core}${close}${inner.slice(start + core.length)}`;
}

function renderInline(el: DomElement, ctx: RenderContext): Block & { image?: boolean } {
  let md = '';
  let text = '';
  let image = false;
  for (const c of el.children) {
    if (isText(c)) {
      const t = collapseSpaces(c.data);
      md += escapeMd(t);
      text += t;
    } else if (isElement(c) && isImage(c, ctx)) {
      const img = imageMarkdown(c, ctx);
      md += img;
      image ||= !!img;
    } else if (isElement(c) && !ctx.skip(c)) {
      if (c.name === 'br') {
        md += '\n';
        text += '\n';
      } else {
        const r = renderInline(c, ctx);
        md += r.md;
        text += r.text;
        image ||= !!r.image;
      }
    }
  }
  const name = el.name;
  if (CODE_TAGS.has(name)) {
    const code = collapseSpaces(text);
    if (!code.trim()) return { md: code, text: code };
    const ticks = code.includes('`') ? '``' : '`';
    return { md: wrap(code, ticks + (ticks.length > 1 ? ' ' : ''), (ticks.length > 1 ? ' ' : '') + ticks), text };
  }
  if (name === 'a') {
    const url = resolveHttpUrl(el.attribs['href'] ?? '', ctx.base);
    if (url && text.trim()) return { md: wrap(md.replace(/\n/g, ' '), '[', `](${markdownUrl(url)})`), text, image };
    return { md, text, image };
  }
  if (name === 'strong' || name === 'b') return { md: wrap(md, '**', '**'), text, image };
  if (name === 'em' || name === 'i') return { md: wrap(md, '*', '*'), text, image };
  return { md, text, image };
}

/**
 * A heading with nothing under it (its section was boilerplate: "Related
 * articles", "Share this") is furniture too: dropped when followed by the end
 * of the content, by skipped boilerplate, or by a heading of the same or a
 * higher level. Bold or colon-ended short paragraphs count as headings here.
 */
function dropOrphanHeadings(blocks: Block[]): Block[] {
  const out: Block[] = [];
  // What follows the current block: 0 = end, 1-6 = heading level, 7 = body text.
  let next = 0;
  // Whether skipped boilerplate comes before anything else that follows.
  let gapNext = false;
  for (let i = blocks.length - 1; i >= 0; i--) {
    const b = blocks[i]!;
    if (b.gap) {
      gapNext = true;
      continue;
    }
    const afterGap = gapNext;
    gapNext = false;
    // A long "heading" is a deck or standfirst, i.e. body text.
    const level = b.heading && b.text.length <= LEAD_MAX ? b.heading.level : b.lead ? 7 : 0;
    if (level) {
      if (next === 0 || (next !== 7 && next <= level)) continue;
      // A pseudo-heading introduces what directly follows; when that was skipped, so is it.
      if (b.lead && (afterGap || next !== 7)) continue;
      next = level;
    } else next = 7;
    out.push(b);
  }
  return out.reverse();
}

export function renderBlocks(roots: DomElement[], ctx: RenderContext): Rendered {
  const w = new Writer(ctx, true);
  for (const r of roots) {
    // The document root (pages without <body>) is not an element: render its children.
    if (isElement(r)) w.walk(r);
    else w.walkChildren(r);
    w.flush();
  }
  const blocks = dropOrphanHeadings(w.blocks);
  const kept = new Set(blocks);
  const dropped = new Set(w.blocks.filter((b) => b.heading && !kept.has(b)).map((b) => b.heading));
  return {
    markdown: blocks.map((b) => b.md).join('\n\n'),
    text: blocks.filter((b) => b.text).map((b) => b.text).join('\n\n'),
    headings: w.headings.filter((h) => !dropped.has(h)),
  };
}
