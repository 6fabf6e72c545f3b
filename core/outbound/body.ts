// Streaming body readers with hard byte caps. Decompression is done here (not
// by undici) so the cap applies to DECOMPRESSED bytes: a small gzip bomb is
// cut off after `maxBytes` of output instead of inflating into memory.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { OutboundError } from './errors.js';

const SUPPORTED_ENCODINGS = new Set(['gzip', 'x-gzip', 'deflate', 'br']);
/**
 * Codings decoded in a chain. Real servers apply one; a header listing
 * thousands (16 KiB of "gzip, ") would cost a decoder each. Browsers cap too.
 */
export const MAX_CONTENT_ENCODINGS = 2;

/** Content-Encoding tokens in the order they were applied, minus identity. */
export function parseContentEncoding(header: string | undefined): string[] {
  if (header === undefined) return [];
  return header
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '' && t !== 'identity');
}

// Sync flush tolerates truncated streams the way browsers do.
const ZLIB_LENIENT = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
const BROTLI_LENIENT = {
  flush: zlib.constants.BROTLI_OPERATION_FLUSH,
  finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
};

/** "deflate" is meant to be zlib-wrapped, but some servers send raw deflate; the header byte tells. */
function looksZlibWrapped(firstBytes: Uint8Array | undefined): boolean {
  const cmf = firstBytes?.[0];
  const flg = firstBytes?.[1];
  if (cmf === undefined) return true;
  if ((cmf & 0x0f) !== 8) return false;
  return flg === undefined || (cmf * 256 + flg) % 31 === 0;
}

function createDecoder(encoding: string, firstBytes: Uint8Array | undefined): zlib.Gunzip | zlib.Inflate | zlib.InflateRaw | zlib.BrotliDecompress {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip(ZLIB_LENIENT);
    case 'deflate':
      return looksZlibWrapped(firstBytes) ? zlib.createInflate(ZLIB_LENIENT) : zlib.createInflateRaw(ZLIB_LENIENT);
    default:
      return zlib.createBrotliDecompress(BROTLI_LENIENT);
  }
}

/**
 * undici's body stream emits RequestAbortedError when destroyed early; with
 * no listener that would become an uncaught exception.
 */
export function destroyQuietly(stream: Readable): void {
  stream.on('error', () => {});
  stream.destroy();
}

function tooLarge(url: string, maxBytes: number): OutboundError {
  return new OutboundError('too_large', url, `response body exceeded ${maxBytes} bytes`);
}

export interface ReadBodyOptions {
  url: string;
  maxBytes: number;
  contentEncoding: string | undefined;
}

/**
 * Read the whole body, decoding Content-Encoding, failing with `too_large` as
 * soon as either the wire bytes or the decoded bytes pass `maxBytes`. On any
 * failure the source stream is destroyed (which closes the connection).
 */
export async function readLimitedBody(body: Readable, opts: ReadBodyOptions): Promise<Buffer> {
  const { url, maxBytes } = opts;
  const encodings = parseContentEncoding(opts.contentEncoding);
  if (encodings.length > MAX_CONTENT_ENCODINGS) {
    destroyQuietly(body);
    throw new OutboundError('too_many_encodings', url, `response declares ${encodings.length} content-encodings; at most ${MAX_CONTENT_ENCODINGS} are decoded`);
  }
  const unsupported = encodings.find((e) => !SUPPORTED_ENCODINGS.has(e));
  if (unsupported !== undefined) {
    destroyQuietly(body);
    throw new OutboundError('decompression_failed', url, `unsupported content-encoding ${unsupported}`);
  }

  const chunks: Buffer[] = [];
  let size = 0;

  if (encodings.length === 0) {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        destroyQuietly(body);
        throw tooLarge(url, maxBytes);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, size);
  }

  // Peek the first wire chunk so the deflate flavour can be detected.
  const iterator = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done === true) return Buffer.alloc(0);

  let wireBytes = 0;
  async function* wire(): AsyncGenerator<Buffer> {
    try {
      let step: IteratorResult<Buffer> = first;
      while (step.done !== true) {
        wireBytes += step.value.length;
        if (wireBytes > maxBytes) throw tooLarge(url, maxBytes);
        yield step.value;
        step = await iterator.next();
      }
    } finally {
      // Runs on early exit too: stop the socket rather than drain it.
      if (!body.readableEnded) destroyQuietly(body);
    }
  }

  // Decode in reverse order of application; only the outermost sees wire bytes.
  const decoders = [...encodings].reverse().map((e, i) => createDecoder(e, i === 0 ? first.value : undefined));
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > maxBytes) {
        done(tooLarge(url, maxBytes));
        return;
      }
      chunks.push(chunk);
      done();
    },
  });

  try {
    await pipeline([Readable.from(wire()), ...decoders, sink]);
  } catch (err) {
    if (err instanceof OutboundError) throw err;
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && (code.startsWith('Z_') || code.startsWith('ERR__'))) {
      throw new OutboundError('decompression_failed', url, `could not decompress ${encodings.join(', ')} body: ${(err as Error).message}`, { cause: err });
    }
    throw err;
  }
  return Buffer.concat(chunks, size);
}

/**
 * Read up to `maxBytes` and drop the rest (webhook responses are only kept
 * for diagnostics). Stops reading once the cap is reached.
 */
export async function readCappedText(body: Readable, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (maxBytes <= 0) {
    destroyQuietly(body);
    return '';
  }
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = maxBytes - size;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    chunks.push(part);
    size += part.length;
    if (size >= maxBytes) {
      destroyQuietly(body); // stop reading; the rest is dropped with the connection
      break;
    }
  }
  // A cut may split a multi-byte character; the decoder substitutes U+FFFD.
  return new TextDecoder('utf-8').decode(Buffer.concat(chunks, size));
}
