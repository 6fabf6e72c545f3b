// Entry of a Firecrawl document thread (see documentPool.ts): parses, narrows
// and renders one page per message off the API's event loop.
import { parentPort } from 'node:worker_threads';
import { selectDocument } from '../../core/extraction/selection.js';
import type { DocumentReply, DocumentRequest } from './documentPool.js';

const port = parentPort!;
port.on('message', (request: DocumentRequest) => {
  let reply: DocumentReply;
  try {
    reply = { id: request.id, ok: true, document: selectDocument(request.html, request.baseUrl, request.options) };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    reply = { id: request.id, ok: false, name: e.name, message: e.message };
  }
  port.postMessage(reply);
});
