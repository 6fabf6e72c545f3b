// crawl.started and batch_scrape.started are written in the transaction that
// creates the job: if writing the event fails (here a trigger on
// webhook_messages stands in for a crash between the two), no job is left
// behind without its event, and the client's retry with the same
// x-idempotency-key creates both, once.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;

before(async () => {
  // A database of this file's own: the trigger below goes with it.
  stack = await startStack();
  // Refuses a started event whose webhook URL says so, while the table `refuse_started` has a row.
  await stack.sql.unsafe(`
    create table refuse_started (n int);
    create function refuse_started_event() returns trigger language plpgsql as $$
    begin
      if new.event like '%.started' and new.url like '%/refuse' and exists (select 1 from refuse_started) then
        raise exception 'simulated failure writing the started event';
      end if;
      return new;
    end $$;
    create trigger refuse_started_event before insert on webhook_messages for each row execute function refuse_started_event();`);
});

const jobsWithKey = async (key: string) => (await stack.sql`select id from jobs where api_key_id = ${stack.apiKeyId} and idempotency_key = ${key}`).map((r) => r.id as string);
const startedEvents = async (jobId: string) => (await stack.sql`select event from webhook_messages where job_id = ${jobId} and event like '%.started'`).map((r) => r.event as string);

describe('the started event commits with its job', () => {
  for (const [kind, path, body, event] of [
    ['crawl', '/firecrawl/v2/crawl', { url: 'http://127.0.0.1:9/', limit: 1 }, 'crawl.started'],
    ['batch scrape', '/firecrawl/v1/batch/scrape', { urls: ['http://127.0.0.1:9/'] }, 'batch_scrape.started'],
  ] as const) {
    test(`${kind}: a failure writing it leaves no job; the retry creates the job and one ${event}`, async () => {
      const key = `started-${kind.replace(' ', '-')}`;
      const request = { ...body, webhook: { url: 'http://127.0.0.1:9/refuse', events: ['started'] } };
      await stack.sql`insert into refuse_started values (1)`;
      const failed = await stack.request('POST', path, { body: request, headers: { 'x-idempotency-key': key } });
      assert.equal(failed.status, 500, JSON.stringify(failed.body));
      assert.equal(failed.body.success, false);
      assert.deepEqual(await jobsWithKey(key), [], 'no job is left without its started event');

      await stack.sql`delete from refuse_started`;
      const retried = await stack.request('POST', path, { body: request, headers: { 'x-idempotency-key': key } });
      assert.equal(retried.status, 200, JSON.stringify(retried.body));
      assert.deepEqual(await jobsWithKey(key), [retried.body.id]);
      assert.deepEqual(await startedEvents(retried.body.id), [event]);

      // A replay of the same request is the same job, and queues nothing new.
      const replayed = await stack.request('POST', path, { body: request, headers: { 'x-idempotency-key': key } });
      assert.equal(replayed.status, 200);
      assert.equal(replayed.body.id, retried.body.id);
      assert.equal(replayed.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(await startedEvents(retried.body.id), [event]);
      await stack.request('DELETE', `${path}/${retried.body.id}`);
    });
  }

  test('without a key the job and its started event still commit together, and a job whose webhook does not ask for started gets none', async () => {
    await stack.sql`insert into refuse_started values (1)`;
    const before = (await stack.sql`select count(*)::int as n from jobs`)[0]!.n as number;
    const failed = await stack.request('POST', '/firecrawl/v2/crawl', { body: { url: 'http://127.0.0.1:9/', limit: 1, webhook: 'http://127.0.0.1:9/refuse' } });
    assert.equal(failed.status, 500);
    assert.equal((await stack.sql`select count(*)::int as n from jobs`)[0]!.n, before, 'no job was created');
    // The trigger refuses only started events: a webhook that wants the page events alone starts normally.
    const pagesOnly = await stack.request('POST', '/firecrawl/v2/crawl', { body: { url: 'http://127.0.0.1:9/', limit: 1, webhook: { url: 'http://127.0.0.1:9/refuse', events: ['page', 'completed'] } } });
    assert.equal(pagesOnly.status, 200, JSON.stringify(pagesOnly.body));
    assert.deepEqual(await startedEvents(pagesOnly.body.id), []);
    await stack.sql`delete from refuse_started`;
    await stack.request('DELETE', `/firecrawl/v2/crawl/${pagesOnly.body.id}`);
  });
});
