import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractPage } from '../../core/extraction/index.js';

const BASE = 'https://example.org/news/story.html';
const para = (n: number, word = 'content'): string =>
  Array.from({ length: n }, (_, i) => `<p>Paragraph ${i} of the ${word}, long enough to read like a real sentence in an article, with commas, clauses, and a full stop.</p>`).join('\n');

function page(body: string, head = ''): string {
  return `<!doctype html><html><head><title>Test page</title>${head}</head><body>${body}</body></html>`;
}

describe('container choice', () => {
  it('prefers itemprop=articleBody over a larger unmarked block', () => {
    const html = page(`<div class="x">${para(8, 'noise')}</div><div itemprop="articleBody">${para(3, 'story')}</div>`);
    const r = extractPage(html, BASE);
    assert.match(r.text, /of the story/);
    assert.doesNotMatch(r.text, /of the noise/);
  });

  it('uses <article>', () => {
    const html = page(`<div>${para(1, 'intro')}</div><article>${para(4, 'story')}</article>`);
    const r = extractPage(html, BASE);
    assert.match(r.text, /of the story/);
    assert.doesNotMatch(r.text, /of the intro/);
  });

  it('uses CMS body classes like entry-content', () => {
    const html = page(`<div class="box">${para(2, 'teaser')}</div><div class="entry-content">${para(3, 'story')}</div>`);
    const r = extractPage(html, BASE);
    assert.match(r.text, /of the story/);
    assert.doesNotMatch(r.text, /of the teaser/);
  });

  it('widens a marked body to its parent for the lead paragraph', () => {
    const html = page(`<div class="box">${para(3, 'teaser')}</div><div class="post"><h1>Headline</h1><p>The lead paragraph.</p><div class="entry-content">${para(3, 'story')}</div></div>`);
    const r = extractPage(html, BASE);
    assert.match(r.text, /^Headline\n\nThe lead paragraph\.\n\nParagraph 0 of the story/);
    assert.doesNotMatch(r.text, /of the teaser/);
  });

  it('falls back to text-density scoring without markers', () => {
    const links = Array.from({ length: 30 }, (_, i) => `<a href="/p${i}">Link number ${i}</a>`).join(' ');
    const html = page(`<div id="top">${links}</div><div id="x1"><div id="x2">${para(5, 'story')}</div></div><div id="bottom"><p>Short bit.</p></div>`);
    const r = extractPage(html, BASE);
    assert.match(r.text, /Paragraph 4 of the story/);
    assert.doesNotMatch(r.text, /Link number/);
  });
});

