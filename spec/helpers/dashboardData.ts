// A realistic, deterministic day of activity for the dashboard: API keys, jobs
// over the last 24 hours (busier in some hours), their events and webhook
// deliveries, a few open and near-stale jobs. Set-based SQL written straight
// into the tables (like bench/reports.ts), so thousands of jobs seed
// in well under a second. Used by spec/dashboard.test.ts and
// testing/screenshot-dashboard.ts.
import { createApiKey, type ApiKey } from '../../core/apiKeys.js';
import type { Sql } from '../../core/platform/db.js';

export interface DemoData {
  keys: { key: string; apiKey: ApiKey }[];
  /** A failed job (no callback) to retry in tests. */
  failedJobId: string;
  jobs: number;
}

const KEY_NAMES = ['web-crawler', 'billing-service', 'research-notebook', 'mobile-app'];

export async function seedDemoData(sql: Sql, opts: { jobsPerDay: number; now?: Date; staleAfterSeconds?: number; prefix?: string }): Promise<DemoData> {
  const now = opts.now ?? new Date();
  const stale = opts.staleAfterSeconds ?? 600;
  const prefix = opts.prefix ?? 'demo';
  const keys = [];
  for (const name of KEY_NAMES) keys.push(await createApiKey(sql, `${prefix}-${name}`));
  const keyIds = keys.map((k) => k.apiKey.id);

  await sql.begin(async (tx) => {
    // f(i, salt): a deterministic fraction in [0, 1)
    await tx`create temporary table demo_jobs on commit drop as
      with hours as (
        select h, greatest(1, round(${opts.jobsPerDay}::numeric / 24
                 * (1 + 0.6 * sin((h + 4) / 24.0 * 2 * pi()))
                 * (0.75 + 0.5 * (abs(hashtext('h' || h)) % 1000) / 1000.0)))::int as n
        from generate_series(0, 23) h
      ), slots as (
        select h, row_number() over (order by h, k) as i from hours, generate_series(1, n) k
      ), base as (
        select i, h,
               ${now}::timestamptz - h * interval '1 hour' - ((abs(hashtext('m' || i)) % 3600000) / 1000.0) * interval '1 second' as created_at,
               (abs(hashtext('s' || i)) % 10000) / 10000.0 as r_status,
               (abs(hashtext('w' || i)) % 10000) / 10000.0 as r_wait,
               (abs(hashtext('r' || i)) % 10000) / 10000.0 as r_run,
               (abs(hashtext('d' || i)) % 10000) / 10000.0 as r_domain,
               (abs(hashtext('k' || i)) % 10000) / 10000.0 as r_key,
               (abs(hashtext('c' || i)) % 10000) / 10000.0 as r_code,
               (abs(hashtext('a' || i)) % 10000) / 10000.0 as r_attempts,
               (abs(hashtext('b' || i)) % 10000) / 10000.0 as r_callback
        from slots
      ), shaped as (
        select b.*,
               case
                 when created_at > ${now}::timestamptz - interval '150 seconds' then case when i % 3 = 0 then 'pending' else 'processing' end
                 when r_status < 0.875 then 'completed'
                 when r_status < 0.975 then 'failed'
                 else 'cancelled'
               end as status,
               case when r_attempts < 0.93 then 1 else 2 end as tries,
               interval '1 millisecond' * (60 + 25000 * power(r_wait, 7)) as wait,
               interval '1 millisecond' * (650 + 9000 * power(r_run, 3)) as run,
               (array['en.wikipedia.org', 'docs.python.org', 'developer.mozilla.org', 'news.ycombinator.com', 'www.bbc.co.uk', 'arxiv.org', 'blog.acme.dev', 'status.vendor.io'])[1 + floor(8 * power(r_domain, 1.6))::int] as domain,
               (${tx.array(keyIds)}::text[])[1 + floor(4 * power(r_key, 1.5))::int] as api_key_id
        from base b
      )
      select 'job_' || substr(translate(encode(sha256(convert_to(${prefix} || i, 'UTF8')), 'base64'), '+/=', 'QZk'), 1, 22) as id, * from shaped`;

    await tx`
      insert into jobs (id, api_key_id, status, input, callback_url, attempts, max_attempts, progress, result, error, worker_id, heartbeat_at, created_at, started_at, completed_at, updated_at)
      select id, api_key_id, status,
             jsonb_build_object('url', 'https://' || domain || '/articles/' || i),
             case when r_callback < 0.35 and api_key_id <> ${keyIds[2]!} then 'https://hooks.' || replace(api_key_id, '_', '-') || '.example.net/gleaner' end,
             case when status = 'pending' then 0 when status = 'cancelled' then 0 else tries end,
             3,
             case when status = 'processing' then jsonb_build_object('currentStep', 'fetch', 'pagesScraped', 0, 'totalPages', 1)
                  when status in ('completed', 'failed') then jsonb_build_object('currentStep', 'done', 'pagesScraped', (status = 'completed')::int, 'totalPages', 1) end,
             case when status = 'completed' then jsonb_build_object(
                    'url', 'https://' || domain || '/articles/' || i, 'finalUrl', 'https://' || domain || '/articles/' || i, 'statusCode', 200,
                    'title', 'Article ' || i || ' on ' || domain, 'language', 'en', 'pagesScraped', 1,
                    'markdown', '# Article ' || i || E'\n\nSome extracted text.', 'text', 'Article ' || i || '. Some extracted text.',
                    'headings', '[]'::jsonb, 'links', '[]'::jsonb) end,
             case when status = 'failed' then
                    case when r_code < 0.40 then jsonb_build_object('code', 'upstream_status', 'message', 'the server answered 503', 'status', 503)
                         when r_code < 0.62 then jsonb_build_object('code', 'timeout', 'message', 'the page did not respond within 30000 ms')
                         when r_code < 0.80 then jsonb_build_object('code', 'http_status', 'message', 'the server answered 404', 'status', 404)
                         when r_code < 0.90 then jsonb_build_object('code', 'dns_failed', 'message', domain || ' could not be resolved')
                         else jsonb_build_object('code', 'empty_content', 'message', 'no text content found at https://' || domain || '/articles/' || i) end
                  when status = 'cancelled' then jsonb_build_object('code', 'cancelled', 'message', 'cancelled by the client') end,
             case when status in ('processing', 'completed', 'failed') then 'worker-' || (1 + i % 3) || ':' || (4100 + i % 3) end,
             case when status = 'processing' then ${now}::timestamptz - interval '2 seconds' end,
             created_at,
             case when status in ('processing', 'completed', 'failed') then created_at + wait + (tries - 1) * interval '20 seconds' end,
             case when status in ('completed', 'failed') then created_at + wait + (tries - 1) * interval '20 seconds' + run
                  when status = 'cancelled' then created_at + wait end,
             case when status in ('completed', 'failed') then created_at + wait + (tries - 1) * interval '20 seconds' + run
                  when status = 'cancelled' then created_at + wait else ${now}::timestamptz end
      from demo_jobs`;

    // Two near-stale jobs and one past STALE_AFTER, held by a silent worker.
    await tx`
      insert into jobs (id, api_key_id, status, input, attempts, max_attempts, progress, worker_id, heartbeat_at, created_at, started_at, updated_at)
      select 'job_' || substr(translate(encode(sha256(convert_to(${prefix} || 'stuck' || s, 'UTF8')), 'base64'), '+/=', 'QZk'), 1, 22), ${keyIds[0]!}, 'processing',
             jsonb_build_object('url', 'https://slow.example.org/report-' || s || '.html'), 1, 3,
             jsonb_build_object('currentStep', 'fetch', 'pagesScraped', 0, 'totalPages', 1), 'worker-9:4188',
             ${now}::timestamptz - age * interval '1 second' + interval '20 seconds',
             ${now}::timestamptz - age * interval '1 second' - interval '400 milliseconds',
             ${now}::timestamptz - age * interval '1 second',
             ${now}::timestamptz
      from (values (1, ${Math.round(stale * 0.85)}::int), (2, ${Math.round(stale * 0.93)}::int), (3, ${Math.round(stale * 1.4)}::int)) as v(s, age)`;

    await tx`
      insert into job_events (job_id, from_status, to_status, at, attempt, worker_id, detail)
      select id, null, 'pending', created_at, 0, null::text, null::jsonb from jobs where api_key_id = any(${sql.array(keyIds)}::text[])
      union all
      select j.id, 'pending', 'processing', j.started_at - (j.attempts - a) * interval '20 seconds', a, j.worker_id, null::jsonb
      from jobs j, generate_series(1, j.attempts) a
      where j.api_key_id = any(${sql.array(keyIds)}::text[]) and j.started_at is not null
      union all
      select j.id, 'processing', 'pending', j.started_at - (j.attempts - a) * interval '20 seconds' + interval '10 seconds', a, j.worker_id,
             jsonb_build_object('reason', 'retry', 'error', jsonb_build_object('code', 'timeout', 'message', 'the page did not respond within 10000 ms'), 'retryInMs', 9800)
      from jobs j, generate_series(1, j.attempts - 1) a
      where j.api_key_id = any(${sql.array(keyIds)}::text[]) and j.started_at is not null
      union all
      select j.id, case when j.status = 'cancelled' then 'pending' else 'processing' end, j.status, j.completed_at, j.attempts,
             case when j.status = 'cancelled' then null else j.worker_id end,
             case when j.status = 'failed' then jsonb_build_object('error', j.error)
                  when j.status = 'cancelled' then jsonb_build_object('reason', 'cancelled by the client') end
      from jobs j
      where j.api_key_id = any(${sql.array(keyIds)}::text[]) and j.completed_at is not null
      order by 4`;

    // Webhook deliveries of the final events: most at once, some after a retry, a few given up or still retrying.
    await tx`
      with finals as (
        select j.id as job_id, 'job.' || j.status as event, 'msg_' || j.id || '_' || e.id as webhook_id, j.callback_url as url, j.completed_at,
               (abs(hashtext('wh' || j.id)) % 1000) / 1000.0 as r
        from jobs j join job_events e on e.job_id = j.id and e.to_status = j.status
        where j.api_key_id = any(${sql.array(keyIds)}::text[]) and j.callback_url is not null and j.status in ('completed', 'failed')
      )
      insert into webhook_deliveries (job_id, event, webhook_id, attempt, url, status_code, duration_ms, error, outcome, next_attempt_at, created_at)
      select job_id, event, webhook_id, 1, url,
             case when r < 0.86 then 200 when r < 0.97 then 503 else null end,
             40 + floor(r * 300)::int,
             case when r >= 0.97 then 'connect ECONNREFUSED' end,
             case when r < 0.86 then 'delivered' when r < 0.985 or completed_at > ${now}::timestamptz - interval '2 hours' then 'retrying' else 'failed' end,
             case when r >= 0.86 then completed_at + interval '5 seconds' end,
             completed_at + interval '40 milliseconds'
      from finals
      union all
      select job_id, event, webhook_id, 2, url, case when r < 0.95 then 200 else 503 end, 60 + floor(r * 200)::int, null,
             case when r < 0.95 then 'delivered' else 'retrying' end,
             case when r >= 0.95 then completed_at + interval '5 minutes' end,
             completed_at + interval '5 seconds'
      from finals where r >= 0.86 and r < 0.97 and completed_at < ${now}::timestamptz - interval '10 seconds'`;
  });

  // A failed job without a callback, for tests to retry.
  const [failed] = await sql`
    select id from jobs where api_key_id = any(${sql.array(keyIds)}::text[]) and status = 'failed' and callback_url is null order by created_at desc limit 1`;
  const [count] = await sql`select count(*)::int as n from jobs where api_key_id = any(${sql.array(keyIds)}::text[])`;
  return { keys, failedJobId: failed!.id as string, jobs: count!.n as number };
}
