import type { Server } from 'node:http';
import { createInitialKeyIfNone } from '../core/apiKeys.js';
import type { Runtime } from '../core/platform/runtime.js';
import { createOutboundClient, outboundOptions } from '../core/outbound/index.js';
import { appBrowser, createApp } from './app.js';

/** Listen; on a first start with no keys, create one and print it once to stderr (never to the log). */
export async function startServer(runtime: Runtime): Promise<{ server: Server; port: number; stop(): Promise<void> }> {
  const { config, logger } = runtime;
  if (config.api.createInitialKey) {
    const key = await createInitialKeyIfNone(runtime.sql);
    if (key) process.stderr.write(`\nCreated the first API key (shown only this once; keep it safe):\n${key}\n\n`);
  }
  // Load the model and open the index now: a missing model fails start-up, not the first search.
  await runtime.knowledge.index();
  const client = createOutboundClient(outboundOptions(config));
  const browser = appBrowser(config, logger);
  const app = createApp({ config, sql: runtime.sql, boss: runtime.boss, logger, knowledge: runtime.knowledge, client, browser });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s))); // Express 5 passes a listen error to the callback
    s.once('error', reject);
  });
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 30_000;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info('API listening', { url: `http://${config.host}:${port}` });
  return {
    server,
    port,
    stop: async () => {
      // A keep-alive connection whose request was still running when close()
      // was called goes idle only later; without a sweep it would hold the
      // shutdown for keepAliveTimeout (65 s) after its response.
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      clearInterval(sweep);
      await browser.close();
      await client.close();
    },
  };
}
