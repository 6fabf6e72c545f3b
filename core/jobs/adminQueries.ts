// Reads for the operator dashboard: jobs across every API key. Not exported
// from core/jobs/index.ts on purpose: nothing reachable with an API key may
// use these (the API's reads are scoped to the key, in queries.ts).
import type { Db } from '../platform/db.js';
import { toJob, type Job, type JobStatus } from './model.js';
import { decodeJobCursor, encodeJobCursor } from './cursor.js';
import { jobSummaryColumns } from './queries.js';

export interface AdminJobFilter {
  status?: JobStatus;
  apiKeyId?: string;
  /** Lower-cased host of the job's input url, exactly (`www.example.com` is not `example.com`). */
  domain?: string;
  /** created_at >= since */
  createdSince?: Date;
  /** created_at < before */
  createdBefore?: Date;
}

export interface ListAllJobsParams extends AdminJobFilter {
  limit: number;
  /** Opaque position from a previous page's nextCursor. */
  cursor?: string;
}

export interface AdminJob extends Job {
  keyName: string;
  domain: string | null;
}

export { InvalidCursorError as InvalidAdminCursorError } from './cursor.js';

// The host of input->>'url', as sql/reports/failures.sql computes it.
const DOMAIN_SQL = `lower(substring(j.input->>'url' from '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(\\[[^]]*\\]|[^:/?#]+)'))`;

/** Every key's jobs, newest first, keyset-paginated, with the owning key's name; without results. */
export async function listAllJobs(db: Db, p: ListAllJobsParams): Promise<{ jobs: AdminJob[]; nextCursor: string | null }> {
  const after = p.cursor ? decodeJobCursor(p.cursor) : undefined;
  const domain = db.unsafe(DOMAIN_SQL);
  const rows = await db`
    select ${jobSummaryColumns(db, 'j')}, (extract(epoch from j.created_at) * 1000000)::bigint::text as cursor_micros, k.name as key_name, ${domain} as domain
    from jobs j join api_keys k on k.id = j.api_key_id
    where true
      ${p.status ? db`and j.status = ${p.status}` : db``}
      ${p.apiKeyId ? db`and j.api_key_id = ${p.apiKeyId}` : db``}
      ${p.domain ? db`and ${domain} = ${p.domain.toLowerCase()}` : db``}
      ${p.createdSince ? db`and j.created_at >= ${p.createdSince}` : db``}
      ${p.createdBefore ? db`and j.created_at < ${p.createdBefore}` : db``}
      ${after ? db`and (j.created_at, j.id) < ('epoch'::timestamptz + ${after.micros}::bigint * interval '1 microsecond', ${after.id})` : db``}
    order by j.created_at desc, j.id desc
    limit ${p.limit + 1}`;
  const page = rows.slice(0, p.limit);
  const last = page[page.length - 1];
  return {
    jobs: page.map((r) => ({ ...toJob(r), keyName: r.key_name as string, domain: (r.domain as string | null) ?? null })),
    nextCursor: rows.length > p.limit && last ? encodeJobCursor(last.cursor_micros, last.id) : null,
  };
}