describe('boilerplate removal', () => {
  const cases: [string, string][] = [
    ['nav', '<nav>BOILER nav links</nav>'],
    ['header', '<header>BOILER header</header>'],
    ['footer', '<footer>BOILER footer</footer>'],
    ['aside', '<aside>BOILER aside</aside>'],
    ['share', '<div class="share-buttons">BOILER Share on Facebook</div>'],
    ['social', '<div class="social-links">BOILER Follow us</div>'],
    ['related', '<div class="related-posts"><p>BOILER Related story with quite a lot of words in it, to look like text.</p></div>'],
    ['newsletter', '<div id="newsletter-signup"><p>BOILER Subscribe to our newsletter for the best news every day.</p></div>'],
    ['cookie', '<div class="cookie-banner"><p>BOILER We use cookies to improve your experience on this site.</p></div>'],
    ['consent', '<div class="consent-layer">BOILER accept all</div>'],
    ['comments', '<section id="comments"><p>BOILER I totally disagree with this article, it is wrong, and here is why.</p></section>'],
    ['ads', '<div class="ad">BOILER advertisement</div><div class="advert-box">BOILER ad two</div>'],
    ['byline', '<p class="byline">BOILER By Jane Doe</p>'],
    ['date', '<div class="post-date">BOILER 12 May 2021</div>'],
    ['figcaption', '<figure><figcaption>BOILER Photo: Somebody / Agency</figcaption></figure>'],
    ['credit', '<span class="image-credit">BOILER Credit: Agency</span>'],
  ];
  for (const [name, snippet] of cases) {
    it(`drops ${name}`, () => {
      const html = page(`<article>${para(2, 'story')}${snippet}${para(2, 'story')}</article>`);
      const r = extractPage(html, BASE);
      assert.match(r.text, /Paragraph 1 of the story/);
      assert.doesNotMatch(r.text, /BOILER/, `${name} leaked: ${r.text}`);
    });
  }

  it('drops site navigation and footer outside the content', () => {
    const html = page(`<header><div class="logo">SITE LOGO</div><ul class="menu"><li><a href="/">Home</a></li></ul></header><main>${para(3)}</main><footer>Impressum</footer>`);
    const r = extractPage(html, BASE);
    assert.doesNotMatch(r.text, /SITE LOGO|Home|Impressum/);
    assert.match(r.text, /Paragraph 2/);
  });

  it('drops link lists inside the content', () => {
    const list = `<ul>${Array.from({ length: 6 }, (_, i) => `<li><a href="/r${i}">Read also story ${i}</a></li>`).join('')}</ul>`;
    const r = extractPage(page(`<article>${para(3)}${list}</article>`), BASE);
    assert.doesNotMatch(r.text, /Read also/);
    assert.match(r.text, /Paragraph 2/);
  });

  it('keeps a body-wide wrapper whose class merely mentions a sidebar', () => {
    const html = page(`<div class="layout-with-sidebar"><main>${para(3)}</main><div class="sidebar">SIDEBAR</div></div>`);
    const r = extractPage(html, BASE);
    assert.match(r.text, /Paragraph 2/);
    assert.doesNotMatch(r.text, /SIDEBAR/);
  });

  it('drops headings left without content (their section was boilerplate)', () => {
    const links = `<ul>${Array.from({ length: 4 }, (_, i) => `<li><a href="/r${i}">Story ${i}</a></li>`).join('')}</ul>`;
    const html = page(`<article><h1>Title</h1>${para(3)}<h2>Read more</h2>${links}<h2>Also</h2><div class="share">x</div></article>`);
    const r = extractPage(html, BASE);
    assert.match(r.text, /^Title\n/);
    assert.doesNotMatch(r.text, /Read more|Also/);
    assert.deepEqual(r.headings, [{ level: 1, text: 'Title' }]);
  });

  it('drops pseudo-headings whose section was skipped', () => {
    const links = `<ul>${Array.from({ length: 4 }, (_, i) => `<li><a href="/r${i}">Story ${i}</a></li>`).join('')}</ul>`;
    const html = page(`<article>${para(2)}<p><strong>Read more on this</strong></p>${links}${para(2, 'rest')}<p>Contact:</p></article>`);
    const r = extractPage(html, BASE);
    assert.doesNotMatch(r.text, /Read more on this|Contact:/);
    assert.match(r.text, /Paragraph 1 of the rest/);
  });
});

describe('hidden elements', () => {
  it('drops display:none, hidden and aria-hidden', () => {
    const html = page(`<article>${para(3)}<p style="display: none">HIDDEN one</p><p hidden>HIDDEN two</p><div aria-hidden="true">HIDDEN three</div><p style="visibility:hidden">HIDDEN four</p></article>`);
    const r = extractPage(html, BASE);
    assert.doesNotMatch(r.text, /HIDDEN/);
    assert.match(r.text, /Paragraph 2/);
  });

  it('drops scripts, styles and form controls', () => {
    const html = page(`<article>${para(3)}<script>var SCRIPTTEXT = 1;</script><style>.STYLETEXT{}</style><select><option>OPTIONTEXT</option></select></article>`);
    const r = extractPage(html, BASE);
    assert.doesNotMatch(r.text, /SCRIPTTEXT|STYLETEXT|OPTIONTEXT/);
  });
});

describe('separators', () => {
  it('never glues words across blocks or <br>', () => {
    const html = page(`<article>${para(3)}<div>alpha</div><div>beta</div><p>gamma<br>delta</p><ul><li>epsilon</li><li>zeta</li></ul><table><tr><td>eta</td><td>theta</td></tr><tr><td>iota</td><td>kappa</td></tr></table><h2>lambda</h2>mu</article>`);
    const r = extractPage(html, BASE);
    for (const glued of ['alphabeta', 'gammadelta', 'epsilonzeta', 'etatheta', 'thetaiota', 'lambdamu']) {
      assert.ok(!r.text.includes(glued), `${glued} in ${r.text}`);
      assert.ok(!r.markdown.includes(glued), `${glued} in markdown`);
    }
    assert.match(r.text, /alpha\n\nbeta/);
    assert.match(r.text, /gamma\ndelta/);
  });

  it('normalises whitespace and separates paragraphs with blank lines', () => {
    const r = extractPage(page(`<article><p>One   two\n\tthree.</p>${para(3)}</article>`), BASE);
    assert.match(r.text, /^One two three\.\n\nParagraph 0/);
    assert.doesNotMatch(r.text, /\n{3,}| {2,}/);
  });
});

