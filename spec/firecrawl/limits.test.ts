// What the Firecrawl API refuses before any work: client selectors and path
// patterns that could cost more than linear time, and pages too deep to match.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createPathRegexFilter, pathRegexProblem } from '../../core/pathRegex.js';
import { MAX_COMBINATORS, selectDocument, selectorProblem, SelectionTooComplexError } from '../../core/extraction/selection.js';
import { startStack } from '../helpers/stack.js';

describe('includeTags / excludeTags selectors', () => {
  test('tags, ids, classes, attributes and a few combinators pass', () => {
    for (const s of ['article', '#main', '.content', 'div.post > p', 'main [data-role=body]', 'h1 + p', 'ul li a']) assert.equal(selectorProblem(s), null, s);
  });

  test('pseudo-classes, too many combinators, overlong or invalid selectors are refused', () => {
    assert.match(selectorProblem('div:has(p)')!, /no pseudo-classes/);
    assert.match(selectorProblem('p:not(.x)')!, /no pseudo-classes/);
    assert.match(selectorProblem('p::before')!, /no pseudo-classes/);
    assert.match(selectorProblem(Array(MAX_COMBINATORS + 2).fill('div').join(' '))!, /at most 4 combinators/);
    assert.match(selectorProblem(`.${'a'.repeat(300)}`)!, /at most 200 characters/);
    assert.match(selectorProblem('div[')!, /not a valid CSS selector/);
  });

  test('a page nested deeper than the render limit is not matched at all', () => {
    const deep = `${'<div>'.repeat(1500)}<p>text</p>${'</div>'.repeat(1500)}`;
    assert.throws(() => selectDocument(deep, 'http://example.com/', { onlyMainContent: true, includeTags: ['p'] }), SelectionTooComplexError);
    // Without selectors the same page is still read.
    assert.match(selectDocument(deep, 'http://example.com/', { onlyMainContent: false }).markdown, /text/);
  });
});

describe('includePaths / excludePaths', () => {
  test('are RE2: a catastrophic-backtracking pattern matches in linear time', () => {
    const filter = createPathRegexFilter(['^/(a+)+$']);
    // A backtracking engine takes 2^n steps on this path; RE2 answers at once.
    assert.equal(filter(`http://example.com/${'a'.repeat(100_000)}b`), false);
    assert.equal(filter(`http://example.com/${'a'.repeat(10)}`), true);
  });

  test('search the path only (not host or query); excludes win', () => {
    const filter = createPathRegexFilter(['blog'], ['draft']);
    assert.equal(filter('http://blog.example.com/about'), false);
    assert.equal(filter('http://example.com/about?from=blog'), false);
    assert.equal(filter('http://example.com/en/blog/post'), true);
    assert.equal(filter('http://example.com/blog/draft-1'), false);
  });

  test('backreferences, lookaround, huge repetitions and overlong patterns are refused', () => {
    assert.match(pathRegexProblem('(a)\\1')!, /not a valid regular expression/);
    assert.match(pathRegexProblem('^/(?=docs)')!, /not a valid regular expression/);
    assert.match(pathRegexProblem('a{500}')!, /repeat at most 100 times/);
    assert.match(pathRegexProblem('x'.repeat(201))!, /at most 200 characters/);
    assert.equal(pathRegexProblem('^/docs/.*\\.html$'), null);
  });
});

describe('crawl limit', () => {
  test('is at most MAX_PAGES_PER_JOB when that is lower than the API cap', async () => {
    const stack = await startStack({ config: { MAX_PAGES_PER_JOB: '3' } });
    const post = (limit: number) => stack.request('POST', '/firecrawl/v2/crawl', { body: { url: 'https://example.com/', limit } });
    const over = await post(4);
    assert.equal(over.status, 400);
    assert.equal(over.body.success, false);
    assert.match(over.body.error, /limit: must be at most 3/);
    const ok = await post(3);
    assert.equal(ok.status, 200);
    const job = await stack.request('GET', `/v1/jobs/${ok.body.id}`);
    assert.equal(job.body.input.maxPages, 3);
    const byDefault = await stack.request('POST', '/firecrawl/v1/crawl', { body: { url: 'https://example.com/x' } });
    assert.equal((await stack.request('GET', `/v1/jobs/${byDefault.body.id}`)).body.input.maxPages, 3);
  });
});
