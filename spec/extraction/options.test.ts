import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractPage } from '../../core/extraction/index.js';

const BASE = 'https://example.org/news/story.html';
const para = (n: number, word = 'content'): string =>
  Array.from({ length: n }, (_, i) => `<p>Paragraph ${i} of the ${word}, long enough to read like a real sentence in an article, with commas, clauses, and a full stop.</p>`).join('\n');
const page = (body: string, head = ''): string => `<!doctype html><html><head><title>Test page</title>${head}</head><body>${body}</body></html>`;
// As pages write it: "</" escaped so that markup inside a string cannot end the script element.
const ld = (obj: unknown): string => `<script type="application/ld+json">${JSON.stringify(obj).replace(/<\//g, '<\\/')}</script>`;

const comments = `<div id="comments" class="comments-area"><h3>2 Kommentare</h3><ol class="comment-list">
  <li class="comment"><div class="comment-author">Ann</div><div class="comment-content"><p>First reader comment: I liked this article a lot, thanks for writing it.</p></div><a class="comment-reply-link" href="#r">Reply</a></li>
  <li class="comment"><div class="comment-content"><p>Second reader comment, disagreeing politely with the main point made above.</p></div></li>
</ol><form id="commentform" class="comment-form"><label>Leave a reply</label><textarea></textarea></form></div>`;

describe('JSON-LD articleBody', () => {
  it('is used when the markup shows much less than the data holds', () => {
    const body = 'First paragraph of the scripted article, with enough words to count as real prose here.\n\nSecond paragraph of the scripted article, also long enough, and with commas, too.\nA line of the second paragraph.';
    const html = page('<div id="app"><h1>Scripted story</h1><p>Loading the article…</p></div>', ld({ '@type': 'NewsArticle', headline: 'Scripted story', articleBody: body }));
    const r = extractPage(html, BASE);
    assert.match(r.text, /First paragraph of the scripted article/);
    assert.match(r.text, /Second paragraph of the scripted article, also long enough, and with commas, too\.\nA line of the second paragraph\./);
    assert.match(r.markdown, /scripted article, with enough words to count as real prose here\.\n\nSecond paragraph/);
  });

  it('keeps the lead the markup showed in front of the data, and parses markup inside the string without running it', () => {
    const body = `<p>Body paragraph one &amp; more, from the data, long enough to be an article.</p><script>window.bad = 1</script><p>${'Body paragraph two from the data, with words. '.repeat(4)}</p>`;
    const html = page('<div class="teaser"><p>The lead only shown in the markup.</p></div>', ld({ '@graph': [{ '@type': 'WebSite', name: 'Site' }, { '@type': 'Article', articleBody: body }] }));
    const r = extractPage(html, BASE);
    assert.match(r.text, /^The lead only shown in the markup\.\n\nBody paragraph one & more/);
    assert.doesNotMatch(r.text, /window\.bad/);
  });

  it('is not used when the markup already holds the article', () => {
    const html = page(`<article>${para(4, 'markup')}</article>`, ld({ '@type': 'Article', articleBody: 'A short summary of the markup article.' }));
    const r = extractPage(html, BASE);
    assert.match(r.text, /Paragraph 3 of the markup/);
    assert.doesNotMatch(r.text, /A short summary/);
  });
});

