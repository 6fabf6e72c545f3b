// Entry of a Firecrawl document thread (see documentPool.ts): parses, narrows
// and renders one page per task off the API's event loop.
import { selectDocument } from '../../core/extraction/selection.js';
import { serveTasks } from '../../core/threads.js';
import type { DocumentRequest } from './documentPool.js';

serveTasks((request: DocumentRequest) => selectDocument(request.html, request.baseUrl, request.options));
