-- Webhooks beyond a job's callbackUrl: account subscriptions per API key
-- (KnowledgeSDK's /v1/webhooks) and signed events to any URL (a Firecrawl
-- crawl's `webhook`). Each event to one destination is a message, written
-- once with its body; its attempts are webhook_deliveries rows like a job
-- callback's, through the same queue, schedule and redelivery
-- (core/webhookMessages.ts, worker/webhooks.ts).

create table webhook_subscriptions (
  id            text primary key,                -- wh_…
  api_key_id    text not null references api_keys (id) on delete cascade,
  url           text not null,
  events        text[] not null,
  display_name  text,
  token         text not null,                   -- sent as x-knowledgesdk-webhook-token; sealed under SECRETS_KEY when set
  status        text not null default 'active' check (status in ('active', 'disabled')),
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now()
);

create index webhook_subscriptions_by_key on webhook_subscriptions (api_key_id, created_at, id);

create table webhook_messages (
  id               text primary key,             -- msg_…: the webhook-id of every attempt
  api_key_id       text not null,
  job_id           text references jobs (id) on delete cascade,
  subscription_id  text references webhook_subscriptions (id) on delete cascade,
  source           text not null check (source in ('account', 'firecrawl')),
  event            text not null,
  url              text not null,
  headers          text,                         -- the client's own headers (JSON), sealed under SECRETS_KEY when set
  body             text not null,                -- sent as it is on every attempt
  dedup_key        text not null unique,         -- one message per event and destination, however often it is emitted
  created_at       timestamptz not null default now()
);

create index webhook_messages_by_subscription on webhook_messages (subscription_id, created_at) where subscription_id is not null;
create index webhook_messages_by_job on webhook_messages (job_id) where job_id is not null;

alter table webhook_deliveries
  alter column job_id drop not null,
  add column message_id text references webhook_messages (id) on delete cascade;

create index webhook_deliveries_by_message on webhook_deliveries (message_id, id) where message_id is not null;

-- Whether a job reaching a final state has anyone to tell: its callbackUrl, a
-- Firecrawl webhook in its input, or an account subscription of its key. The
-- transaction that moves the job queues one webhook entry when it does; the
-- sender fans it out to each destination (worker/webhooks.ts).
create function job_announces_webhooks(p_api_key_id text, p_callback_url text, p_input jsonb) returns boolean
language sql stable
as $$
  select p_callback_url is not null
      or p_input ? 'webhook'
      or exists (select 1 from webhook_subscriptions s where s.api_key_id = p_api_key_id and s.status = 'active')
$$;
