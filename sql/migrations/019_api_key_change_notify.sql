-- API processes serve active keys from a short-lived cache (KeyCache in
-- core/apiKeys.ts). Every revocation or deletion of a key, whatever made it
-- (dashboard, keys CLI, plain SQL), tells them when its transaction commits,
-- so a revoked key is refused everywhere at once.
create function notify_api_key_change() returns trigger
language plpgsql
as $$
begin
  perform pg_notify('gleaner_api_keys', old.id);
  return null;
end
$$;

create trigger api_keys_notify_change
  after update of revoked_at, key_hash or delete on api_keys
  for each row execute function notify_api_key_change();
