/**
 * Bytes → string for fetched HTML, choosing the charset the way browsers do
 * (simplified WHATWG "encoding sniffing"): BOM, then the HTTP header, then a
 * <meta> declaration near the top, else UTF-8 with a windows-1252 fallback
 * for legacy pages that declare nothing.
 */

import { TextDecoder } from 'node:util';

export interface DecodedHtml {
  html: string;
  /** WHATWG name of the encoding used, e.g. "utf-8", "windows-1252", "shift_jis". */
  charset: string;
}

/** How far into the document a <meta charset> is looked for (HTML spec says 1024; real pages stray further). */
const META_SCAN_BYTES = 2048;

/** Returns a decoder for a label, or null when the label is unknown to ICU/WHATWG. */
function decoderFor(label: string): TextDecoder | null {
  try {
    return new TextDecoder(label.trim().toLowerCase());
  } catch {
    return null;
  }
}

function bomCharset(bytes: Uint8Array): { charset: string; skip: number } | null {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { charset: 'utf-8', skip: 3 };
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return { charset: 'utf-16be', skip: 2 };
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return { charset: 'utf-16le', skip: 2 };
  return null;
}

/** The `charset` parameter of a Content-Type value, unquoted. */
export function charsetFromContentType(value: string | null | undefined): string | null {
  if (!value) return null;
  const m = /;\s*charset\s*=\s*("?)([^";,\s]+)\1/i.exec(value);
  return m?.[2] ?? null;
}

/** `<meta charset=x>` or `<meta http-equiv="content-type" content="...; charset=x">` in the head bytes. */
function metaCharset(bytes: Uint8Array): string | null {
  // latin1 maps bytes 1:1, so ASCII markup is readable whatever the real encoding.
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, META_SCAN_BYTES)).toString('latin1');
  const metaRe = /<meta\b[^>]*>/gi;
  for (let m = metaRe.exec(head); m; m = metaRe.exec(head)) {
    const tag = m[0];
    const direct = /\bcharset\s*=\s*["']?\s*([^"'\s/>;]+)/i.exec(tag);
    if (direct?.[1]) return direct[1];
  }
  return null;
}

function countReplacements(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\uFFFD'); i !== -1; i = s.indexOf('\uFFFD', i + 1)) n++;
  return n;
}

/** UTF-8 that produced this many U+FFFD is more likely an undeclared legacy single-byte page. */
function looksMisdecoded(text: string): boolean {
  const bad = countReplacements(text);
  return bad > 0 && (bad >= 8 || bad / Math.max(text.length, 1) > 0.001);
}

/**
 * Node 20's ICU-less fast path decodes "windows-1252" as ISO-8859-1, leaving
 * C1 controls where cp1252 has curly quotes, dashes, € etc.; this maps them.
 */
const CP1252_C1 = '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

function fixCp1252(s: string): string {
  return s.replace(/[\u0080-\u009f]/g, (c) => CP1252_C1[c.charCodeAt(0) - 0x80] ?? c);
}

function decodeWith(decoder: TextDecoder, bytes: Uint8Array): string {
  const text = decoder.decode(bytes);
  return decoder.encoding === 'windows-1252' ? fixCp1252(text) : text;
}

export function decodeHtml(bytes: Uint8Array, contentTypeHeader?: string | null): DecodedHtml {
  const bom = bomCharset(bytes);
  if (bom) {
    const dec = decoderFor(bom.charset) ?? new TextDecoder('utf-8');
    return { html: decodeWith(dec, bytes.subarray(bom.skip)), charset: dec.encoding };
  }

  const declared = charsetFromContentType(contentTypeHeader) ?? metaCharset(bytes);
  let decoder = declared ? decoderFor(declared) : null;
  // A page cannot really be UTF-16 without a BOM if its <meta> was readable as ASCII (WHATWG rule).
  if (decoder && decoder.encoding.startsWith('utf-16')) decoder = null;
  decoder ??= new TextDecoder('utf-8');

  const html = decodeWith(decoder, bytes);
  if (decoder.encoding === 'utf-8' && looksMisdecoded(html)) {
    const legacy = new TextDecoder('windows-1252');
    return { html: decodeWith(legacy, bytes), charset: legacy.encoding };
  }
  return { html, charset: decoder.encoding };
}
