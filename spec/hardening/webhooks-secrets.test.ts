// Webhook signing secrets at rest: with SECRETS_KEY set they are stored
// AES-256-GCM-sealed (never the plaintext), still sign deliveries that verify
// with the secret the API hands out, secrets stored in clear before the key
// was set keep working and get sealed, and a sealed value opens only with its
// key and on its own row.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { createApiKey } from '../../core/apiKeys.js';
import { encryptStoredSecrets, getWebhookSecret, newWebhookSecret, signingSecrets } from '../../core/webhooks/secrets.js';
import { ConfigError, loadConfig } from '../../core/platform/config.js';
import { listDeliveries } from '../../core/webhooks/deliveries.js';
import { SecretKeyMissingError, plainBox, secretBox } from '../../core/secretBox.js';
import { articlePage, fixtureSite, startHttpServer } from '../helpers/http.js';
import { startStack } from '../helpers/stack.js';

const KEY_HEX = randomBytes(32).toString('hex');

async function storedSecrets(sql: import('../../core/platform/db.js').Sql, apiKeyId: string) {
  const [row] = await sql`select webhook_secret, previous_webhook_secret from api_keys where id = ${apiKeyId}`;
  return { current: row!.webhook_secret as string | null, previous: row!.previous_webhook_secret as string | null };
}

test('with SECRETS_KEY the stored secret is not the plaintext, and deliveries signed with it verify with the secret the API returns', async () => {
  const site = await startHttpServer(fixtureSite({ '/page': articlePage('Sealed', 'A page whose webhook is signed with a secret sealed at rest.') }));
  const received: { headers: Record<string, string>; body: string }[] = [];
  const hook = await startHttpServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(200).end();
    });
  });
  const stack = await startStack({ worker: true, config: { SECRETS_KEY: KEY_HEX, WORKER_POLL_INTERVAL: '100ms' } });
  await stack.startWebhookSender();

  const secret = (await stack.request('GET', '/v1/webhooks/secret')).body.secret as string;
  assert.match(secret, /^whsec_/);
  const stored = await storedSecrets(stack.sql, stack.apiKeyId);
  assert.match(stored.current!, /^enc:v1:/);
  assert.ok(!stored.current!.includes(secret.slice(6)), 'the plaintext is not in the stored value');
  const dump = await stack.sql`select api_keys::text as row from api_keys`;
  assert.ok(dump.every((r) => !(r.row as string).includes(secret.slice(6))));

  const res = await stack.request('POST', '/v1/extract/async', { body: { url: `${site.url}/page`, callbackUrl: `${hook.url}/hook` } });
  for (;;) {
    const all = await listDeliveries(stack.sql, res.body.jobId);
    if (all.length > 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(received.length, 1);
  new Webhook(secret).verify(received[0]!.body, received[0]!.headers);

  // A rotation seals the new secret and keeps the previous one (sealed) signing alongside.
  const rotated = (await stack.request('POST', '/v1/webhooks/secret/rotate')).body.secret as string;
  const after = await storedSecrets(stack.sql, stack.apiKeyId);
  assert.match(after.current!, /^enc:v1:/);
  assert.match(after.previous!, /^enc:v1:/);
  assert.deepEqual(await signingSecrets(stack.sql, stack.apiKeyId, secretBox(Buffer.from(KEY_HEX, 'hex'))), [rotated, secret]);
});

test('secrets stored in clear before SECRETS_KEY was set still sign, and are sealed when read or at start-up', async () => {
  const stack = await startStack();
  const box = secretBox(Buffer.from(KEY_HEX, 'hex'));
  // Written by a service without the key.
  const a = await createApiKey(stack.sql, 'a');
  const b = await createApiKey(stack.sql, 'b');
  const plainA = await getWebhookSecret(stack.sql, a.apiKey.id, plainBox);
  const plainB = await getWebhookSecret(stack.sql, b.apiKey.id, plainBox);
  assert.equal((await storedSecrets(stack.sql, a.apiKey.id)).current, plainA);

  // Read with the key: the same secret, and now sealed.
  assert.deepEqual(await signingSecrets(stack.sql, a.apiKey.id, box), [plainA]);
  assert.match((await storedSecrets(stack.sql, a.apiKey.id)).current!, /^enc:v1:/);
  assert.equal(await getWebhookSecret(stack.sql, a.apiKey.id, box), plainA);

  // The start-up pass seals the rest (b, and the test stack's own key has none yet).
  assert.equal(await encryptStoredSecrets(stack.sql, box), 1);
  assert.match((await storedSecrets(stack.sql, b.apiKey.id)).current!, /^enc:v1:/);
  assert.equal(await getWebhookSecret(stack.sql, b.apiKey.id, box), plainB);
  assert.equal(await encryptStoredSecrets(stack.sql, box), 0, 'nothing left in clear');

  // Without the key a sealed secret is an error that says what to do, never a wrong signature.
  await assert.rejects(signingSecrets(stack.sql, a.apiKey.id, plainBox), SecretKeyMissingError);
  await assert.rejects(signingSecrets(stack.sql, a.apiKey.id, secretBox(randomBytes(32))), /another key/);
  // A sealed value copied onto another key's row does not open there.
  const sealedA = (await storedSecrets(stack.sql, a.apiKey.id)).current!;
  await stack.sql`update api_keys set webhook_secret = ${sealedA} where id = ${b.apiKey.id}`;
  await assert.rejects(signingSecrets(stack.sql, b.apiKey.id, box), /another key/);
});

test('SECRETS_KEY must be 32 bytes, and a bad one is refused without being echoed', () => {
  assert.equal(loadConfig({ SECRETS_KEY: KEY_HEX }).webhooks.secretsKey?.length, 32);
  assert.equal(loadConfig({ SECRETS_KEY: randomBytes(32).toString('base64') }).webhooks.secretsKey?.length, 32);
  assert.equal(loadConfig({}).webhooks.secretsKey, undefined);
  const tooShort = 'abcdef0123456789';
  assert.throws(() => loadConfig({ SECRETS_KEY: tooShort }), (err: unknown) => err instanceof ConfigError && /SECRETS_KEY/.test(err.message) && !err.message.includes(tooShort));
  assert.notEqual(newWebhookSecret(), newWebhookSecret());
});
