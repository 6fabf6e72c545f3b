// Rules added while raising development-set F to 0.94 (issue #20): each case is the general
// pattern a rule handles, written by hand (no development-set page is copied here).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractPage } from '../../core/extraction/index.js';

const BASE = 'https://example.org/news/story.html';
const para = (n: number, word = 'content'): string =>
  Array.from({ length: n }, (_, i) => `<p>Paragraph ${i} of the ${word}, long enough to read like a real sentence in an article, with commas, clauses, and a full stop.</p>`).join('\n');
const page = (body: string, head = '<title>A title</title>'): string => `<!doctype html><html><head>${head}</head><body>${body}</body></html>`;

describe('leads outside the article body', () => {
  it('keeps a standfirst that the template puts in the header above the body, in front of it', () => {
    const html = page(`<nav><a href="/">Home</a></nav><div class="container"><div class="hero"><h1>The title</h1><p class="hero-text">The standfirst sums up the whole story in one sentence before the body starts.</p></div><div class="row"><div class="col-9"><div class="entry-content">${para(4)}</div></div><div class="col-3"><ul>${Array.from({ length: 8 }, (_, i) => `<li><a href="/s${i}">Another story on this site, number ${i}</a></li>`).join('')}</ul></div></div></div><footer>Imprint</footer>`);
    const r = extractPage(html, BASE);
    assert.match(r.text, /The standfirst sums up the whole story in one sentence before the body starts\.\n\nParagraph 0 of the content/);
    assert.match(r.text, /Paragraph 3 of the content/);
  });

  it('leaves out a link list named like a teaser', () => {
    const html = page(`<div class="container"><div class="top"><div class="teaser"><a href="/x">A teaser link to another story on this site</a> <a href="/y">And one more teaser link elsewhere</a></div></div><div class="row"><div class="col-9"><div class="entry-content">${para(4)}</div></div><div class="col-3"><p>Opening hours of the office, every weekday from nine to five, closed on holidays.</p></div></div></div>`);
    const r = extractPage(html, BASE);
    assert.doesNotMatch(r.text, /teaser link/);
    assert.match(r.text, /^Paragraph 0 of the content/);
  });
});

describe('furniture inside the article container', () => {
  it('does not take a related-posts box for the article body because its class also says "post-content"', () => {
    const related = `<div class="rp4wp-related-posts"><ul>${Array.from({ length: 3 }, (_, i) => `<li><a href="/r${i}">Related story ${i}</a><div class="rp4wp-related-post-content"><p>Excerpt of related story ${i}, a sentence that runs long enough to count as prose for the scorer.</p></div></li>`).join('')}</ul></div>`;
    const html = page(`<article class="post"><h1>Story</h1>${para(4)}${related}</article>`);
    const r = extractPage(html, BASE);
    assert.match(r.text, /Paragraph 3 of the content/);
    assert.doesNotMatch(r.text, /Excerpt of related story/);
  });

  it('drops image descriptions and legends, photo sources and a table of contents by their class names', () => {
    const html = page(`<article>${para(2)}<div class="ez-toc-container"><p class="ez-toc-title">Contents of this page</p></div><div class="image"><p class="imagedescription">AFP / A PHOTOGRAPHER</p><div class="image-source">Source: Photo Agency</div></div><div class="image-right"><div class="legend"><div class="content">The stag beetle lives in old oak woods, which the plan for open forests protects across the whole canton as well.</div></div></div>${para(2, 'rest')}</article>`);
    const r = extractPage(html, BASE);
    assert.doesNotMatch(r.text, /Contents of this page|A PHOTOGRAPHER|Photo Agency|stag beetle/);
    assert.match(r.text, /Paragraph 1 of the rest/);
  });

  it('drops a credit set inline (<em class="copyright">) but keeps emphasis in sentences', () => {
    const html = page(`<article>${para(2)}<div class="picture"><em class="copyright">Press Office | Jane Photographer</em></div><p>This sentence has <em class="highlight">emphasis</em> that stays.</p>${para(2, 'rest')}</article>`);
    const r = extractPage(html, BASE);
    assert.doesNotMatch(r.text, /Jane Photographer/);
    assert.match(r.text, /This sentence has emphasis that stays\./);
  });

  it('drops short calls to support the site, to write to the editor, to share, and "about the author" titles', () => {
    const html = page(`<article>${para(3)}<p>If you enjoyed reading this post, would you consider supporting our work?</p><p>Submit your letter to the editor via this form.</p><p>Diesen Artikel teilen</p><h3>About the author</h3><p>Jane writes about science.</p></article>`);
    const r = extractPage(html, BASE);
    assert.doesNotMatch(r.text, /supporting our work|letter to the editor|Artikel teilen|About the author/);
    assert.match(r.text, /Paragraph 2 of the content/);
  });
});

