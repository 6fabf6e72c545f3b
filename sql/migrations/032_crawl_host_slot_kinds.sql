-- Every fetch a worker makes to a site takes a host slot (core/crawlTasks/hosts.ts),
-- one-page jobs and the one-worker crawl included. A robots.txt read is the
-- one request outside the host's pace: it holds a slot (the concurrency cap
-- counts it) and waits out a Retry-After, but neither waits for nor moves the
-- delay clock, so a one-page job's robots.txt does not hold its page back by
-- HOST_DELAY. p_paced false asks for such a slot.
-- A one-page request (a one-page job's, p_urgent) waits for a slot like any
-- other, but while one waits it marks the host (urgent_until, renewed at each
-- ask) and other requests leave the next free slot and start to it: a
-- one-page job behind a big crawl of the same host waits for one request of
-- the crawl to end, not for its turn among all of the crawl's pages.
-- Otherwise as migration 026, whose five-argument form now calls this one
-- (one body for the rules).
alter table crawl_hosts add column urgent_until timestamptz;

create function crawl_acquire_host_slot(p_host text, p_holder text, p_concurrency integer, p_delay_ms integer, p_lease_ms integer, p_paced boolean, p_urgent boolean)
returns table (slot integer, wait_ms integer)
language plpgsql
as $$
declare
  v_wait double precision;
  v_urgent_waiting boolean;
  v_slot integer;
begin
  insert into crawl_hosts (host) values (p_host) on conflict (host) do nothing;
  select greatest(case when p_paced then extract(epoch from (h.next_start_at - clock_timestamp())) else 0 end, extract(epoch from (coalesce(h.slowed_until, clock_timestamp()) - clock_timestamp())), 0) * 1000,
         coalesce(h.urgent_until > clock_timestamp(), false)
    into v_wait, v_urgent_waiting
    from crawl_hosts h where h.host = p_host for update;
  if v_wait > 0 then
    if p_urgent then
      update crawl_hosts h set urgent_until = clock_timestamp() + greatest(v_wait * interval '1 second', interval '0') + interval '250 milliseconds' where h.host = p_host;
    end if;
    return query select null::integer, ceil(v_wait)::integer;
    return;
  end if;
  if v_urgent_waiting and not p_urgent then
    -- A one-page request is waiting for this host: the free slot is its.
    return query select null::integer, -1;
    return;
  end if;
  select s into v_slot from generate_series(0, greatest(1, p_concurrency) - 1) s
    where not exists (select 1 from crawl_host_leases l where l.host = p_host and l.slot = s and l.expires_at > clock_timestamp())
    order by s limit 1;
  if v_slot is null then
    if p_urgent then
      update crawl_hosts h set urgent_until = clock_timestamp() + interval '250 milliseconds' where h.host = p_host;
    end if;
    -- Every slot taken: wait_ms -1 tells the caller to ask again shortly (a release frees one at any time).
    return query select null::integer, -1;
    return;
  end if;
  insert into crawl_host_leases (host, slot, holder, expires_at)
    values (p_host, v_slot, p_holder, clock_timestamp() + p_lease_ms * interval '1 millisecond')
    on conflict on constraint crawl_host_leases_pkey do update set holder = excluded.holder, expires_at = excluded.expires_at;
  -- A granted one-page request lifts its mark (another still waiting sets it again at its next ask).
  update crawl_hosts h set
      next_start_at = case when p_paced then clock_timestamp() + greatest(greatest(p_delay_ms, 0), coalesce(h.delay_ms, 0)) * interval '1 millisecond' else h.next_start_at end,
      urgent_until = case when p_urgent then null else h.urgent_until end,
      updated_at = now()
    where h.host = p_host and (p_paced or p_urgent);
  return query select v_slot, 0;
end
$$;

create or replace function crawl_acquire_host_slot(p_host text, p_holder text, p_concurrency integer, p_delay_ms integer, p_lease_ms integer)
returns table (slot integer, wait_ms integer)
language sql
as $$
  select * from crawl_acquire_host_slot(p_host, p_holder, p_concurrency, p_delay_ms, p_lease_ms, true, false);
$$;
