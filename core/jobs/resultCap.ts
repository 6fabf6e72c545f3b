// What a job stores inline is bounded (RESULT_MAX_BYTES): a crawl of many big
// pages would otherwise write one jsonb row of hundreds of MB, and every read
// of the job would carry it. Over the cap, the longest strings (page contents)
// are shortened evenly, each ending with TRUNCATION_MARK; if that is still not
// enough, array elements are dropped from the end of the biggest arrays. A
// capped object result says so with `truncated: true`. The job never fails for it.

export const TRUNCATION_MARK = '…';

const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? 'null');

/** The result as stored: unchanged when it fits in `maxBytes` of JSON, else capped as described above. */
export function capResult(result: unknown, maxBytes: number): { result: unknown; truncated: boolean; bytes: number } {
  const bytes = jsonBytes(result);
  if (bytes <= maxBytes) return { result, truncated: false, bytes };
  const marked = (v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? { ...(v as object), truncated: true } : v);
  // The budget left for the content once the marker field is in.
  const budget = maxBytes - (jsonBytes(marked({})) - 2);
  let capped = JSON.parse(JSON.stringify(result)) as unknown;
  for (let round = 0; round < 8; round++) {
    const size = jsonBytes(capped);
    if (size <= budget) return { result: marked(capped), truncated: true, bytes: jsonBytes(marked(capped)) };
    capped = shortenStrings(capped, size - budget);
    const after = jsonBytes(capped);
    if (after <= budget) return { result: marked(capped), truncated: true, bytes: jsonBytes(marked(capped)) };
    capped = dropElements(capped, after - budget);
  }
  // Nothing left to shorten or drop (e.g. an object with a huge number of keys).
  const fallback = { truncated: true, message: `the result was larger than ${maxBytes} bytes and could not be shortened` };
  return { result: fallback, truncated: true, bytes: jsonBytes(fallback) };
}

/** Byte length of a string as JSON text (with its escapes). */
const stringBytes = (s: string) => jsonBytes(s) - 2;

/** Cut to at most `maxBytes` of JSON text including the mark, at a code point boundary (never half a surrogate pair). */
function cutString(s: string, maxBytes: number): string {
  const keep = Math.max(0, maxBytes - Buffer.byteLength(TRUNCATION_MARK));
  let used = 0;
  let end = 0;
  while (end < s.length) {
    const c = s.charCodeAt(end);
    let units = 1;
    let b: number;
    if (c === 0x22 || c === 0x5c) b = 2;
    else if (c < 0x20) b = 6;
    else if (c < 0x80) b = 1;
    else if (c < 0x800) b = 2;
    else if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(end + 1) & 0xfc00) === 0xdc00) {
      b = 4;
      units = 2;
    }
    else if (c >= 0xd800 && c <= 0xdfff) b = 6;
    else b = 3;
    if (used + b > keep) break;
    used += b;
    end += units;
  }
  return s.slice(0, end) + TRUNCATION_MARK;
}

function collectStrings(v: unknown, out: number[]): void {
  if (typeof v === 'string') out.push(stringBytes(v));
  else if (Array.isArray(v)) for (const x of v) collectStrings(x, out);
  else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) collectStrings(x, out);
}

/**
 * Shorten every string longer than a common limit L, with L the largest
 * value that removes at least `excess` bytes (water-filling: the longest go
 * first, short fields such as titles and URLs stay whole).
 */
function shortenStrings(value: unknown, excess: number): unknown {
  const lengths: number[] = [];
  collectStrings(value, lengths);
  lengths.sort((a, b) => b - a);
  const markBytes = Buffer.byteLength(TRUNCATION_MARK);
  // Find L: removed(L) = Σ over strings longer than L of (len - L - mark) ≥ excess.
  let limit = -1;
  let sum = 0;
  for (let i = 0; i < lengths.length; i++) {
    sum += lengths[i]!;
    const next = lengths[i + 1] ?? 0;
    const count = i + 1;
    // With L between next and lengths[i], the top `count` strings are cut.
    const l = Math.floor((sum - excess - count * markBytes) / count);
    if (l >= next) {
      limit = Math.max(0, l);
      break;
    }
  }
  if (limit < 0) limit = 0;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return stringBytes(v) > limit + markBytes ? cutString(v, limit + markBytes) : v;
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value);
}

/** Drop elements from the end of the biggest arrays until about `excess` bytes are gone. */
function dropElements(value: unknown, excess: number): unknown {
  const arrays: { arr: unknown[]; bytes: number }[] = [];
  const find = (v: unknown) => {
    if (Array.isArray(v)) {
      if (v.length) arrays.push({ arr: v, bytes: jsonBytes(v) });
      v.forEach(find);
    } else if (v !== null && typeof v === 'object') Object.values(v).forEach(find);
  };
  find(value);
  arrays.sort((a, b) => b.bytes - a.bytes);
  let left = excess;
  for (const { arr } of arrays) {
    while (left > 0 && arr.length > 0) left -= jsonBytes(arr.pop()) + 1;
    if (left <= 0) break;
  }
  return value;
}
