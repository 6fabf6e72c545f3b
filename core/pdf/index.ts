// PDFs (application/pdf) become a simple HTML document of their text, so
// they are extracted, chunked, embedded and indexed like any page. The file
// is read on a thread of its own with a memory cap and a time limit; an
// encrypted file fails `pdf_encrypted`, a broken one `pdf_invalid`, one with
// more than MAX_PDF_PAGES pages `pdf_too_many_pages`.
import { Worker } from 'node:worker_threads';
import { PipelineError } from '../page/errors.js';
import { startThread } from '../threads.js';

export const MAX_PDF_PAGES = 500;
const PDF_TIME_LIMIT_MS = 30_000;
const PDF_THREAD_HEAP_MB = 512;

export interface PdfRequest {
  bytes: Uint8Array;
  maxPages: number;
}

export type PdfReply =
  | { ok: true; pages: string[]; totalPages: number; title?: string | undefined; author?: string | undefined; subject?: string | undefined; created?: string | undefined }
  | { ok: false; code: 'pdf_encrypted' | 'pdf_invalid' | 'pdf_too_many_pages'; message: string; totalPages?: number };

/** The thread, with a heap limit of its own. */
function spawn(request: PdfRequest): Worker {
  const options = { workerData: request, resourceLimits: { maxOldGenerationSizeMb: PDF_THREAD_HEAP_MB } };
  return startThread(import.meta.url, 'pdfThread', options);
}

/** Read a PDF's text per page and its metadata, on a thread of its own. */
export function readPdf(bytes: Uint8Array, opts: { signal: AbortSignal; maxPages?: number }): Promise<Extract<PdfReply, { ok: true }>> {
  return new Promise((resolve, reject) => {
    const worker = spawn({ bytes, maxPages: opts.maxPages ?? MAX_PDF_PAGES });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      void worker.terminate();
      fn();
    };
    const timer = setTimeout(() => finish(() => reject(new PipelineError('pdf_invalid', `the PDF was not read within ${PDF_TIME_LIMIT_MS / 1000} s`, false))), PDF_TIME_LIMIT_MS);
    const onAbort = () => finish(() => reject(opts.signal.reason instanceof Error ? opts.signal.reason : new Error('aborted')));
    opts.signal.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (reply: PdfReply) =>
      finish(() => (reply.ok ? resolve(reply) : reject(new PipelineError(reply.code, reply.message, false, reply.totalPages === undefined ? {} : { totalPages: reply.totalPages })))),
    );
    worker.once('error', (err) => finish(() => reject(new PipelineError('pdf_invalid', `the PDF could not be read: ${err.message}`, false))));
    worker.once('exit', () => finish(() => reject(new PipelineError('pdf_invalid', 'the PDF reader stopped before it finished', false))));
  });
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The PDF as HTML: title and metadata in <head>, each page's paragraphs in a <section>. */
export function pdfToHtml(pdf: Extract<PdfReply, { ok: true }>, fallbackTitle: string): string {
  const title = pdf.title ?? fallbackTitle;
  const head = [`<title>${escapeHtml(title)}</title>`];
  if (pdf.author) head.push(`<meta name="author" content="${escapeHtml(pdf.author)}">`);
  if (pdf.subject) head.push(`<meta name="description" content="${escapeHtml(pdf.subject)}">`);
  const sections = pdf.pages.map((text) => {
    // Blank lines separate paragraphs (a line-by-line walk: no regex backtracking over long whitespace runs).
    const paragraphs: string[] = [];
    let current: string[] = [];
    for (const line of text.split('\n')) {
      const words = line.trim();
      if (words === '') {
        if (current.length > 0) paragraphs.push(current.join(' '));
        current = [];
      } else current.push(words);
    }
    if (current.length > 0) paragraphs.push(current.join(' '));
    return `<section>${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('')}</section>`;
  });
  return `<!doctype html><html><head><meta charset="utf-8">${head.join('')}</head><body><article><h1>${escapeHtml(title)}</h1>${sections.join('\n')}</article></body></html>`;
}
