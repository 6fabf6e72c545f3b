// extractPage stays near-linear on hostile pages: for each shape the CPU time
// at 8n is compared with the time at n in the same process (best of 3, runs
// interleaved). A linear pass grows ~8x, a quadratic one ~64x; the bound (24x)
// leaves room for garbage collection on a busy machine without a timed limit.
// Timings are reported by bench/adversarial.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractPage } from '../../core/extraction/index.js';
import { HOSTILE_SHAPES, scaling } from '../../testing/hostilePages.js';

const FACTOR = 8;
const MAX_RATIO = 3 * FACTOR;

/**
 * Shapes on which a pass used to be quadratic (each failed this test before its fix). The other
 * shapes (deep <header>s, lead boxes, same-class posts...) are in the benchmark: their former
 * per-node climbs were too cheap per step to tell apart from garbage collection by time.
 */
const CHECKED = [
  '<br> run inside bold',
  'backtick run in <pre>',
  'deep rel=author links',
  'nested spans with text',
  'nested articles around title headings',
];

const extract = (html: string) => extractPage(html, 'https://site.example/');

describe('extraction on hostile pages', () => {
  for (const name of CHECKED) {
    const shape = HOSTILE_SHAPES.find((s) => s.name === name);
    it(`${name}: ${FACTOR}x the input costs at most ${MAX_RATIO}x the CPU time`, (t) => {
      assert.ok(shape, `no hostile shape named ${name}`);
      const s = scaling(extract, shape, { factor: FACTOR });
      const detail = `${s.bytes[0]} bytes ${s.ms[0].toFixed(1)} ms, ${s.bytes[1]} bytes ${s.ms[1].toFixed(1)} ms`;
      t.diagnostic(`x${s.ratio.toFixed(1)} (${detail})`);
      assert.ok(s.ratio < MAX_RATIO, `x${s.ratio.toFixed(1)} (${detail})`);
    });
  }

  it('the reported page (900 nested divs around 20,000 spans) is extracted', () => {
    const html = `<html><body>${'<div>'.repeat(900)}${'<span>x</span>'.repeat(20_000)}${'</div>'.repeat(900)}</body></html>`;
    assert.ok(html.length > 280_000);
    const page = extract(html);
    assert.equal(page.text.replace(/\s/g, ''), 'x'.repeat(20_000));
  });
});
