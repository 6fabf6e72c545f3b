// `npm run keys -- create --name NAME | list | revoke ID_OR_NAME`
// Works against the same DATABASE_URL / DATA_DIR as the service, also while it runs.
import { parseArgs } from 'node:util';
import { createApiKey, listApiKeys, revokeApiKey } from '../core/apiKeys.js';
import { loadConfig } from '../core/platform/config.js';
import { openDatabase } from '../core/platform/db.js';
import { createSilentLogger } from '../core/platform/logger.js';
import { migrate } from '../core/platform/migrations.js';
import { exitOnStartupError } from '../core/platform/startup.js';

const USAGE = `usage:
  npm run keys -- create --name NAME   create a key; the key is printed once, alone on the last line
  npm run keys -- list                 list keys (id, name, prefix, created, revoked)
  npm run keys -- revoke ID_OR_NAME    revoke a key at once`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({ allowPositionals: true, options: { name: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
} catch (err) {
  fail((err as Error).message);
}
const [command, ...rest] = parsed.positionals;
if (parsed.values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (!command || !['create', 'list', 'revoke'].includes(command)) fail(command ? `unknown command: ${command}` : 'missing command');
if (command === 'create' && !parsed.values.name?.trim()) fail('create needs --name NAME');
if (command === 'revoke' && rest.length !== 1) fail('revoke needs one key id or name');

await exitOnStartupError(async () => {
  const config = loadConfig();
  const database = await openDatabase(config, createSilentLogger(), 'gleaner-keys');
  try {
    await migrate(database.sql);
    if (command === 'create') {
      const { key, apiKey } = await createApiKey(database.sql, parsed.values.name!.trim());
      process.stdout.write(`created key ${apiKey.id} (${apiKey.name}); it is shown only once:\n${key}\n`);
    } else if (command === 'list') {
      const keys = await listApiKeys(database.sql);
      const rows = [['ID', 'NAME', 'PREFIX', 'CREATED', 'REVOKED'], ...keys.map((k) => [k.id, k.name, `${k.prefix}…`, k.createdAt.toISOString(), k.revokedAt?.toISOString() ?? '-'])];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
    } else {
      const revoked = await revokeApiKey(database.sql, rest[0]!);
      if (revoked.length === 0) {
        process.stderr.write(`no active key with id or name ${JSON.stringify(rest[0])}\n`);
        process.exitCode = 1;
      } else {
        for (const k of revoked) process.stdout.write(`revoked ${k.id} (${k.name})\n`);
      }
    }
  } finally {
    await database.close();
  }
});
