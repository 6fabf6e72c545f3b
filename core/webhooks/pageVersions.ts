// PAGE_UPDATED's memory (webhook_page_versions, migration 024): per key and
// URL, the SHA-256 of the page's text as the last crawl announced to the key's
// PAGE_UPDATED subscriptions found it. A later crawl of the URL finding other
// text is an update.
import { textHash } from '../page/textHash.js';
import type { Db } from '../platform/db.js';

/**
 * Record these pages of `jobId` as the key's latest versions, in the caller's
 * transaction, and return the URLs whose text differs from what an earlier
 * crawl recorded, each with that crawl's job id. A URL this job recorded
 * already (a fan-out run again, or a page the live relay announced) is not an
 * update a second time; a URL never recorded is not one either.
 */
export async function recordPageVersions(tx: Db, p: { apiKeyId: string; jobId: string; pages: readonly { url: string; content: string }[] }): Promise<Map<string, string>> {
  // One row per URL (the last wins): an upsert may not touch a row twice. In
  // URL order, as the rows are locked: the live relay and the crawl's end (or
  // two senders) recording the same pages at once then wait, never deadlock.
  const byUrl = new Map(p.pages.filter((page) => page.url).map((page) => [page.url, textHash(page.content)]));
  if (byUrl.size === 0) return new Map();
  const urls = [...byUrl.keys()].sort();
  const rows = await tx`
    with input as (
      select * from unnest(${urls}::text[], ${urls.map((u) => byUrl.get(u)!)}::text[]) with ordinality as i(url, content_hash, n)
    ), previous as (
      select v.url, v.content_hash, v.job_id from webhook_page_versions v
      where v.api_key_id = ${p.apiKeyId} and v.url = any(${urls}::text[])
      order by v.url
      for update
    ), recorded as (
      insert into webhook_page_versions (api_key_id, url, content_hash, job_id)
      select ${p.apiKeyId}, url, content_hash, ${p.jobId} from input order by n
      on conflict (api_key_id, url) do update set content_hash = excluded.content_hash, job_id = excluded.job_id, updated_at = now()
      returning 1
    )
    select i.url, prev.job_id as previous_job_id from input i join previous prev on prev.url = i.url
    where prev.job_id <> ${p.jobId} and prev.content_hash <> i.content_hash`;
  return new Map(rows.map((r) => [r.url as string, r.previous_job_id as string]));
}
