/**
 * Local CLI around the extractor:
 *
 *   npm run --silent extract -- [--format text|markdown|json] [--base-url URL] [--comments auto|on|off] [--images] FILE_OR_URL...
 *
 * --comments: comment threads after the article (auto: only on discussion pages, the default);
 * --images: image references ![alt](src) in the Markdown.
 * One input with text/markdown prints that; json, or several inputs, print one
 * JSON line per input. Failures are reported as messages, never stack traces.
 * A local file has no web address: pass --base-url to resolve its relative links.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Agent, interceptors, request } from 'undici';
import { decodeHtml, extractPage } from '../core/extraction/index.js';
import type { ExtractOptions, ExtractedPage } from '../core/extraction/index.js';

const FETCH_TIMEOUT_MS = 15_000;
const MAX_BYTES = 10 * 1024 * 1024;
const FORMATS = ['text', 'markdown', 'json'] as const;
type Format = (typeof FORMATS)[number];

const USAGE = 'usage: npm run --silent extract -- [--format text|markdown|json] [--base-url URL] [--comments auto|on|off] [--images] FILE_OR_URL...';
const COMMENTS = { auto: undefined, on: true, off: false } as const;

/** An expected failure: its message is shown as is. */
class UserError extends Error {}

interface Loaded {
  bytes: Uint8Array;
  contentType: string | null;
  baseUrl: string;
}

function isUrl(input: string): boolean {
  return /^https?:\/\//i.test(input);
}

/**
 * Fetches a page. This CLI is a local tool run by the operator on addresses of
 * their choosing, so no address policy (private ranges, redirects to internal
 * hosts) is applied here, unlike the service's crawler.
 */
async function fetchUrl(url: string): Promise<Loaded> {
  let res;
  try {
    res = await request(url, {
      method: 'GET',
      headers: { 'user-agent': 'gleaner-extract/0.1', accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.5' },
      headersTimeout: FETCH_TIMEOUT_MS,
      bodyTimeout: FETCH_TIMEOUT_MS,
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      dispatcher: new Agent().compose(interceptors.redirect({ maxRedirections: 5 })),
    });
  } catch (err) {
    throw new UserError(`cannot fetch ${url}: ${(err as Error).message}`);
  }
  if (res.statusCode >= 400) {
    await res.body.dump();
    throw new UserError(`cannot fetch ${url}: HTTP ${res.statusCode}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_BYTES) {
        res.body.destroy();
        throw new UserError(`cannot fetch ${url}: response larger than ${MAX_BYTES / 1024 / 1024} MB`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot fetch ${url}: ${(err as Error).message}`);
  }
  const ct = res.headers['content-type'];
  return { bytes: Buffer.concat(chunks), contentType: Array.isArray(ct) ? (ct[0] ?? null) : (ct ?? null), baseUrl: url };
}

async function readLocal(path: string): Promise<Loaded> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`no such file: ${path}`);
    if (code === 'EISDIR') throw new UserError(`is a directory, not a file: ${path}`);
    if (code === 'EACCES') throw new UserError(`permission denied: ${path}`);
    throw new UserError(`cannot read ${path}: ${(err as Error).message}`);
  }
  // Gzip by name or by magic bytes (1f 8b), as pages are often stored compressed.
  if (path.endsWith('.gz') || (bytes[0] === 0x1f && bytes[1] === 0x8b)) {
    try {
      bytes = gunzipSync(bytes);
    } catch {
      throw new UserError(`not a valid gzip file: ${path}`);
    }
  }
  return { bytes, contentType: null, baseUrl: pathToFileURL(resolve(path)).href };
}

/** NUL bytes in the first few KB mean images, archives, executables... (UTF-16 carries a BOM and is decoded first). */
function looksBinary(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 8192);
  const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
  if (utf16) return false;
  for (let i = 0; i < n; i++) if (bytes[i] === 0) return true;
  return false;
}

/** No bytes, or only ASCII whitespace. */
function isBlank(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09 && b !== 0x0c) return false;
  return true;
}

interface Result {
  input: string;
  page: ExtractedPage;
}

async function processInput(input: string, baseOverride: string | undefined, options: ExtractOptions): Promise<Result> {
  const loaded = isUrl(input) ? await fetchUrl(input) : await readLocal(input);
  if (isBlank(loaded.bytes)) throw new UserError(`empty page: ${input}`);
  if (looksBinary(loaded.bytes)) throw new UserError(`not a text/HTML file (binary content): ${input}`);
  const { html } = decodeHtml(loaded.bytes, loaded.contentType);
  const page = extractPage(html, baseOverride ?? loaded.baseUrl, options);
  if (!page.text && !page.title) throw new UserError(`empty page: no text found in ${input}`);
  return { input, page };
}

function jsonLine(r: Result): string {
  const { title, text, markdown, ...rest } = r.page;
  return JSON.stringify({ input: r.input, title, text, markdown, metadata: rest });
}

function fail(message: string): never {
  process.stderr.write(`extract: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        format: { type: 'string', short: 'f', default: 'text' },
        'base-url': { type: 'string' },
        comments: { type: 'string', default: 'auto' },
        images: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    // parseArgs messages name the offending option ("Unknown option '--x'").
    fail(`${(err as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const format = values.format as Format;
  if (!FORMATS.includes(format)) fail(`unknown format '${values.format}' (expected text, markdown or json)\n${USAGE}`);
  const baseUrl = values['base-url'];
  if (baseUrl !== undefined && !URL.canParse(baseUrl)) fail(`--base-url is not a valid URL: ${baseUrl}`);
  if (positionals.length === 0) fail(`no input given\n${USAGE}`);
  if (!Object.hasOwn(COMMENTS, values.comments)) fail(`unknown --comments value '${values.comments}' (expected auto, on or off)\n${USAGE}`);
  const options: ExtractOptions = { includeComments: COMMENTS[values.comments as keyof typeof COMMENTS], includeImages: values.images };

  if (positionals.length === 1 && format !== 'json') {
    const input = positionals[0]!;
    try {
      const r = await processInput(input, baseUrl, options);
      process.stdout.write(`${format === 'markdown' ? r.page.markdown : r.page.text}\n`);
    } catch (err) {
      fail(err instanceof UserError ? err.message : `failed on ${input}: ${(err as Error).message}`);
    }
    return;
  }

  let failures = 0;
  for (const input of positionals) {
    try {
      process.stdout.write(`${jsonLine(await processInput(input, baseUrl, options))}\n`);
    } catch (err) {
      failures++;
      const message = err instanceof UserError ? err.message : `failed on ${input}: ${(err as Error).message}`;
      process.stdout.write(`${JSON.stringify({ input, error: message })}\n`);
      if (positionals.length === 1) process.stderr.write(`extract: ${message}\n`);
    }
  }
  if (failures > 0 && positionals.length === 1) process.exitCode = 1;
}

main().catch((err: unknown) => fail(`unexpected error: ${(err as Error).message ?? String(err)}`));
