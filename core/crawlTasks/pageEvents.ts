// What a client following a crawl page by page reads: each page's outcome, in
// the order the outcomes were recorded (a streaming endpoint polls this after
// its cursor), and the crawl's pages by state.
import type { Db } from '../platform/db.js';
import type { PageError, PageTaskState } from './tasks.js';

export interface PageEvent {
  /** Cursor: pass the last one seen as `after` to read on. */
  eventId: string;
  url: string;
  finalUrl: string | null;
  depth: number;
  state: PageTaskState;
  error: PageError | null;
  chunks: number | null;
  attempts: number;
  at: Date;
}

function toEvent(r: Record<string, unknown>): PageEvent {
  return {
    eventId: String(r.event_id),
    url: r.url as string,
    finalUrl: (r.final_url as string | null) ?? null,
    depth: r.depth as number,
    state: r.state as PageTaskState,
    error: (r.error as PageError | null) ?? null,
    chunks: (r.chunks as number | null) ?? null,
    attempts: r.attempts as number,
    at: r.finished_at as Date,
  };
}

/**
 * Outcomes of a crawl's pages recorded after `after` (an eventId; '0' or
 * omitted: from the start), oldest first, at most `limit`. An outcome
 * recorded in a transaction that commits after a later one's may appear
 * behind the cursor of a reader that already passed it: a reader that must
 * miss nothing re-reads from a cursor a few seconds old and de-duplicates.
 */
export async function listPageEvents(db: Db, p: { jobId: string; after?: string; limit?: number }): Promise<PageEvent[]> {
  const after = /^\d{1,18}$/.test(p.after ?? '') ? p.after! : '0';
  const rows = await db`
    select event_id, url, final_url, depth, state, error, chunks, attempts, finished_at from crawl_pages
    where job_id = ${p.jobId} and event_id > ${after}::bigint
    order by event_id limit ${Math.min(1000, Math.max(1, p.limit ?? 100))}`;
  return rows.map(toEvent);
}

export interface PageRow {
  /** Cursor for the next page of the listing. */
  id: string;
  url: string;
  finalUrl: string | null;
  depth: number;
  state: PageTaskState;
  error: PageError | null;
  chunks: number | null;
  attempts: number;
}

/** A crawl's pages in discovery order, optionally of one state, after the cursor `after` (a PageRow id). */
export async function listCrawlPages(db: Db, p: { jobId: string; state?: PageTaskState; after?: string; limit?: number }): Promise<PageRow[]> {
  const after = /^\d{1,18}$/.test(p.after ?? '') ? p.after! : '0';
  const rows = await db`
    select id, url, final_url, depth, state, error, chunks, attempts from crawl_pages
    where job_id = ${p.jobId} and id > ${after}::bigint ${p.state ? db`and state = ${p.state}` : db``}
    order by id limit ${Math.min(1000, Math.max(1, p.limit ?? 100))}`;
  return rows.map((r) => ({
    id: String(r.id),
    url: r.url as string,
    finalUrl: (r.final_url as string | null) ?? null,
    depth: r.depth as number,
    state: r.state as PageTaskState,
    error: (r.error as PageError | null) ?? null,
    chunks: (r.chunks as number | null) ?? null,
    attempts: r.attempts as number,
  }));
}

export interface CrawlItem {
  /** Cursor for the next page of items. */
  cursor: string;
  title: string;
  description: string;
  content: string;
  category: string;
  source: string;
}

/** A crawl's knowledge items in the order they were indexed, after `after` (an item's cursor). */
export async function listCrawlItems(db: Db, p: { jobId: string; after?: string; limit?: number }): Promise<CrawlItem[]> {
  const after = /^\d{1,18}$/.test(p.after ?? '') ? p.after! : '0';
  const rows = await db`
    select event_id, url, final_url, title, description, content, category from crawl_pages
    where job_id = ${p.jobId} and state = 'done' and event_id > ${after}::bigint
    order by event_id limit ${Math.min(1000, Math.max(1, p.limit ?? 100))}`;
  return rows.map((r) => ({
    cursor: String(r.event_id),
    title: r.title as string,
    description: r.description as string,
    content: r.content as string,
    category: r.category as string,
    source: (r.final_url as string | null) ?? (r.url as string),
  }));
}
