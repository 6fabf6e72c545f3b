// Start-up shared by every entry point: database (embedded or DATABASE_URL),
// migrations, queue. Entry points compose this with the API and/or a worker.
import { encryptStoredSecrets } from '../webhooks/secrets.js';
import type { Config } from './config.js';
import { openDatabase, type Database, type Sql } from './db.js';
import type { Logger } from './logger.js';
import { openKnowledge, type Knowledge } from '../modelAndIndex.js';
import { migrate } from './migrations.js';
import { startQueue, type Boss } from '../queue/index.js';
import { secretBox } from '../secretBox.js';

export interface Runtime {
  config: Config;
  logger: Logger;
  database: Database;
  sql: Sql;
  boss: Boss;
  /** Model and search index, loaded on first use. */
  knowledge: Knowledge;
  close(): Promise<void>;
}

export async function openRuntime(config: Config, logger: Logger, opts: { role: string; supervise: boolean }): Promise<Runtime> {
  const database = await openDatabase(config, logger, `gleaner-${opts.role}`);
  try {
    const applied = await migrate(database.sql);
    if (applied.length) logger.info('migrations applied', { applied });
    // With SECRETS_KEY set, webhook secrets stored in clear (before it was set) are sealed now, not only when next read.
    const sealed = await encryptStoredSecrets(database.sql, secretBox(config.webhooks.secretsKey));
    if (sealed) logger.info('webhook secrets encrypted at rest', { sealed });
    // pg-boss expires an active entry a minute after the reaper's limit, so the
    // reaper always decides first and the two never disagree.
    const boss = await startQueue(
      database.url,
      { expireInSeconds: Math.ceil(config.worker.staleAfterMs / 1000) + 60, webhookTimeoutMs: config.webhooks.timeoutMs, supervise: opts.supervise },
      logger,
    );
    const knowledge = openKnowledge(config, database.sql, logger);
    return {
      config,
      logger,
      database,
      sql: database.sql,
      boss,
      knowledge,
      async close() {
        await knowledge.close().catch((err: Error) => logger.warn('model or index close failed', { error: err.message }));
        await boss.stop({ graceful: false, wait: true }).catch((err: Error) => logger.warn('queue stop failed', { error: err.message }));
        await database.close();
      },
    };
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
}