describe('choosing the container', () => {
  it('prefers a scored article elsewhere on the page over a "content" box of teasers with far less prose', () => {
    const teasers = Array.from({ length: 8 }, (_, i) => `<div><a href="/t${i}">Teaser headline number ${i}</a><span>A kicker line under teaser ${i}, not a link</span></div>`).join('');
    const html = page(`<div class="layout"><div class="content"><h2>Latest news</h2>${teasers}</div><div class="nota"><div class="nota-body">${para(8)}</div></div></div>`);
    const r = extractPage(html, BASE);
    assert.match(r.text, /Paragraph 7 of the content/);
    assert.doesNotMatch(r.text, /kicker line/);
  });
});

describe('ruby annotations', () => {
  it('leaves out the readings (<rt>, <rp>) so the base text reads as one run', () => {
    const html = page(`<article><p><ruby>漢字<rp>(</rp><rt>かんじ</rt><rp>)</rp></ruby>を読む練習をしています。${'これは記事の本文です。'.repeat(20)}</p></article>`);
    const r = extractPage(html, BASE);
    assert.match(r.text, /^漢字を読む練習をしています。/);
    assert.doesNotMatch(r.text, /かんじ/);
  });
});

describe('article parts and datelines', () => {
  it('keeps the body that follows a titled lead box inside the same <article>', () => {
    const html = page(`<main><article><div class="article-content"><h2>Atoms and gas are not sustainable</h2><p>The lead paragraph says what the office thinks of the proposal, in a sentence or two that run long enough to count as prose here. It goes on to name the reasons, the deadlines, the people involved, and what happens next in the process.</p></div><div class="row"><div class="meta">25.01.2022</div><div class="article-content"><h3>Atoms</h3>${para(5)}</div></div></article><aside><div class="article-content"><h3>Other news</h3><p>A different story in the side column with enough words to count as text for the candidate test.</p></div></aside></main>`, '<title>Atoms and gas are not sustainable | Office</title>');
    const r = extractPage(html, BASE);
    assert.match(r.text, /The lead paragraph says/);
    assert.match(r.text, /Paragraph 4 of the content/);
    assert.doesNotMatch(r.text, /A different story/);
  });

  it('drops labelled datelines ("Aktualisiert am 12.01.2021", "Published: 3 May 2020") but keeps sentences with dates', () => {
    const html = page(`<article>${para(2)}<p>Aktualisiert am 12.01.2021</p><p>Published: 3 May 2020</p><p>On 3 May 2020 the council met again.</p>${para(2, 'rest')}</article>`);
    const r = extractPage(html, BASE);
    assert.doesNotMatch(r.text, /Aktualisiert|Published:/);
    assert.match(r.text, /On 3 May 2020 the council met again\./);
  });
});

describe('teasers inside the article container', () => {
  it('drops a box whose heading is a link to another page with a short blurb, but keeps sections headed by an anchor or a permalink', () => {
    const teaser = `<div class="box"><h3><a href="/other-story.html">Another story on this site</a></h3><p>A short blurb that makes you want to read the other story, in a sentence.</p></div>`;
    const anchored = `<div class="step"><h3><a name="steps">Steps</a></h3><p>Heat the milk with the oats and let it simmer for two minutes before serving it warm.</p></div>`;
    const permalink = `<div class="post"><h2><a href="${BASE}">This very story</a></h2><p>The post itself begins here with a sentence that belongs to the story on this page.</p></div>`;
    const html = page(`<article>${para(3)}${teaser}${anchored}${permalink}${para(2, 'rest')}</article>`);
    const r = extractPage(html, BASE);
    assert.doesNotMatch(r.text, /Another story on this site|A short blurb/);
    assert.match(r.text, /Heat the milk with the oats/);
    assert.match(r.text, /The post itself begins here/);
    assert.match(r.text, /Paragraph 1 of the rest/);
  });
});
