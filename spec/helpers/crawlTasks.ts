// Page-task crawls opened straight in the database, for the tests of the
// claim and the task moves (no API, no worker), and the generated sites the
// process tests crawl.
import { startGeneratedSite, type GeneratedSite } from '../../testing/generatedSite.js';
import { onCleanup } from './cleanup.js';
import { openCrawl, type DiscoveredPage } from '../../core/crawlTasks/index.js';
import { newJobId } from '../../core/ids.js';
import type { Sql } from '../../core/platform/db.js';
import { normalizeUrl } from '../../worker/pipeline/crawl/urls.js';

/** `n` pages `${prefix}0`, `${prefix}1`, … one link below the start page. */
export function discoveredPages(n: number, prefix: string): DiscoveredPage[] {
  return Array.from({ length: n }, (_, i) => {
    const url = `${prefix}${i}`;
    return { url, key: normalizeUrl(url)!, depth: 1 };
  });
}

/** A processing parent job of `apiKeyId` with its crawl opened on `seeds` (as startCrawlParent leaves it); its id. */
export async function openTestCrawl(sql: Sql, p: { apiKeyId: string; seeds: DiscoveredPage[]; maxPages: number; maxRunning?: number | undefined }): Promise<string> {
  const id = newJobId();
  await sql`insert into jobs (id, api_key_id, status, input, max_attempts) values (${id}, ${p.apiKeyId}, 'processing', ${sql.json({ url: p.seeds[0]!.url })}, 3)`;
  await openCrawl(sql, { jobId: id, apiKeyId: p.apiKeyId, maxPages: p.maxPages, maxDepth: 5, maxAttempts: 3, maxRunning: p.maxRunning, seeds: p.seeds });
  return id;
}

/** A generated site of `pages` pages answering after `latencyMs`, closed when the test file ends. */
export async function generatedTestSite(pages: number, latencyMs: number): Promise<GeneratedSite> {
  const site = await startGeneratedSite({ pages, latencyMs });
  onCleanup(() => site.close());
  return site;
}
