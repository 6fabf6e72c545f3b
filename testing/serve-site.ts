// `npm run serve-site -- [DIR] [--port N]`: serve a folder as a website on
// 127.0.0.1 (default: the test fixture site, spec/fixtures/site), for trying a
// crawl locally. Prints the base URL; Ctrl-C stops it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FIXTURE_SITE_DIR, FIXTURE_SITE_EXTRAS, staticSiteHandler } from './staticSite.js';

const { values, positionals } = parseArgs({ options: { port: { type: 'string', default: '0' } }, allowPositionals: true });
const dir = path.resolve(positionals[0] ?? FIXTURE_SITE_DIR);
let origin = '';
const extras = dir === FIXTURE_SITE_DIR ? FIXTURE_SITE_EXTRAS : {};
const server = http.createServer(staticSiteHandler(dir, { ...extras, origin: () => origin }));
server.listen(Number(values.port), '127.0.0.1', () => {
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  console.log(origin);
});
process.on('SIGINT', () => server.close(() => process.exit(0)));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
