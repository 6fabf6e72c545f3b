// URL identity for crawling: normalisation, sites, non-HTML extensions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanUrl, hasNonHtmlExtension, normalizeUrl, sameSite, siteOf } from '../../worker/pipeline/crawl/urls.js';

describe('normalizeUrl', () => {
  const cases: [string, string | null, string?][] = [
    // [input, expected, why]
    ['https://example.com/', 'https://example.com/', 'root keeps its slash'],
    ['https://example.com', 'https://example.com/', 'empty path is the root'],
    ['HTTPS://Example.COM/About', 'https://example.com/About', 'scheme and host lower-cased, path case kept'],
    ['https://example.com:443/a', 'https://example.com/a', 'default https port dropped'],
    ['http://example.com:80/a', 'http://example.com/a', 'default http port dropped'],
    ['http://example.com:8080/a', 'http://example.com:8080/a', 'other ports kept'],
    ['https://example.com/a/', 'https://example.com/a', 'trailing slash stripped'],
    ['https://example.com/a///', 'https://example.com/a', 'several trailing slashes stripped'],
    ['https://example.com/a/b/../c/./d', 'https://example.com/a/c/d', 'dot segments resolved'],
    ['https://example.com/a#section', 'https://example.com/a', 'fragment dropped'],
    ['https://example.com/#top', 'https://example.com/', 'fragment on the root dropped'],
    ['https://example.com/a?b=2&a=1', 'https://example.com/a?b=2&a=1', 'query order kept'],
    ['https://example.com/a?utm_source=x&id=3&utm_medium=y', 'https://example.com/a?id=3', 'utm_* dropped'],
    ['https://example.com/a?fbclid=abc', 'https://example.com/a', 'fbclid dropped with the question mark'],
    ['https://example.com/a?gclid=1&UTM_Campaign=2', 'https://example.com/a', 'tracking names are case-insensitive'],
    ['https://example.com/a?', 'https://example.com/a', 'empty query dropped'],
    ['https://example.com/a?utm=1', 'https://example.com/a?utm=1', 'only utm_ prefixed names are tracking'],
    ['https://example.com/caf%c3%a9', 'https://example.com/caf%C3%A9', 'escapes upper-cased'],
    ['https://example.com/café', 'https://example.com/caf%C3%A9', 'non-ASCII encoded'],
    ['https://example.com/%7Euser/%41', 'https://example.com/~user/A', 'escaped unreserved characters decoded'],
    ['https://example.com/a%2Fb', 'https://example.com/a%2Fb', 'an escaped slash stays escaped'],
    ['https://example.com./a', 'https://example.com/a', 'trailing dot of the host dropped'],
    ['https://bücher.example/', 'https://xn--bcher-kva.example/', 'IDN punycoded'],
    ['ftp://example.com/a', null, 'only http and https'],
    ['mailto:someone@example.com', null, 'not a web URL'],
    ['javascript:alert(1)', null, 'not a web URL'],
    ['https://user:pw@example.com/', null, 'credentials are refused'],
    ['not a url', null, 'garbage'],
  ];
  for (const [input, expected, why] of cases) {
    it(`${why}: ${input}`, () => assert.equal(normalizeUrl(input), expected));
  }

  it('resolves relative links against a base', () => {
    assert.equal(normalizeUrl('../pricing/#plans', 'https://example.com/docs/intro'), 'https://example.com/pricing');
    assert.equal(normalizeUrl('?page=2', 'https://example.com/blog/'), 'https://example.com/blog?page=2');
  });

  it('makes the spellings of one page equal', () => {
    const spellings = ['https://Example.com/pricing', 'https://example.com:443/pricing/', 'https://example.com/pricing#enterprise', 'https://example.com/x/../pricing?utm_source=mail'];
    assert.equal(new Set(spellings.map((s) => normalizeUrl(s))).size, 1);
  });
});

describe('cleanUrl', () => {
  it('drops the fragment and tracking parameters but keeps the trailing slash', () => {
    assert.equal(cleanUrl('https://example.com/blog/?utm_source=x#top'), 'https://example.com/blog/');
    assert.equal(cleanUrl('/docs/?v=2&fbclid=1', 'https://example.com/'), 'https://example.com/docs/?v=2');
    assert.equal(cleanUrl('mailto:a@b.c'), null);
  });
});

describe('sites', () => {
  const cases: [string, string, boolean][] = [
    ['https://example.com/a', 'https://example.com/b', true],
    ['https://www.example.com/a', 'https://example.com/b', true],
    ['http://example.com/a', 'https://www.example.com/b', true],
    ['https://blog.example.com/', 'https://example.com/', false],
    ['https://example.org/', 'https://example.com/', false],
    ['http://127.0.0.1:8080/', 'http://127.0.0.1:8081/', false],
    ['http://127.0.0.1:8080/a', 'http://127.0.0.1:8080/b', true],
    ['https://example.com:443/', 'http://example.com/', true],
  ];
  for (const [a, b, same] of cases) {
    it(`${a} and ${b} are ${same ? 'one site' : 'different sites'}`, () => assert.equal(sameSite(a, b), same));
  }
  it('names a site by its host without www and a non-default port', () => {
    assert.equal(siteOf('https://WWW.Example.com/x'), 'example.com');
    assert.equal(siteOf('http://127.0.0.1:8080/'), '127.0.0.1:8080');
    assert.equal(siteOf('mailto:x@y.z'), null);
  });
});

describe('hasNonHtmlExtension', () => {
  const cases: [string, boolean][] = [
    ['https://example.com/brochure.pdf', true],
    ['https://example.com/img/Logo.PNG', true],
    ['https://example.com/files/archive.tar.gz', true],
    ['https://example.com/feed.xml', true],
    ['https://example.com/page.html', false],
    ['https://example.com/page.php?id=1', false],
    ['https://example.com/docs/v1.2/intro', false],
    ['https://example.com/media/photo', false],
    ['https://example.com/.well-known', false],
    ['https://example.com/', false],
  ];
  for (const [url, expected] of cases) it(url, () => assert.equal(hasNonHtmlExtension(url), expected));
});
