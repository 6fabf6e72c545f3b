-- The dashboard's session epoch: every session cookie names the epoch it was
-- issued in and is valid only while that is the current one. Signing out
-- moves the epoch on, which ends every session at once, in every API process
-- (the cookies themselves are stateless HMACs; changing ADMIN_TOKEN ends them
-- too, as their key changes). One row, owned by server/dashboard/sessionEpoch.ts.
create table dashboard_session_epoch (
  singleton boolean primary key default true check (singleton),
  epoch bigint not null default 0,
  changed_at timestamptz not null default now()
);
insert into dashboard_session_epoch default values;
