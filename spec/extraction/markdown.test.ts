import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractPage } from '../../core/extraction/index.js';

const BASE = 'https://example.org/docs/page.html';
const filler = '<p>This introduction is long enough to be taken as the main text of the page, with commas, and a full stop.</p>'.repeat(3);
const md = (content: string): string => extractPage(`<html><body><article>${filler}${content}</article></body></html>`, BASE).markdown;

describe('markdown rendering', () => {
  it('renders headings', () => {
    const out = md('<h2>Section</h2><p>x</p><h3>Sub <small>section</small></h3><p>y</p>');
    assert.match(out, /^## Section$/m);
    assert.match(out, /^### Sub section$/m);
  });

  it('renders unordered, ordered and nested lists', () => {
    const out = md('<ul><li>one</li><li>two<ul><li>two-a</li></ul></li></ul><ol start="3"><li>three</li><li>four</li></ol>');
    assert.match(out, /^- one\n- two\n {2}- two-a$/m);
    assert.match(out, /^3\. three\n4\. four$/m);
  });

  it('renders links as absolute URLs', () => {
    const out = md('<p>See <a href="../guide/intro.html">the guide</a> and <a href="https://x.example/a b">X</a>.</p>');
    assert.match(out, /See \[the guide\]\(https:\/\/example\.org\/guide\/intro\.html\) and \[X\]\(https:\/\/x\.example\/a%20b\)\./);
  });

  it('renders inline code and fenced code blocks with language', () => {
    const out = md('<p>Call <code>foo()</code> now.</p><pre><code class="language-js">const a = 1;\n  if (a) {\n    go();\n  }</code></pre>');
    assert.match(out, /Call `foo\(\)` now\./);
    assert.match(out, /```js\nconst a = 1;\n {2}if \(a\) \{\n {4}go\(\);\n {2}\}\n```/);
  });

  it('keeps code containing backtick fences intact', () => {
    const out = md('<pre>```\ninner\n```</pre>');
    assert.match(out, /````\n```\ninner\n```\n````/);
  });

  it('renders blockquotes', () => {
    const out = md('<blockquote><p>Quoted one.</p><p>Quoted two.</p></blockquote>');
    assert.match(out, /^> Quoted one\.\n>\n> Quoted two\.$/m);
  });

  it('renders data tables as GFM pipe tables', () => {
    const out = md('<table><thead><tr><th>Name</th><th>Value</th></tr></thead><tbody><tr><td>a|b</td><td>1</td></tr><tr><td>c</td></tr></tbody></table>');
    assert.match(out, /^\| Name \| Value \|\n\| --- \| --- \|\n\| a\\\|b \| 1 \|\n\| c \| {2}\|$/m);
  });

  it('renders layout tables as plain blocks', () => {
    const out = md('<table><tr><td><p>Left column text.</p></td><td><div>Right column text.</div></td></tr></table>');
    assert.doesNotMatch(out, /\|/);
    assert.match(out, /Left column text\.\n\nRight column text\./);
  });

  it('renders emphasis and escapes Markdown syntax in text', () => {
    const out = md('<p><strong>Bold</strong> and <em>it</em>, literally *stars* and [brackets]</p><p># not a heading</p>');
    assert.match(out, /\*\*Bold\*\* and \*it\*, literally \\\*stars\\\* and \\\[brackets\\\]/);
    assert.match(out, /^\\# not a heading$/m);
  });

  it('keeps plain text free of Markdown', () => {
    const r = extractPage(`<html><body><article>${filler}<h2>Head</h2><ul><li><a href="/x">item</a></li><li><b>two</b></li></ul></article></body></html>`, BASE);
    assert.match(r.text, /Head\n\nitem\ntwo$/);
    assert.doesNotMatch(r.text, /[#*[\]]/);
  });
});
