-- A page task's outcome in one statement (core/crawlTasks/tasks.ts
-- finishPageTask): the task's move, the links it found, the crawl's counters,
-- the maxPages cut and the crawl's close, instead of about eleven round trips
-- of a client-side transaction, nine of them holding the crawl's progress row
-- that every move and claim of the crawl waits on. The order is the one every
-- move keeps (task row first, then the progress row), and the progress row is
-- taken as late as can be: after the task's move and after the links already
-- known are dropped (a read without the lock), so it is held for the new
-- links, the counters and the close check only. Each statement reads with its
-- own snapshot (a volatile function under READ COMMITTED), so what follows
-- the row lock sees what the previous holder committed.

-- Queue pages found by discovery, once per normalised URL per crawl: see
-- discoverPages. The crawl's progress row serialises discoveries (two workers
-- finding the same links insert them one after the other, never crossing on
-- the unique key); pages deeper than max_depth or beyond the task budget are
-- dropped in the order given; a page given twice, or still queued, keeps its
-- fewest link hops. Returns the tasks created.
create function crawl_discover_pages(p_job_id text, p_urls text[], p_keys text[], p_depths integer[], p_hops integer[])
returns integer
language plpgsql
as $$
declare
  v_max_depth integer;
  v_urls text[];
  v_keys text[];
  v_depths integer[];
  v_hops integer[];
  v_key text;
  v_room integer;
  v_created integer;
begin
  -- max_depth is set when the crawl opens: read without the lock.
  select c.max_depth into v_max_depth from crawl_progress c where c.job_id = p_job_id and c.closed_at is null;
  if not found then
    return 0;
  end if;
  -- Links the crawl has already (and cannot reach by fewer hops) are dropped before the lock: a task is never
  -- deleted and its hops never grow, so what this read drops the locked statement below would drop too.
  select array_agg(g.url order by g.ord), array_agg(g.key order by g.ord), array_agg(g.depth order by g.ord), array_agg(g.hops order by g.ord)
    into v_urls, v_keys, v_depths, v_hops
    from unnest(p_urls, p_keys, p_depths, p_hops) with ordinality as g (url, key, depth, hops, ord)
    where g.depth <= v_max_depth
      and not exists (select 1 from crawl_pages t where t.job_id = p_job_id and t.url_key = g.key and (t.state <> 'queued' or t.hops <= g.hops));
  if v_keys is null then
    return 0;
  end if;
  select c.api_key_id, c.max_tasks - c.tasks into v_key, v_room from crawl_progress c where c.job_id = p_job_id and c.closed_at is null for update;
  if not found or v_room <= 0 then
    return 0;
  end if;
  with given as (
    select distinct on (g.key) g.url, g.key, g.depth, g.hops, g.ord
    from unnest(v_urls, v_keys, v_depths, v_hops) with ordinality as g (url, key, depth, hops, ord)
    order by g.key, g.hops, g.ord
  ), fewer_hops as (
    -- A page found again by a shorter route (a sitemap URL the start page also links to) counts
    -- its fewest link hops while still queued, so maxDiscoveryDepth does not depend on which worker found it first.
    update crawl_pages t set hops = g.hops from given g
    where t.job_id = p_job_id and t.url_key = g.key and t.state = 'queued' and g.hops < t.hops
  ), fresh as (
    select * from given g
    where not exists (select 1 from crawl_pages t where t.job_id = p_job_id and t.url_key = g.key)
    order by g.ord
    limit v_room
  ), created as (
    insert into crawl_pages (job_id, api_key_id, url_key, url, depth, hops, state)
    select p_job_id, v_key, f.key, f.url, f.depth, f.hops, 'queued' from fresh f order by f.ord
    on conflict (job_id, url_key) do nothing
    returning 1
  ), counted as (
    update crawl_progress c set tasks = c.tasks + (select count(*) from created), queued = c.queued + (select count(*) from created)
    where c.job_id = p_job_id and exists (select 1 from created)
  )
  select count(*)::integer into v_created from created;
  return v_created;
end
$$;

-- In a transaction holding the crawl's progress row (or about to take it):
-- skip its queued tasks once maxPages pages are done, and close it when no
-- task is open (see closeIfFinished, whose caller completes the parent in the
-- same transaction).
create function crawl_close_if_finished(p_job_id text)
returns table (crawl_closed boolean, progress crawl_progress)
language plpgsql
as $$
declare
  c crawl_progress;
