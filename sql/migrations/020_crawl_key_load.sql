-- Page tasks running per API key, across all of its crawls and all workers:
-- the claim (core/crawlTasks/tasks.ts) locks a key's row and takes no more
-- than CRAWL_RUNNING_PAGES_PER_KEY minus `running`, so one key's big crawl
-- cannot occupy every worker's page slots. The count is kept by triggers on
-- crawl_progress, so every move of a task (claim, outcome, retry, rescue,
-- cancel, reap, a deleted job) keeps it without each writer remembering to.
create table crawl_key_load (
  api_key_id  text primary key,
  running     integer not null default 0 check (running >= 0)
);

insert into crawl_key_load (api_key_id, running)
select api_key_id, sum(running) from crawl_progress group by api_key_id;

create function crawl_key_load_insert() returns trigger
language plpgsql
as $$
begin
  -- The row must exist before the key's first claim, which locks it.
  insert into crawl_key_load (api_key_id)
  select distinct api_key_id from new_rows order by 1
  on conflict (api_key_id) do nothing;
  return null;
end
$$;

-- One statement may move several keys' crawls (the rescuer): key rows are
-- taken in key order, after every crawl_progress row the statement took, so
-- two such statements never wait on each other in a cycle.
create function crawl_key_load_update() returns trigger
language plpgsql
as $$
declare
  d record;
begin
  for d in
    select n.api_key_id, sum(n.running - o.running)::int as delta
    from new_rows n join old_rows o on o.job_id = n.job_id
    group by n.api_key_id having sum(n.running - o.running) <> 0
    order by n.api_key_id
  loop
    update crawl_key_load set running = running + d.delta where api_key_id = d.api_key_id;
  end loop;
  return null;
end
$$;

create function crawl_key_load_delete() returns trigger
language plpgsql
as $$
declare
  d record;
begin
  for d in
    select api_key_id, sum(running)::int as running from old_rows
    group by api_key_id having sum(running) <> 0
    order by api_key_id
  loop
    update crawl_key_load set running = running - d.running where api_key_id = d.api_key_id;
  end loop;
  return null;
end
$$;

create trigger crawl_progress_key_load_insert
  after insert on crawl_progress
  referencing new table as new_rows
  for each statement execute function crawl_key_load_insert();

create trigger crawl_progress_key_load_update
  after update on crawl_progress
  referencing old table as old_rows new table as new_rows
  for each statement execute function crawl_key_load_update();

create trigger crawl_progress_key_load_delete
  after delete on crawl_progress
  referencing old table as old_rows
  for each statement execute function crawl_key_load_delete();
