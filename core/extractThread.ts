// Entry of an extraction thread (see extractPool.ts): parses and extracts one
// page per task, so a large or hostile page stalls this thread, not the event
// loop of the process that serves the API or runs jobs.
import { extractPage } from './extraction/index.js';
import type { ExtractRequest } from './extractPool.js';
import { serveTasks } from './threads.js';

serveTasks((request: ExtractRequest) => extractPage(request.html, request.baseUrl));
