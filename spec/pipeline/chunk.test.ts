import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkMarkdown, splitSections } from '../../worker/pipeline/chunk.js';

// Whitespace words stand in for model tokens here: the chunker's rules are
// about counts, whichever tokenizer produces them (the model's own is used in
// spec/pipeline/knowledge.test.ts).
const words = (text: string) => (text.match(/\S+/g) ?? []).length;
const opts = (maxTokens: number, overlapTokens: number) => ({ maxTokens, overlapTokens, countTokens: async (texts: string[]) => texts.map(words) });
const sentence = (i: number, n = 8) => `S${i} ${Array.from({ length: n - 2 }, (_, k) => `w${i}_${k}`).join(' ')} end.`;

describe('splitSections', () => {
  it('tracks the heading path and pops on a same or higher level', () => {
    const md = '# Guide\n\nintro\n\n## Install\n\nnpm i\n\n### Linux\n\napt\n\n## Use\n\nrun it\n\n# Other\n\nx';
    assert.deepEqual(
      splitSections(md).map((s) => [s.headingPath.join(' > '), s.blocks]),
      [
        ['Guide', ['intro']],
        ['Guide > Install', ['npm i']],
        ['Guide > Install > Linux', ['apt']],
        ['Guide > Use', ['run it']],
        ['Other', ['x']],
      ],
    );
  });

  it('keeps a code fence with blank lines and # lines as one block', () => {
    const md = '## Code\n\n```sh\n# not a heading\n\necho hi\n```\n\nafter';
    const [section] = splitSections(md);
    assert.deepEqual(section?.headingPath, ['Code']);
    assert.deepEqual(section?.blocks, ['```sh\n# not a heading\n\necho hi\n```', 'after']);
  });

  it('keeps text before the first heading with an empty path and strips emphasis from headings', () => {
    const sections = splitSections('lead text\n\n## **Bold** `title` ##\n\nbody');
    assert.deepEqual(sections.map((s) => s.headingPath), [[], ['Bold title']]);
  });
});

describe('chunkMarkdown', () => {
  it('never exceeds the token budget and never mixes sections', async () => {
    const body = Array.from({ length: 40 }, (_, i) => sentence(i)).join(' ');
    const md = `# A\n\n${body}\n\n# B\n\n${body.replaceAll('S', 'T')}`;
    const chunks = await chunkMarkdown(md, opts(50, 10));
    assert.ok(chunks.length > 4);
    for (const c of chunks) {
      assert.ok(c.tokens <= 50, `chunk of ${c.tokens} tokens`);
      assert.equal(c.tokens, words(c.content));
      const heading = c.headingPath[0];
      assert.ok(heading === 'A' ? !c.content.includes('T0 ') : !c.content.includes('S0 '));
    }
    assert.deepEqual(chunks.map((c) => c.position), chunks.map((_, i) => i));
  });

  it('covers every sentence, in order, and repeats the tail of the previous chunk as overlap', async () => {
    const all = Array.from({ length: 30 }, (_, i) => sentence(i));
    const chunks = await chunkMarkdown(`## S\n\n${all.join(' ')}`, opts(40, 10));
    const seen = chunks.flatMap((c) => c.content.split('\n\n').flatMap((p) => p.match(/S\d+ /g) ?? []));
    // Every sentence appears, first appearances in order.
    const firsts = [...new Set(seen)];
    assert.deepEqual(firsts, all.map((_, i) => `S${i} `));
    for (let i = 1; i < chunks.length; i++) {
      const prev = (chunks[i - 1]?.content ?? '').split('\n\n');
      const first = chunks[i]?.content.split('\n\n')[0];
      assert.equal(first, prev[prev.length - 1], `chunk ${i} starts with the last sentence of chunk ${i - 1}`);
    }
  });

  it('with no overlap, chunks partition the text', async () => {
    const all = Array.from({ length: 12 }, (_, i) => sentence(i));
    const chunks = await chunkMarkdown(all.join('\n\n'), opts(20, 0));
    assert.deepEqual(chunks.flatMap((c) => c.content.split('\n\n')), all);
  });

  it('keeps short paragraphs together in one chunk', async () => {
    const chunks = await chunkMarkdown('# T\n\none two\n\nthree four\n\n- a\n- b', opts(50, 10));
    assert.equal(chunks.length, 1);
    assert.equal(chunks[0]?.content, 'one two\n\nthree four\n\n- a\n- b');
    assert.deepEqual(chunks[0]?.headingPath, ['T']);
  });

  it('cuts a sentence longer than the budget by words', async () => {
    const long = Array.from({ length: 95 }, (_, i) => `x${i}`).join(' ');
    const chunks = await chunkMarkdown(long, opts(30, 0));
    assert.deepEqual(chunks.map((c) => c.tokens), [30, 30, 30, 5]);
    assert.equal(chunks.map((c) => c.content).join(' '), long);
  });

  it('makes no chunk for a page without text and refuses an overlap over half the budget', async () => {
    assert.deepEqual(await chunkMarkdown('# Only a heading\n\n   \n', opts(30, 5)), []);
    await assert.rejects(chunkMarkdown('x', opts(30, 16)), RangeError);
  });
});
