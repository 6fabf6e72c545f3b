// Golden files for the Markdown renderer: each spec/extraction/golden/NAME.html is extracted
// (base URL below) and its Markdown must equal NAME.md exactly. A first line
// `<!-- options: {...} -->` passes extractPage options. Add a case by adding both files.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type ExtractOptions, extractPage } from '../../core/extraction/index.js';

const BASE = 'https://example.org/docs/page.html';
const dir = join(import.meta.dirname, 'golden');
const names = readdirSync(dir).filter((f) => f.endsWith('.html')).map((f) => f.slice(0, -'.html'.length)).sort();

describe('Markdown golden files', () => {
  it('has cases, each with its expected Markdown', () => {
    assert.ok(names.length >= 8, `only ${names.length} golden cases`);
    const md = readdirSync(dir).filter((f) => f.endsWith('.md')).map((f) => f.slice(0, -'.md'.length)).sort();
    assert.deepEqual(md, names);
  });

  for (const name of names) {
    it(name, () => {
      const html = readFileSync(join(dir, `${name}.html`), 'utf8');
      const m = /^<!-- options: (\{.*\}) -->/.exec(html);
      const options = m ? (JSON.parse(m[1]!) as ExtractOptions) : {};
      const expected = readFileSync(join(dir, `${name}.md`), 'utf8').replace(/\n$/, '');
      assert.equal(extractPage(html, BASE, options).markdown, expected);
    });
  }
});