begin
  select * into c from crawl_progress g where g.job_id = p_job_id for update;
  if c.closed_at is not null then
    return query select false, c;
    return;
  end if;
  if c.pages_done >= c.max_pages and c.queued > 0 then
    update crawl_pages t set state = 'skipped', finished_at = now(), event_id = nextval('crawl_page_events'),
      error = jsonb_build_object('code', 'over_limit', 'message', format('the crawl reached maxPages (%s)', c.max_pages))
    where t.job_id = p_job_id and t.state = 'queued';
    update crawl_progress g set pages_skipped = g.pages_skipped + g.queued, queued = 0 where g.job_id = p_job_id returning * into c;
  end if;
  if c.queued = 0 and c.running = 0 then
    update crawl_progress g set closed_at = now() where g.job_id = p_job_id returning * into c;
    return query select true, c;
    return;
  end if;
  return query select false, c;
end
$$;

-- A page task's outcome for the attempt a worker holds (see finishPageTask):
-- p_state done | failed | skipped | retry (queued again after p_retry_ms while
-- attempts remain, else failed). Nothing is written when the attempt is no
-- longer the task's (task_held false). A move that closes the crawl is
-- refused with SQLSTATE GLC01 and nothing written unless p_may_close: the
-- caller then runs it again in a transaction that completes the parent.
create function crawl_finish_page(
  p_task_id bigint, p_attempt integer, p_state text, p_error jsonb, p_retry_ms integer,
  p_chunks integer, p_final_url text, p_title text, p_description text, p_content text, p_category text,
  p_urls text[], p_keys text[], p_depths integer[], p_hops integer[],
  p_may_close boolean)
returns table (task_held boolean, task_state text, tasks_created integer, crawl_closed boolean, progress crawl_progress)
language plpgsql
as $$
declare
  v_job text;
  v_state text := p_state;
  v_created integer := 0;
  v_close record;
begin
  select t.job_id into v_job from crawl_pages t where t.id = p_task_id and t.state = 'running' and t.attempts = p_attempt for update;
  if not found then
    return query select false, null::text, 0, false, null::crawl_progress;
    return;
  end if;
  if v_state = 'retry' then
    -- max_attempts is set when the crawl opens: read without the lock.
    select case when p_attempt < g.max_attempts then 'queued' else 'failed' end into v_state from crawl_progress g where g.job_id = v_job;
  end if;
  if v_state = 'queued' then
    update crawl_pages t set state = 'queued', worker_id = null, heartbeat_at = null, error = p_error,
      run_after = now() + greatest(p_retry_ms, 0) * interval '1 millisecond'
    where t.id = p_task_id;
  else
    update crawl_pages t set state = v_state, worker_id = null, heartbeat_at = null, finished_at = now(),
      error = case when v_state = 'done' then null else p_error end,
      chunks = case when v_state = 'done' then p_chunks end,
      final_url = p_final_url, title = p_title, description = p_description, content = p_content, category = p_category,
      event_id = nextval('crawl_page_events')
    where t.id = p_task_id;
    if cardinality(p_keys) > 0 then
      v_created := crawl_discover_pages(v_job, p_urls, p_keys, p_depths, p_hops);
    end if;
  end if;
  -- The crawl's row (taken here unless discovery took it): the counters, then the maxPages cut and the close.
  update crawl_progress g set running = g.running - 1, progressed_at = now(),
    queued = g.queued + (v_state = 'queued')::integer,
    pages_done = g.pages_done + (v_state = 'done')::integer,
    pages_failed = g.pages_failed + (v_state = 'failed')::integer,
    pages_skipped = g.pages_skipped + (v_state = 'skipped')::integer,
    chunks_indexed = g.chunks_indexed + case when v_state = 'done' then coalesce(p_chunks, 0) else 0 end
  where g.job_id = v_job;
  select * into v_close from crawl_close_if_finished(v_job);
  if v_close.crawl_closed and not p_may_close then
    raise exception 'page task % closes crawl %: run it where the parent completes', p_task_id, v_job using errcode = 'GLC01';
  end if;
  return query select true, v_state, v_created, v_close.crawl_closed, v_close.progress;
end
$$;
