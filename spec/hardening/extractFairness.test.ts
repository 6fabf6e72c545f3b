// One key's slow page must not hold up another key's pages on the extraction
// pool (core/threads.ts): with every thread stuck on a slow task, a task of
// an owner with nothing running gets an extra thread (at most maxOverflow of
// them), while the slow owner's own pages wait their turn. Checked on the
// pool itself and through POST /v1/scrape with two keys on an API whose pool
// has one thread.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createApiKey } from '../../core/apiKeys.js';
import { ExtractPool } from '../../core/extractPool.js';
import { articlePage, fixtureSite, startHttpServer, type TestServer } from '../helpers/http.js';
import { startStack, type Stack } from '../helpers/stack.js';

/** ~4 MB of tiny elements under 900 nested divs: seconds of extraction anywhere. */
const hostilePage = () => `<html><body>${'<div>'.repeat(900)}${'<span>x</span>'.repeat(290_000)}${'</div>'.repeat(900)}</body></html>`;
const calmPage = articlePage('A calm page', 'Words of a calm page that extracts in a moment, with a sentence or two more.');

/** Resolves to the order in which the named promises settled. */
async function settleOrder(tasks: Record<string, Promise<unknown>>): Promise<string[]> {
  const order: string[] = [];
  await Promise.all(Object.entries(tasks).map(([name, p]) => p.then(() => order.push(name), () => order.push(name))));
  return order;
}

describe('the extraction pool shares its threads between owners', () => {
  test("another owner's page runs on an extra thread while a slow page holds the only one", async () => {
    const pool = new ExtractPool(1);
    // The pool's overflow wait is 1 s by default; the hostile page takes seconds.
    try {
      const slow = pool.extract(hostilePage(), 'https://site.example/hostile', 'key-a');
      const other = pool.extract(calmPage, 'https://site.example/calm', 'key-b');
      const order = await settleOrder({ slow, other });
      assert.deepEqual(order, ['other', 'slow'], 'key-b’s calm page finished before key-a’s hostile page');
      assert.equal((await other).title, 'A calm page');
      assert.deepEqual(pool.load, { busy: 0, queued: 0 });
    } finally {
      await pool.close();
    }
  });

  test("the slow owner's own next page waits for its thread", async () => {
    const pool = new ExtractPool(1);
    try {
      const slow = pool.extract(hostilePage(), 'https://site.example/hostile', 'key-a');
      const same = pool.extract(calmPage, 'https://site.example/calm', 'key-a');
      assert.deepEqual(await settleOrder({ slow, same }), ['slow', 'same'], 'key-a’s pages ran one after the other');
    } finally {
      await pool.close();
    }
  });

  test('queued pages of an owner with nothing running go before an owner that has one running', async () => {
    const pool = new ExtractPool(1);
    try {
      const first = pool.extract(calmPage, 'https://site.example/1', 'key-a');
      const secondA = pool.extract(calmPage, 'https://site.example/2', 'key-a');
      const onlyB = pool.extract(calmPage, 'https://site.example/3', 'key-b');
      assert.deepEqual(await settleOrder({ first, secondA, onlyB }), ['first', 'onlyB', 'secondA']);
    } finally {
      await pool.close();
    }
  });

  test('the pool grows by at most two extra threads, however many owners wait', async () => {
    const pool = new ExtractPool(1);
    try {
      const pages = ['a', 'b', 'c', 'd', 'e'].map((owner) => pool.extract(hostilePage(), `https://site.example/${owner}`, owner).catch(() => undefined));
      // Each extra thread starts once every running page has taken a second; threads boot slowly on a loaded machine.
      let most = 0;
      let settled = false;
      void Promise.all(pages).then(() => (settled = true));
      while (most < 3 && !settled) {
        most = Math.max(most, pool.load.busy);
        await new Promise((r) => setTimeout(r, 50));
      }
      for (let i = 0; i < 20; i++) {
        most = Math.max(most, pool.load.busy);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(most, 3, `at most 1 + 2 threads ran pages at once (saw ${most})`);
      await pool.close();
      await Promise.all(pages);
    } finally {
      await pool.close();
    }
  });
});

describe('POST /v1/scrape with two keys on a one-thread pool', () => {
  let stack: Stack;
  let site: TestServer;
  let otherKey: string;
  let hostileSent: () => void = () => {};

  before(async () => {
    stack = await startStack({ config: { ALLOW_PRIVATE_NETWORKS: 'true' } });
    otherKey = (await createApiKey(stack.sql, 'other tenant')).key;
    // Seconds of extraction that end in a small answer (no text: 422 empty_content), so the answers' order is the extractions' order.
    const html = `<html><body>${'<div>'.repeat(900)}${'<b></b>'.repeat(400_000)}${'</div>'.repeat(900)}</body></html>`;
    site = await startHttpServer(
      fixtureSite({
        '/hostile': (_req, res) => {
          res.on('finish', () => hostileSent());
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
        },
        '/calm': calmPage,
      }),
    );
  });

  after(async () => {
    await site.close();
  });

  test("one key's hostile page does not hold up the other key's scrape", async () => {
    const sent = new Promise<void>((resolve) => (hostileSent = resolve));
    const slow = stack.request('POST', '/v1/scrape', { body: { url: `${site.url}/hostile`, render: 'never' } });
    // The hostile page is on the API's extraction thread (seconds of work) before the other key asks.
    await sent;
    await new Promise((r) => setTimeout(r, 1500));
    const other = stack.request('POST', '/v1/scrape', { body: { url: `${site.url}/calm`, render: 'never' }, key: otherKey });
    const order = await settleOrder({ slow, other });
    const answer = await other;
    const slowAnswer = await slow;
    assert.equal(slowAnswer.status, 422, JSON.stringify(slowAnswer.body));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.title, 'A calm page');
    assert.deepEqual(order, ['other', 'slow'], 'the other key’s scrape answered first');
  });
});
