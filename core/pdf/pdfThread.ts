// Entry of a PDF thread (see index.ts): reads one PDF's text and metadata
// with unpdf (pdf.js), so a large or hostile file stalls this thread, not the
// event loop of the process that serves the API.
import { parentPort, workerData } from 'node:worker_threads';
import { extractText, getDocumentProxy, getMeta } from 'unpdf';
import type { PdfReply, PdfRequest } from './index.js';

const request = workerData as PdfRequest;

async function read(): Promise<PdfReply> {
  try {
    const pdf = await getDocumentProxy(new Uint8Array(request.bytes));
    const totalPages = pdf.numPages;
    if (totalPages === 0) return { ok: false, code: 'pdf_invalid', message: 'the PDF has no pages' };
    if (totalPages > request.maxPages) return { ok: false, code: 'pdf_too_many_pages', message: `the PDF has ${totalPages} pages; at most ${request.maxPages} are read`, totalPages };
    const { text } = await extractText(pdf, { mergePages: false });
    const { info } = await getMeta(pdf).catch(() => ({ info: {} as Record<string, unknown> }));
    const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
    const meta = info as Record<string, unknown>;
    return { ok: true, pages: text, totalPages, title: str(meta.Title), author: str(meta.Author), subject: str(meta.Subject), created: str(meta.CreationDate) };
  } catch (err) {
    const name = (err as { name?: unknown }).name;
    if (name === 'PasswordException') return { ok: false, code: 'pdf_encrypted', message: 'the PDF is encrypted with a password' };
    return { ok: false, code: 'pdf_invalid', message: `the PDF could not be read: ${err instanceof Error ? err.message : String(err)}` };
  }
}

parentPort!.postMessage(await read());
