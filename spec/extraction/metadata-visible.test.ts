// Author and publication date from what the page shows (microdata, rel=author, bylines, <time pubdate>)
// when neither <meta> tags nor JSON-LD state them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractPage } from '../../core/extraction/index.js';

const BASE = 'https://example.org/blog/post.html';
const body = '<p>A paragraph of the post, long enough to read like a real sentence in an article, with commas, clauses, and a full stop.</p>'.repeat(3);
const page = (inner: string, head = '<title>A post</title>'): string => `<!doctype html><html><head>${head}</head><body>${inner}</body></html>`;

describe('visible author and date', () => {
  it('reads microdata: itemprop=author with its itemprop=name, and a datePublished datetime', () => {
    const html = page(`<article><h1>Post</h1><p class="meta"><span itemprop="author" itemscope><span class="label">Author</span> <span itemprop="name">Jane Doe</span></span> · <time itemprop="datePublished" datetime="2021-03-04T10:00:00Z">4 March 2021</time></p>${body}</article>`);
    const r = extractPage(html, BASE);
    assert.equal(r.author, 'Jane Doe');
    assert.equal(r.publishedAt, '2021-03-04T10:00:00Z');
  });

  it('reads a rel=author link without its "View all posts by" wording, and skips a theme credit in the footer', () => {
    const html = page(`<article><h1>Post</h1><span class="byline"><a rel="author" href="/author/dl">View all posts by Daniel Lemire</a></span>${body}</article><footer>Theme by <a rel="author" href="https://themes.example">ThemeMaker</a></footer>`);
    assert.equal(extractPage(html, BASE).author, 'Daniel Lemire');
    const credit = page(`<article><h1>Post</h1>${body}</article><footer>Theme by <a rel="author" href="https://themes.example">ThemeMaker</a></footer>`);
    assert.equal(extractPage(credit, BASE).author, null);
  });

  it('takes a byline that is only a name after "By", element boundaries read as spaces, but not a byline sentence', () => {
    const html = page(`<article><h1>Post</h1><div class="article-byline">By <b>Ann</b><b>Other</b></div>${body}</article>`);
    assert.equal(extractPage(html, BASE).author, 'Ann Other');
    const sentence = page(`<article><h1>Post</h1><div class="byline">by the editors of this site, who checked every claim twice</div>${body}</article>`);
    assert.equal(extractPage(sentence, BASE).author, null);
  });

  it('prefers the marked publication date to the first <time> on the page, and <meta> to both', () => {
    const html = page(`<aside><time datetime="2020-01-01">Sidebar date</time></aside><article><h1>Post</h1><time pubdate datetime="2022-05-06">6 May 2022</time>${body}</article>`);
    assert.equal(extractPage(html, BASE).publishedAt, '2022-05-06');
    const meta = page(`<article><time pubdate datetime="2022-05-06">6 May 2022</time>${body}</article>`, '<title>A post</title><meta property="article:published_time" content="2022-05-01">');
    assert.equal(extractPage(meta, BASE).publishedAt, '2022-05-01');
  });

  it('falls back to the text of a marked date only when it holds a year', () => {
    const html = page(`<article><h1>Post</h1><span itemprop="datePublished">28. Dezember 2022</span>${body}</article>`);
    assert.equal(extractPage(html, BASE).publishedAt, '28. Dezember 2022');
    const timeOnly = page(`<article><h1>Post</h1><span itemprop="datePublished">10:52</span>${body}</article>`);
    assert.equal(extractPage(timeOnly, BASE).publishedAt, null);
  });
});
