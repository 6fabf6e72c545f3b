// Heading-aware chunking of a page's Markdown into passages that fit the
// embedding model: every chunk stays within one section (so its heading path
// is true for all of its text), holds at most `maxTokens` model tokens, and
// starts with the last ~`overlapTokens` of the previous chunk of the same
// section so a sentence cut at a boundary is still found whole in one chunk.

export interface ChunkOptions {
  maxTokens: number;
  overlapTokens: number;
  /** Model tokens in a piece of text (no special tokens). */
  countTokens(text: string): number;
}

export interface Chunk {
  /** Order within the page, from 0. */
  position: number;
  /** Headings above the chunk, outermost first. */
  headingPath: string[];
  content: string;
  tokens: number;
}

interface Section {
  headingPath: string[];
  blocks: string[];
}

const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const FENCE = /^(```|~~~)/;

/** Split Markdown into sections at headings, and each section into blocks (paragraphs, lists, code fences). */
export function splitSections(markdown: string): Section[] {
  const sections: Section[] = [];
  const path: { level: number; text: string }[] = [];
  let current: Section = { headingPath: [], blocks: [] };
  let block: string[] = [];
  let fence: string | null = null;

  const endBlock = () => {
    const text = block.join('\n').trim();
    if (text) current.blocks.push(text);
    block = [];
  };

  for (const line of markdown.split('\n')) {
    if (fence !== null) {
      block.push(line);
      if (line.trimStart().startsWith(fence)) {
        fence = null;
        endBlock();
      }
      continue;
    }
    const fenceStart = FENCE.exec(line.trimStart());
    if (fenceStart) {
      endBlock();
      fence = fenceStart[1] as string;
      block.push(line);
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      endBlock();
      if (current.blocks.length) sections.push(current);
      const level = (heading[1] as string).length;
      while (path.length && (path[path.length - 1] as { level: number }).level >= level) path.pop();
      const text = (heading[2] as string).replace(/[*_`]/g, '').trim();
      if (text) path.push({ level, text });
      current = { headingPath: path.map((h) => h.text), blocks: [] };
      continue;
    }
    if (line.trim() === '') endBlock();
    else block.push(line);
  }
  endBlock();
  if (current.blocks.length) sections.push(current);
  return sections;
}

// Sentence ends, or line ends inside lists and code, are the preferred cut points.
function splitSentences(text: string): string[] {
  const parts = text.split(/(?<=[.!?…。])\s+|\n+/).map((s) => s.trim());
  return parts.filter(Boolean);
}

/** Pieces of at most maxTokens: sentences when they fit, else runs of words. */
function pieces(block: string, opts: ChunkOptions): { text: string; tokens: number }[] {
  const tokens = opts.countTokens(block);
  if (tokens <= opts.maxTokens) return [{ text: block, tokens }];
  const out: { text: string; tokens: number }[] = [];
  for (const sentence of splitSentences(block)) {
    const n = opts.countTokens(sentence);
    if (n <= opts.maxTokens) {
      out.push({ text: sentence, tokens: n });
      continue;
    }
    // A "sentence" longer than a chunk (a long list line, minified text): cut by words.
    let words: string[] = [];
    for (const word of sentence.split(/\s+/)) {
      const candidate = [...words, word].join(' ');
      if (words.length && opts.countTokens(candidate) > opts.maxTokens) {
        const text = words.join(' ');
        out.push({ text, tokens: opts.countTokens(text) });
        words = [word];
      } else {
        words.push(word);
      }
    }
    // A single word longer than the limit is left to the embedder's truncation.
    if (words.length) {
      const text = words.join(' ');
      out.push({ text, tokens: opts.countTokens(text) });
    }
  }
  return out;
}

/** Chunks of a page's Markdown, in reading order. */
export function chunkMarkdown(markdown: string, opts: ChunkOptions): Chunk[] {
  if (opts.overlapTokens * 2 > opts.maxTokens) throw new RangeError('overlapTokens must be at most half of maxTokens');
  const chunks: Chunk[] = [];
  for (const section of splitSections(markdown)) {
    let current: { text: string; tokens: number }[] = [];
    let currentTokens = 0;
    // Pieces of the current chunk that were carried over, so a chunk made only of overlap is never emitted.
    let carried = 0;

    const emit = () => {
      if (current.length > carried) {
        const content = current.map((p) => p.text).join('\n\n');
        chunks.push({ position: chunks.length, headingPath: section.headingPath, content, tokens: opts.countTokens(content) });
      }
      // Carry whole trailing pieces that fit the overlap budget into the next chunk.
      const tail: { text: string; tokens: number }[] = [];
      let tailTokens = 0;
      for (let i = current.length - 1; i >= 0; i--) {
        const p = current[i] as { text: string; tokens: number };
        if (tailTokens + p.tokens > opts.overlapTokens) break;
        tail.unshift(p);
        tailTokens += p.tokens;
      }
      current = tail;
      currentTokens = tailTokens;
      carried = tail.length;
    };

    for (const block of section.blocks) {
      for (const piece of pieces(block, opts)) {
        // +2 leaves room for the separator's tokens between pieces (usually 0, never more than a couple).
        if (current.length > carried && currentTokens + piece.tokens + 2 > opts.maxTokens) emit();
        // Overlap plus this piece may still not fit: drop overlap from the front until it does.
        while (current.length && currentTokens + piece.tokens + 2 > opts.maxTokens) {
          currentTokens -= (current.shift() as { tokens: number }).tokens;
          carried = Math.max(0, carried - 1);
        }
        current.push(piece);
        currentTokens += piece.tokens;
      }
    }
    if (current.length > carried) {
      const content = current.map((p) => p.text).join('\n\n');
      chunks.push({ position: chunks.length, headingPath: section.headingPath, content, tokens: opts.countTokens(content) });
    }
  }
  return chunks;
}