describe('comments option', () => {
  const html = page(`<article>${para(3, 'story')}</article>${comments}`);

  it('leaves comments out of an article by default', () => {
    const r = extractPage(html, BASE);
    assert.match(r.text, /Paragraph 2 of the story/);
    assert.doesNotMatch(r.text, /reader comment/);
  });

  it('appends the thread after the article with includeComments, without reply forms', () => {
    const r = extractPage(html, BASE, { includeComments: true });
    assert.match(r.text, /Paragraph 2 of the story[\s\S]*First reader comment[\s\S]*Second reader comment/);
    assert.doesNotMatch(r.text, /Leave a reply/);
    assert.equal(extractPage(html, BASE, { includeComments: false }).text, extractPage(html, BASE).text);
  });

  it('keeps the thread on a page that declares itself a discussion', () => {
    const forum = page(`<div class="thread-start"><h1>Question about cats</h1>${para(2, 'opening post')}</div>${comments}`, ld({ '@type': 'DiscussionForumPosting', headline: 'Question about cats' }));
    const r = extractPage(forum, BASE);
    assert.match(r.text, /opening post[\s\S]*First reader comment/);
    assert.doesNotMatch(extractPage(forum, BASE, { includeComments: false }).text, /reader comment/);
  });

  it('keeps the thread when it is all the page has', () => {
    const r = extractPage(page(`<nav><a href="/a">Home page link</a> <a href="/b">Another section</a></nav><h1>Thread</h1>${comments}`), BASE);
    assert.match(r.text, /First reader comment[\s\S]*Second reader comment/);
    assert.doesNotMatch(r.text, /Home page link|Leave a reply/);
  });
});

describe('threads of posts', () => {
  it('keeps every post of a thread of same-class <article>s, in order', () => {
    const post = (i: number, n: number): string => `<article class="message message--post"><div class="bbWrapper">${para(n, `post ${i}`)}</div></article>`;
    const r = extractPage(page(`<div class="block-body">${post(1, 3)}${post(2, 1)}${post(3, 1)}${post(4, 1)}</div><div class="sidebar">${para(1, 'sidebar')}</div>`), BASE);
    assert.match(r.text, /of the post 1[\s\S]*of the post 2[\s\S]*of the post 3[\s\S]*of the post 4/);
    assert.doesNotMatch(r.text, /sidebar/);
  });
});

describe('paywall class names', () => {
  it('keeps an article whose wrapper is classed paywall-on, drops a short paywall prompt', () => {
    const r = extractPage(page(`<article class="node article paywall-on">${para(3, 'story')}</article><div class="paywall-prompt"><p>Subscribe to read more.</p></div><div class="more">${para(5, 'other')}</div>`), BASE);
    assert.match(r.text, /Paragraph 2 of the story/);
    assert.doesNotMatch(r.text, /Subscribe to read/);
  });
});

describe('images option', () => {
  const html = page(`<article>${para(2, 'story')}<figure><img src="/img/a.jpg" alt="A [cat]"><figcaption>Caption: a cat</figcaption></figure>
    <p>Inline <img data-src="https://cdn.example.org/b.png" src="data:image/gif;base64,R0lGOD" alt="b"> image and <a href="/x"><img src="c.png" alt=""></a> a linked one.</p>
    <img src="/pixel.gif" width="1" height="1" alt="tracker"><img src="javascript:alert(1)" alt="bad">${para(1, 'rest')}</article>`);

  it('are left out of the Markdown by default', () => {
    const r = extractPage(html, BASE);
    assert.doesNotMatch(r.markdown, /!\[/);
  });

  it('are kept as ![alt](absolute src) with includeImages, lazy sources first, trackers and non-http sources dropped', () => {
    const r = extractPage(html, BASE, { includeImages: true });
    assert.match(r.markdown, /^!\[A \\\[cat\\\]\]\(https:\/\/example\.org\/img\/a\.jpg\)$/m);
    assert.match(r.markdown, /Inline !\[b\]\(https:\/\/cdn\.example\.org\/b\.png\) image and !\[\]\(https:\/\/example\.org\/news\/c\.png\) a linked one\./);
    assert.doesNotMatch(r.markdown, /pixel|tracker|javascript|data:/);
    // Plain text never carries image references, and stays as without the option.
    assert.equal(r.text, extractPage(html, BASE).text);
  });
});

describe('JSON-LD articleBody guards', () => {
  it('renders deeply nested markup inside articleBody as plain paragraphs instead of overflowing the stack', () => {
    const deep = `${'<div>'.repeat(5000)}Deep article text inside many wrappers, long enough to be taken as the article body.${'</div>'.repeat(5000)}`;
    const html = page('<p>Loading…</p>', ld({ '@type': 'Article', articleBody: deep }));
    const r = extractPage(html, BASE);
    assert.match(r.text, /Deep article text inside many wrappers/);
  });
});
