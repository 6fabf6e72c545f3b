-- KnowledgeSDK's EXTRACTION_STARTED and PAGE_UPDATED account events, and
-- retention of messages that belong to no job (core/webhooks/).

-- Whether a job just claimed (pending → processing) has an EXTRACTION_STARTED
-- to send: its key has an active subscription wanting it. When it does, the
-- senders are woken (NOTIFY on p_channel, sent at commit, one per
-- transaction), so the claim statement that queues the event needs no
-- statement of its own for it (core/webhooks/deliveries.ts startedEntries).
create function job_announces_start(p_api_key_id text, p_channel text) returns boolean
language plpgsql volatile
as $$
begin
  if exists (select 1 from webhook_subscriptions s where s.api_key_id = p_api_key_id and s.status = 'active' and 'EXTRACTION_STARTED' = any(s.events)) then
    perform pg_notify(p_channel, '');
    return true;
  end if;
  return false;
end
$$;

-- PAGE_UPDATED: per key and URL, the SHA-256 of the page's text (whitespace
-- collapsed) as the last crawl announced to the key's webhooks found it. A
-- later crawl finding other text sends PAGE_UPDATED (core/webhooks/pageVersions.ts).
create table webhook_page_versions (
  api_key_id    text not null references api_keys (id) on delete cascade,
  url           text not null,
  content_hash  text not null,
  job_id        text not null,                   -- the crawl that recorded it (no foreign key: the record outlives the job)
  updated_at    timestamptz not null default now(),
  primary key (api_key_id, url)
);

-- Retention of messages without a job (TESTING_CONNECTION): jobs' messages go with their jobs.
create index webhook_messages_without_job on webhook_messages (created_at) where job_id is null;
