// Heading-aware chunking of a page's Markdown into passages that fit the
// embedding model: every chunk stays within one section (so its heading path
// is true for all of its text), holds at most `maxTokens` model tokens, and
// starts with the last ~`overlapTokens` of the previous chunk of the same
// section so a sentence cut at a boundary is still found whole in one chunk.
//
// Tokens are counted by the model's own tokenizer on its thread, so a page is
// counted in at most four calls (blocks, sentences of long blocks, words of
// long sentences, finished chunks) rather than one per candidate.

export interface ChunkOptions {
  maxTokens: number;
  overlapTokens: number;
  /** Model tokens in each text (no special tokens). */
  countTokens(texts: string[]): Promise<number[]>;
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

interface Piece {
  text: string;
  tokens: number;
}

/** Counts of many texts in one call. */
async function counted(texts: string[], opts: ChunkOptions): Promise<Piece[]> {
  const counts = await opts.countTokens(texts);
  return texts.map((text, i) => ({ text, tokens: counts[i] as number }));
}

/** A sentence longer than a chunk (a long list line, minified text), cut into runs of whole words. */
function cutByWords(words: Piece[], maxTokens: number): Piece[] {
  const out: Piece[] = [];
  let run: Piece[] = [];
  let tokens = 0;
  const end = () => {
    if (run.length) out.push({ text: run.map((w) => w.text).join(' '), tokens });
    run = [];
    tokens = 0;
  };
  for (const word of words) {
    // WordPiece splits at whitespace first, so the words' counts add up to the run's.
    // A single word longer than the limit is left to the embedder's truncation.
    if (run.length && tokens + word.tokens > maxTokens) end();
    run.push(word);
    tokens += word.tokens;
  }
  end();
  return out;
}

/** Each block's pieces of at most maxTokens: the block when it fits, else its sentences, else runs of words. */
async function piecesOf(blocks: string[], opts: ChunkOptions): Promise<Piece[][]> {
  const whole = await counted(blocks, opts);
  const long = whole.map((b, i) => (b.tokens > opts.maxTokens ? i : -1)).filter((i) => i >= 0);
  const sentencesOf = new Map(long.map((i) => [i, splitSentences(blocks[i] as string)]));
  const sentences = await counted([...sentencesOf.values()].flat(), opts);
  const longSentences = sentences.filter((s) => s.tokens > opts.maxTokens);
  const words = await counted(longSentences.flatMap((s) => s.text.split(/\s+/)), opts);
  const cut = new Map<Piece, Piece[]>();
  let w = 0;
  for (const s of longSentences) {
    const n = s.text.split(/\s+/).length;
    cut.set(s, cutByWords(words.slice(w, w + n), opts.maxTokens));
    w += n;
  }
  let at = 0;
  return whole.map((b, i) => {
    const own = sentencesOf.get(i);
    if (!own) return [b];
    const mine = sentences.slice(at, (at += own.length));
    return mine.flatMap((s) => cut.get(s) ?? [s]);
  });
}

/** Chunks of a page's Markdown, in reading order. */
export async function chunkMarkdown(markdown: string, opts: ChunkOptions): Promise<Chunk[]> {
  if (opts.overlapTokens * 2 > opts.maxTokens) throw new RangeError('overlapTokens must be at most half of maxTokens');
  const sections = splitSections(markdown);
  const pieces = await piecesOf(sections.flatMap((s) => s.blocks), opts);
  let nextBlock = 0;
  const chunks: Omit<Chunk, 'tokens'>[] = [];
  for (const section of sections) {
    let current: Piece[] = [];
    let currentTokens = 0;
    // Pieces of the current chunk that were carried over, so a chunk made only of overlap is never emitted.
    let carried = 0;

    const emit = () => {
      if (current.length > carried) {
        chunks.push({ position: chunks.length, headingPath: section.headingPath, content: current.map((p) => p.text).join('\n\n') });
      }
      // Carry whole trailing pieces that fit the overlap budget into the next chunk.
      const tail: Piece[] = [];
      let tailTokens = 0;
      for (let i = current.length - 1; i >= 0; i--) {
        const p = current[i] as Piece;
        if (tailTokens + p.tokens > opts.overlapTokens) break;
        tail.unshift(p);
        tailTokens += p.tokens;
      }
      current = tail;
      currentTokens = tailTokens;
      carried = tail.length;
    };

    for (let b = 0; b < section.blocks.length; b++) {
      for (const piece of pieces[nextBlock++] as Piece[]) {
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
      chunks.push({ position: chunks.length, headingPath: section.headingPath, content: current.map((p) => p.text).join('\n\n') });
    }
  }
  const tokens = await opts.countTokens(chunks.map((c) => c.content));
  return chunks.map((c, i) => ({ ...c, tokens: tokens[i] as number }));
}
