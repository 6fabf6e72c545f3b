// Page categories combine the zero-shot embedding score with the page's own
// evidence (URL path, title, headings, JSON-LD type). With the stand-in model
// the embedding part is arbitrary (README: on the fixture site /pricing came
// out "blog"); the evidence must still put each page where it belongs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { evidenceScores } from '../../core/page/categories.js';
import { jsonLdFromHtml, jsonLdTypes } from '../../core/page/evidence.js';
import { startFixtureSite, type FixtureSite } from '../helpers/fixtureSite.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let site: FixtureSite;

before(async () => {
  stack = await startStack({ config: { CRAWL_HOST_DELAY: '0', EXTRACT_SYNC_TIMEOUT: '60s' } });
  site = await startFixtureSite();
  await stack.startWorker({ pipeline: stack.knowledgePipeline() });
});
after(() => site.close());

describe('evidence from the page itself', () => {
  test('path, title, headings and JSON-LD type each count; a locale prefix is skipped', () => {
    assert.ok(evidenceScores({ url: 'https://a.example/pricing' }).pricing > 0);
    assert.ok(evidenceScores({ url: 'https://a.example/de/pricing/' }).pricing > 0);
    assert.ok(evidenceScores({ url: 'https://a.example/x', title: 'Plans and pricing — Acme' }).pricing > 0);
    assert.ok(evidenceScores({ url: 'https://a.example/x', headings: ['Frequently asked questions'] }).support > 0);
    assert.ok(evidenceScores({ url: 'https://a.example/x', jsonLdTypes: ['JobPosting'] }).careers > 0);
    const none = evidenceScores({ url: 'https://a.example/', title: 'Acme' });
    assert.ok(Object.values(none).every((v) => v === 0), JSON.stringify(none));
  });

  test('a post under /blog/ about prices stays a blog post: the path outweighs a word in the title', () => {
    const s = evidenceScores({ url: 'https://a.example/blog/new-prices', title: 'Our new pricing', jsonLdTypes: ['BlogPosting'] });
    assert.ok(s.blog > s.pricing, JSON.stringify(s));
  });

  test('JSON-LD is read from script blocks (arrays and @graph), bad blocks skipped', () => {
    const html = `<script type="application/ld+json">{"@graph":[{"@type":"Organization","name":"Acme"},{"@type":["Product","Thing"]}]}</script>
      <script type="application/ld+json">{not json</script><SCRIPT TYPE="application/ld+json">[{"@type":"FAQPage"}]</SCRIPT>`;
    const types = jsonLdFromHtml(html).flatMap(jsonLdTypes).sort();
    assert.deepEqual(types, ['FAQPage', 'Organization', 'Product', 'Thing']);
  });
});

test('a crawl of the README fixture site: /pricing is "pricing", and every page with a telling path gets its label', async () => {
  const res = await stack.request('POST', '/v1/extract', { body: { url: `${site.baseUrl}/`, maxPages: 20 } });
  assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 500));
  assert.equal(res.body.status, 'completed', JSON.stringify(res.body.errorDetail ?? res.body.error));
  const byPath = new Map<string, string>(res.body.result.pages.map((p: { url: string; category: string }) => [new URL(p.url).pathname.replace(/\/$/, '') || '/', p.category]));
  const expected: Record<string, string> = {
    '/pricing': 'pricing',
    '/about': 'about',
    '/careers': 'careers',
    '/legal/privacy': 'legal',
    '/docs/getting-started': 'docs',
    '/docs/api/reference': 'docs',
    '/blog/frost-season-cash-flow': 'blog',
  };
  for (const [path, category] of Object.entries(expected)) {
    assert.ok(byPath.has(path), `${path} was crawled: ${[...byPath.keys()].join(', ')}`);
    assert.equal(byPath.get(path), category, `${path}: ${JSON.stringify(Object.fromEntries(byPath))}`);
  }
});
