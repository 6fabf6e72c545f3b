// Entry of an extraction thread (see extractPool.ts): parses and extracts one
// page per message, so a large or hostile page stalls this thread, not the
// event loop of the process that serves the API.
import { parentPort } from 'node:worker_threads';
import { extractPage, PageTooComplexError } from './extraction/index.js';
import type { ExtractReply, ExtractRequest } from './extractPool.js';

const port = parentPort!;
port.on('message', (request: ExtractRequest) => {
  let reply: ExtractReply;
  try {
    reply = { id: request.id, ok: true, page: extractPage(request.html, request.baseUrl) };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    reply = { id: request.id, ok: false, name: e.name, message: e.message, ...(err instanceof PageTooComplexError ? { depth: err.depth } : {}) };
  }
  port.postMessage(reply);
});