describe('fallback for short results', () => {
  it('widens the selection when the marked container is nearly empty', () => {
    const html = page(`<article><p>Tiny.</p></article><div class="col">${para(4, 'real text')}</div>`);
    const r = extractPage(html, BASE);
    assert.match(r.text, /of the real text/);
  });

  it('returns visible text even when everything looks like boilerplate', () => {
    const html = page('<div class="sidebar"><p>The only text on this page.</p></div>');
    const r = extractPage(html, BASE);
    assert.match(r.text, /The only text on this page\./);
  });

  it('returns empty text for an empty body', () => {
    const r = extractPage(page(''), BASE);
    assert.equal(r.text, '');
    assert.equal(r.markdown, '');
  });
});

describe('metadata', () => {
  it('reads title, meta tags, lang and canonical', () => {
    const head = `<meta name="description" content="  A   description. "><meta property="og:site_name" content="Example News">
      <meta name="author" content="Jane Doe"><meta property="article:published_time" content="2021-05-12T10:00:00Z">
      <link rel="canonical" href="/news/story">`;
    const html = `<html lang="de-DE"><head><title>Plain title | Example</title>${head}</head><body><article>${para(3)}</article></body></html>`;
    const r = extractPage(html, BASE);
    assert.equal(r.title, 'Plain title | Example');
    assert.equal(r.description, 'A description.');
    assert.equal(r.language, 'de-DE');
    assert.equal(r.canonicalUrl, 'https://example.org/news/story');
    assert.equal(r.siteName, 'Example News');
    assert.equal(r.author, 'Jane Doe');
    assert.equal(r.publishedAt, '2021-05-12T10:00:00Z');
  });

  it('prefers og:title and falls back to JSON-LD', () => {
    const ld = JSON.stringify({
      '@context': 'https://schema.org',
      '@graph': [
        { '@type': 'WebSite', name: 'Site from graph' },
        { '@type': 'NewsArticle', headline: 'LD headline', author: [{ '@type': 'Person', name: 'Ann Author' }], datePublished: '2020-01-02', publisher: { '@type': 'Organization', name: 'LD Publisher' } },
      ],
    });
    const html = page(`<article>${para(3)}</article>`, `<script type="application/ld+json">${ld}</script><script type="application/ld+json">{broken</script>`);
    const r = extractPage(html, BASE);
    // JSON-LD headline is preferred to <title>, which usually carries the site name.
    assert.equal(r.title, 'LD headline');
    assert.equal(r.author, 'Ann Author');
    assert.equal(r.publishedAt, '2020-01-02');
    assert.equal(r.siteName, 'LD Publisher');
    const r2 = extractPage(html.replace('<title>Test page</title>', '<meta property="og:title" content="OG title">'), BASE);
    assert.equal(r2.title, 'OG title');
    const r3 = extractPage(page(`<article>${para(3)}</article>`), BASE);
    assert.equal(r3.title, 'Test page');
    assert.equal(r3.author, null);
    assert.equal(r3.publishedAt, null);
  });

  it('collects all page links as absolute URLs, deduplicated, without fragments', () => {
    const html = page(`<nav><a href="/a">A</a><a href="/a#top">A again</a></nav><article>${para(3)}<a href="b.html">B</a><a href="mailto:x@y.z">mail</a><a href="javascript:void(0)">js</a><a href="https://other.example/c?q=1#frag">C</a></article>`);
    const r = extractPage(html, BASE);
    assert.deepEqual(r.links, ['https://example.org/a', 'https://example.org/news/b.html', 'https://other.example/c?q=1']);
  });

  it('honours <base href>', () => {
    const html = page(`<article>${para(3)}<p><a href="x">x</a></p></article>`, '<base href="https://cdn.example.net/root/">');
    assert.deepEqual(extractPage(html, BASE).links, ['https://cdn.example.net/root/x']);
  });

  it('lists headings of the content', () => {
    const r = extractPage(page(`<article><h1>Main title</h1>${para(2)}<h2>Part <em>two</em></h2>${para(2)}</article>`), BASE);
    assert.deepEqual(r.headings, [
      { level: 1, text: 'Main title' },
      { level: 2, text: 'Part two' },
    ]);
  });
});
