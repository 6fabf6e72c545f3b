// `npm run migrate`: apply pending migrations and exit (start-up also does this).
import { loadConfig } from '../core/platform/config.js';
import { openDatabase } from '../core/platform/db.js';
import { createLogger } from '../core/platform/logger.js';
import { migrate } from '../core/platform/migrations.js';
import { exitOnStartupError } from '../core/platform/startup.js';

await exitOnStartupError(async () => {
  const config = loadConfig();
  const logger = createLogger('warn');
  const database = await openDatabase(config, logger, 'gleaner-migrate');
  try {
    const applied = await migrate(database.sql);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
  } finally {
    await database.close();
  }
});
