// A folder served as a website with clean URLs (/pricing → pricing.html,
// /blog/ → blog/index.html), {{ORIGIN}} filled in text and XML files (robots.txt,
// sitemaps), and optional redirects and extension-less aliases. Used by the
// test fixture site, `npm run serve-site` and the pipeline benchmark.
import fs from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';

export const FIXTURE_SITE_DIR = path.resolve(import.meta.dirname, '../spec/fixtures/site');

export interface StaticSiteOptions {
  /** Path → location answered with a 301. */
  redirects?: Record<string, string>;
  /** Path → file (relative to the folder), for extension-less URLs of non-HTML files. */
  aliases?: Record<string, string>;
  /** The site's own origin, substituted for {{ORIGIN}}; read at request time. */
  origin(): string;
}

/** The fixture site's redirect and alias (spec/fixtures/site). */
export const FIXTURE_SITE_EXTRAS = {
  redirects: { '/old-pricing': '/pricing' },
  aliases: { '/media/team-photo': 'media/team-photo.png' },
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.pdf': 'application/pdf',
  '.png': 'image/png',
};

/** The file a clean URL path maps to, or null (never outside the folder). */
async function resolveFile(dir: string, urlPath: string, aliases: Record<string, string>): Promise<string | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const alias = aliases[decoded];
  const base = decoded.replace(/\/+$/, '');
  const candidates = alias ? [alias] : decoded === '/' ? ['index.html'] : [`${base}.html`, `${base}/index.html`, base];
  for (const rel of candidates) {
    const file = path.resolve(dir, `.${path.posix.normalize(`/${rel}`)}`);
    if (!file.startsWith(dir + path.sep)) return null;
    const stat = await fs.stat(file).catch(() => null);
    if (stat?.isFile()) return file;
  }
  return null;
}

export function staticSiteHandler(folder: string, opts: StaticSiteOptions): http.RequestListener {
  const dir = path.resolve(folder);
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://site');
    const redirect = opts.redirects?.[url.pathname];
    if (redirect) {
      res.writeHead(301, { location: redirect, 'content-type': 'text/html' }).end(`<a href="${redirect}">Moved</a>`);
      return;
    }
    const file = await resolveFile(dir, url.pathname, opts.aliases ?? {});
    if (file === null) {
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Not found</title><h1>Page not found</h1>');
      return;
    }
    const ext = path.extname(file);
    let body: Buffer | string = await fs.readFile(file);
    if (ext === '.txt' || ext === '.xml') body = body.toString('utf8').replaceAll('{{ORIGIN}}', opts.origin());
    res.writeHead(200, { 'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream' }).end(body);
  };
}
