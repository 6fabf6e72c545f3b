// Worker threads for the Firecrawl scrape's page work (parse, CSS selection,
// Markdown and HTML rendering): a large or hostile page stalls a thread, never
// the event loop that serves the API. The pool itself is core/threads.ts's.
import type { SelectedDocument, SelectionOptions } from '../../core/extraction/selection.js';
import { ThreadPool } from '../../core/threads.js';

export interface DocumentRequest {
  html: string;
  baseUrl: string;
  options: SelectionOptions;
}

/** How a page becomes a Firecrawl document: selectDocument itself, or the same on a pool thread, where `owner` (the API key's id) keeps one key's slow pages from holding up another's. */
export type DocumentSelector = (html: string, baseUrl: string, options: SelectionOptions, owner?: string) => SelectedDocument | Promise<SelectedDocument>;

export class DocumentPool {
  private readonly pool: ThreadPool<DocumentRequest, SelectedDocument>;

  constructor(size?: number) {
    this.pool = new ThreadPool({ callerUrl: import.meta.url, entry: 'documentThread', label: 'document', ...(size === undefined ? {} : { size }) });
  }

  select: DocumentSelector = (html, baseUrl, options, owner) => this.pool.run({ html, baseUrl, options }, owner);
}
