// includePatterns / excludePatterns: globs over URL paths.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createUrlFilter, matchesGlob } from '../../worker/pipeline/crawl/patterns.js';

describe('matchesGlob', () => {
  const cases: [pattern: string, path: string, expected: boolean][] = [
    // literal
    ['/pricing', '/pricing', true],
    ['/pricing', '/pricing/', true],
    ['/pricing', '/pricing/enterprise', false],
    ['/Pricing', '/pricing', false], // paths are case-sensitive
    ['pricing', '/pricing', true], // the leading slash is implied
    ['/', '/', true],
    ['/', '/about', false],
    // * within one segment
    ['/blog/*', '/blog/first-post', true],
    ['/blog/*', '/blog/2024/first-post', false],
    ['/blog/*', '/blog', false],
    ['/blog/*', '/blog/', false],
    ['/blog/post-*', '/blog/post-12', true],
    ['/blog/post-*', '/blog/draft-12', false],
    ['/*/reference', '/docs/reference', true],
    ['/*/reference', '/docs/api/reference', false],
    ['/docs/*.html', '/docs/intro.html', true],
    ['/docs/*.html', '/docs/intro.htm', false],
    ['/*', '/about', true],
    ['/*', '/', false],
    ['/a*b', '/a/b', false], // * never crosses a slash
    // ** at the end: any depth, zero included
    ['/docs/**', '/docs', true],
    ['/docs/**', '/docs/', true],
    ['/docs/**', '/docs/getting-started', true],
    ['/docs/**', '/docs/api/v2/reference', true],
    ['/docs/**', '/documentation', false],
    ['/docs/**', '/blog/docs', false],
    // ** at the start
    ['/**/reference', '/reference', true],
    ['/**/reference', '/docs/reference', true],
    ['/**/reference', '/docs/api/reference', true],
    ['/**/reference', '/docs/api/reference/v2', false],
    ['**/*.html', '/a/b/c.html', true],
    // ** in the middle
    ['/docs/**/auth', '/docs/auth', true],
    ['/docs/**/auth', '/docs/api/auth', true],
    ['/docs/**/auth', '/docs/api/v2/auth', true],
    ['/docs/**/auth', '/docs/api/authentication', false],
    ['/docs/**/api/**', '/docs/v1/api/auth', true],
    ['/docs/**/**/x', '/docs/x', true],
    // everything
    ['/**', '/', true],
    ['/**', '/a/b/c', true],
    ['**', '/anything/at/all', true],
    // "**" inside a segment is just "*"
    ['/blog/**-draft', '/blog/my-draft', true],
    ['/blog/**-draft', '/blog/a/b-draft', false],
    // encoded characters: patterns and paths are compared decoded
    ['/docs/café', '/docs/caf%C3%A9', true],
    ['/docs/caf%C3%A9', '/docs/café', true],
    ['/docs/caf%c3%a9', '/docs/caf%C3%A9', true],
    ['/files/a b', '/files/a%20b', true],
    ['/files/*', '/files/a%2Fb', true], // an escaped slash is not a separator
    ['/100%', '/100%', true], // a stray % is literal
    // regex characters are literal
    ['/a.b', '/axb', false],
    ['/a+(b)', '/a+(b)', true],
    ['/search?q=*', '/search', false],
    // a full URL pattern means its path
    ['https://example.com/docs/**', '/docs/x', true],
  ];
  for (const [pattern, path, expected] of cases) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${path}`, () => assert.equal(matchesGlob(pattern, path), expected));
  }
});

describe('createUrlFilter', () => {
  const base = 'https://example.com';
  const check = (filter: (u: string) => boolean, paths: string[]) => Object.fromEntries(paths.map((p) => [p, filter(base + p)]));

  it('includes everything without patterns', () => {
    const filter = createUrlFilter();
    assert.deepEqual(check(filter, ['/', '/a/b', '/blog/x']), { '/': true, '/a/b': true, '/blog/x': true });
  });

  it('includes only what an include pattern matches', () => {
    const filter = createUrlFilter(['/docs/**', '/pricing']);
    assert.deepEqual(check(filter, ['/', '/docs', '/docs/a/b', '/pricing', '/pricing/x', '/blog/x']), {
      '/': false,
      '/docs': true,
      '/docs/a/b': true,
      '/pricing': true,
      '/pricing/x': false,
      '/blog/x': false,
    });
  });

  it('excludes what an exclude pattern matches, and exclude wins over include', () => {
    const filter = createUrlFilter(['/docs/**', '/blog/**'], ['/blog/*', '/docs/internal/**']);
    assert.deepEqual(check(filter, ['/blog', '/blog/post', '/docs/a', '/docs/internal', '/docs/internal/x', '/other']), {
      '/blog': true,
      '/blog/post': false,
      '/docs/a': true,
      '/docs/internal': false,
      '/docs/internal/x': false,
      '/other': false,
    });
  });

  it('with only exclude patterns, everything else is included', () => {
    const filter = createUrlFilter([], ['/private/**']);
    assert.deepEqual(check(filter, ['/', '/private', '/private/a', '/public']), { '/': true, '/private': false, '/private/a': false, '/public': true });
  });

  it('looks at the path only: never the host or the query', () => {
    const filter = createUrlFilter(['/docs/**']);
    assert.equal(filter('https://docs.example.com/guide'), false);
    assert.equal(filter('https://example.com/docs/guide?from=/blog/x'), true);
    assert.equal(filter('not a url'), false);
  });
});
