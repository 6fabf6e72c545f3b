// Webhook signing secrets of an API key, stored on its api_keys row (Standard
// Webhooks: "whsec_" + base64 key bytes).
// Signing needs them in clear, so they cannot be hashed: with SECRETS_KEY set
// they are encrypted at rest (core/secretBox.ts, bound to the key's id); a
// secret stored in clear before the key was set is still read, and sealed
// the next time it is read (encryptStoredSecrets seals them all at once).
// Created on first use.
import { randomBytes } from 'node:crypto';
import type { Db } from '../platform/db.js';
import { plainBox, type SecretBox } from '../secretBox.js';

export const newWebhookSecret = () => `whsec_${randomBytes(24).toString('base64')}`;

/** Seal in place a stored secret that is still in clear (compare-and-set: a concurrent rotation wins). */
async function sealInPlace(db: Db, box: SecretBox, apiKeyId: string, column: 'webhook_secret' | 'previous_webhook_secret', stored: string): Promise<void> {
  if (!box.needsSealing(stored)) return;
  await db`update api_keys set ${db(column)} = ${box.seal(stored, apiKeyId)} where id = ${apiKeyId} and ${db(column)} = ${stored}`;
}

/** The key's current webhook secret, created if it has none yet. */
export async function getWebhookSecret(db: Db, apiKeyId: string, box: SecretBox = plainBox): Promise<string> {
  const [row] = await db`
    update api_keys set webhook_secret = coalesce(webhook_secret, ${box.seal(newWebhookSecret(), apiKeyId)})
    where id = ${apiKeyId} returning webhook_secret`;
  if (!row) throw new Error(`no API key ${apiKeyId}`);
  const stored = row.webhook_secret as string;
  await sealInPlace(db, box, apiKeyId, 'webhook_secret', stored);
  return box.open(stored, apiKeyId);
}

/** Issue a new secret; the old one keeps signing (alongside) until the grace period ends. */
export async function rotateWebhookSecret(db: Db, apiKeyId: string, graceMs: number, box: SecretBox = plainBox): Promise<{ secret: string; previousExpiresAt: Date | null }> {
  const secret = newWebhookSecret();
  const [row] = await db`
    update api_keys set
      previous_webhook_secret = webhook_secret,
      previous_webhook_secret_expires_at = case when webhook_secret is null then null else now() + ${graceMs} * interval '1 millisecond' end,
      webhook_secret = ${box.seal(secret, apiKeyId)}
    where id = ${apiKeyId}
    returning previous_webhook_secret, previous_webhook_secret_expires_at`;
  if (!row) throw new Error(`no API key ${apiKeyId}`);
  if (row.previous_webhook_secret) await sealInPlace(db, box, apiKeyId, 'previous_webhook_secret', row.previous_webhook_secret as string);
  return { secret, previousExpiresAt: (row.previous_webhook_secret_expires_at as Date | null) ?? null };
}

/** Every secret a delivery must be signed with now: the current one, plus the previous during its grace period. */
export async function signingSecrets(db: Db, apiKeyId: string, box: SecretBox = plainBox): Promise<string[]> {
  // A read on the hot path; the write that creates a missing secret happens once per key.
  const [row] = await db`
    select webhook_secret,
           case when previous_webhook_secret_expires_at > now() then previous_webhook_secret end as previous
    from api_keys where id = ${apiKeyId}`;
  const stored = row?.webhook_secret as string | null | undefined;
  const current = stored ? box.open(stored, apiKeyId) : await getWebhookSecret(db, apiKeyId, box);
  if (stored) await sealInPlace(db, box, apiKeyId, 'webhook_secret', stored);
  return row?.previous ? [current, box.open(row.previous as string, apiKeyId)] : [current];
}

/** Seal every secret still stored in clear (start-up, once SECRETS_KEY is set); returns how many were sealed. */
export async function encryptStoredSecrets(db: Db, box: SecretBox): Promise<number> {
  if (!box.encrypts) return 0;
  let sealed = 0;
  const rows = await db`
    select id, webhook_secret, previous_webhook_secret from api_keys
    where (webhook_secret is not null and webhook_secret not like 'enc:%') or (previous_webhook_secret is not null and previous_webhook_secret not like 'enc:%')`;
  for (const r of rows) {
    for (const column of ['webhook_secret', 'previous_webhook_secret'] as const) {
      const stored = r[column] as string | null;
      if (stored && box.needsSealing(stored)) {
        await sealInPlace(db, box, r.id as string, column, stored);
        sealed++;
      }
    }
  }
  return sealed;
}
