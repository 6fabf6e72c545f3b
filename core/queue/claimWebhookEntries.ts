// The webhook queue's claim: due entries, at most so many in flight per API key.
import type { Db } from '../platform/db.js';
import { WEBHOOK_QUEUE } from './schema.js';
import { activateEntry } from './dueEntries.js';

/** An entry as one activation took it; `retryCount` and `startedOn` name that activation (finishActivation). */
export interface ActivatedEntry<T> {
  id: string;
  data: T;
  /** The key whose job or message the entry carries ('' when the job is gone). */
  apiKeyId: string;
  retryCount: number;
  /** started_on as the database's text, exact to the microsecond (a Date would round it to ms). */
  startedOn: string;
}

/**
 * Take up to `limit` due webhook entries, marking them active as pg-boss's
 * fetch() does, but never more than `perKey` at a time for one API key
 * (data.apiKeyId, else the key of the job data.jobId): `busy` says how many
 * each key already has in flight. Entries of keys at their cap are passed
 * over, not reordered.
 */
export async function claimWebhookQueueEntries<T>(db: Db, opts: { limit: number; perKey: number; busy: ReadonlyMap<string, number> }): Promise<ActivatedEntry<T>[]> {
  const keys = [...opts.busy.keys()];
  const counts = keys.map((k) => opts.busy.get(k)!);
  const capped = keys.filter((k) => opts.busy.get(k)! >= opts.perKey);
  // Enough candidates that every key with room can fill it; the first candidate
  // always belongs to a key with room, so each call takes at least one when any is due.
  const window = Math.min(1000, opts.limit * opts.perKey);
  const rows = await db`
    with candidates as (
      select q.id, q.start_after, coalesce(q.data->>'apiKeyId', j.api_key_id, '') as key
      from pgboss.job q left join jobs j on j.id = q.data->>'jobId'
      where q.name = ${WEBHOOK_QUEUE} and q.state < 'active' and q.start_after < now()
        and coalesce(q.data->>'apiKeyId', j.api_key_id, '') <> all(${capped}::text[])
      order by q.start_after
      limit ${window}
      for update of q skip locked
    ), ranked as (
      select c.id, c.key, c.start_after,
             row_number() over (partition by c.key order by c.start_after) + coalesce(b.n, 0) as slot
      from candidates c left join unnest(${keys}::text[], ${counts}::int[]) as b(key, n) on b.key = c.key
    ), chosen as (
      select id, key from ranked where slot <= ${opts.perKey} order by start_after limit ${opts.limit}
    )
    update pgboss.job q set ${activateEntry(db, 'q')}
    from chosen
    where q.name = ${WEBHOOK_QUEUE} and q.id = chosen.id
    returning q.id, q.data, chosen.key, q.retry_count, q.started_on::text as started_on`;
  return rows.map((r) => ({ id: r.id as string, data: r.data as T, apiKeyId: r.key as string, retryCount: r.retry_count as number, startedOn: r.started_on as string }));
}
