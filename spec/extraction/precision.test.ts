import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractPage } from '../../core/extraction/index.js';

const BASE = 'https://example.org/news/story.html';
const para = (n: number, word = 'content'): string =>
  Array.from({ length: n }, (_, i) => `<p>Paragraph ${i} of the ${word}, long enough to read like a real sentence in an article, with commas, clauses, and a full stop.</p>`).join('\n');
const page = (body: string): string => `<!doctype html><html><head><title>Test page</title></head><body>${body}</body></html>`;

describe('calls to action inside the article body', () => {
  it('drops short newsletter, subscription and follow prompts and "more on this" titles', () => {
    const html = page(`<article>${para(2)}<p>Never miss the latest news by signing up to our newsletter.</p><p><em>Abonnieren Sie jetzt unser Digital-Abo und sichern Sie sich Vorteile!</em></p>
      ${para(1, 'middle')}<h3>Mehr zum Thema</h3><p><strong>Lesen Sie auch:</strong></p><p>Síguenos en Telegram, Instagram y Twitter.</p>${para(2, 'end')}</article>`);
    const r = extractPage(html, BASE);
    assert.match(r.text, /Paragraph 1 of the end/);
    assert.doesNotMatch(r.text, /newsletter|Abonnieren|Mehr zum Thema|Lesen Sie auch|Síguenos/);
  });

  it('drops them inside lists too (share and follow rows), keeping the list', () => {
    const html = page(`<article>${para(3)}<ul><li>First real point of the list.</li><li>Second real point of the list.</li><li>Follow us on Telegram</li></ul>${para(1, 'end')}</article>`);
    const r = extractPage(html, BASE);
    assert.match(r.text, /First real point of the list\.\nSecond real point of the list\./);
    assert.doesNotMatch(r.text, /Follow us/);
  });

  it('keeps long paragraphs and headings that merely mention such words', () => {
    const long = 'The council said the newsletter it sends to residents will from now on explain every decision, with the reasons, the costs and the votes, so that nobody needs to subscribe to anything else.';
    const html = page(`<article>${para(2)}<p>${long}</p><h2>Why residents subscribe to the council's newsletter in ever larger numbers</h2>${para(2, 'end')}</article>`);
    const r = extractPage(html, BASE);
    assert.match(r.text, /The council said the newsletter/);
    assert.match(r.text, /Why residents subscribe/);
  });
});

describe('a broad content column around the article', () => {
  it('takes the scored article inside a <main> column that also holds teasers', () => {
    const teasers = Array.from({ length: 2 }, (_, i) => `<div class="box"><h3>Teaser ${i}</h3><p>Teaser text number ${i}, a short one.</p></div>`).join('');
    const html = page(`<main><div class="x1">${teasers}</div><div class="x2">${para(6, 'story')}</div><div class="x3">${teasers}</div></main>`);
    const r = extractPage(html, BASE);
    assert.match(r.text, /Paragraph 5 of the story/);
    assert.doesNotMatch(r.text, /Teaser text/);
  });
});
