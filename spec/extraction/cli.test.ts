import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = join(root, 'cli', 'extract.ts');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(...args: string[]): Promise<Run> {
  return new Promise((res) => {
    execFile(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      res({ code, stdout, stderr });
    });
  });
}

const ARTICLE = `<!doctype html><html lang="en"><head><meta charset="windows-1252"><title>CLI page</title></head><body>
<nav><a href="/home">Home</a></nav>
<article><h1>Caf\u00e9 report</h1>
<p>The caf\u00e9 opened on Monday, and the queue went around the block twice before noon, said the owner.</p>
<p>Prices are \u0093fair\u0094, with coffee at two euros, and there is <a href="/menu">a menu online</a>.</p>
</article><footer>Impressum</footer></body></html>`;

let dir: string;
let server: Server;
let baseUrl: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gleaner-extract-'));
  writeFileSync(join(dir, 'page.html'), Buffer.from(ARTICLE, 'latin1'));
  writeFileSync(join(dir, 'page.html.gz'), gzipSync(Buffer.from(ARTICLE, 'latin1')));
  writeFileSync(join(dir, 'binary.bin'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48]));
  writeFileSync(join(dir, 'empty.html'), '');
  writeFileSync(join(dir, 'blank.html'), '<html><head></head><body>  </body></html>');
  server = createServer((req, res) => {
    if (req.url === '/article') {
      res.writeHead(200, { 'content-type': 'text/html; charset=windows-1252' });
      res.end(Buffer.from(ARTICLE.replace('<meta charset="windows-1252">', ''), 'latin1'));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

function assertNoStack(r: Run): void {
  assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at .+:\d+:\d+/, 'stack trace printed');
}

describe('extract CLI', () => {
  it('prints text of a local file, decoding its meta charset', async () => {
    const r = await run(join(dir, 'page.html'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Café report/);
    assert.match(r.stdout, /Prices are “fair”/);
    assert.doesNotMatch(r.stdout, /Impressum|Home/);
  });

  it('prints markdown with links resolved against --base-url, reading gzip', async () => {
    const r = await run('--format', 'markdown', '--base-url', 'https://cafe.example/news/', join(dir, 'page.html.gz'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# Café report$/m);
    assert.match(r.stdout, /\[a menu online\]\(https:\/\/cafe\.example\/menu\)/);
  });

  it('fetches a URL and prints one JSON line', async () => {
    const r = await run('--format', 'json', `${baseUrl}/article`);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const obj = JSON.parse(lines[0]!) as { input: string; title: string; text: string; markdown: string; metadata: { language: string; links: string[] } };
    assert.equal(obj.input, `${baseUrl}/article`);
    assert.equal(obj.title, 'CLI page');
    assert.match(obj.text, /Prices are “fair”/);
    assert.match(obj.markdown, /\[a menu online\]\(http:\/\/127\.0\.0\.1:\d+\/menu\)/);
    assert.equal(obj.metadata.language, 'en');
    assert.ok(obj.metadata.links.includes(`${baseUrl}/home`));
  });

  it('prints one JSON line per input, with errors in place', async () => {
    const r = await run(join(dir, 'page.html'), join(dir, 'missing.html'), `${baseUrl}/nope`);
    assert.equal(r.code, 0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { input: string; error?: string; text?: string });
    assert.equal(lines.length, 3);
    assert.match(lines[0]!.text ?? '', /Café/);
    assert.match(lines[1]!.error ?? '', /no such file/);
    assert.match(lines[2]!.error ?? '', /HTTP 404/);
    assertNoStack(r);
  });

  const bad: [string, () => string[], RegExp][] = [
    ['missing file', () => [join(dir, 'missing.html')], /no such file/],
    ['binary file', () => [join(dir, 'binary.bin')], /binary/],
    ['empty file', () => [join(dir, 'empty.html')], /empty page/],
    ['page without text', () => [join(dir, 'blank.html')], /empty page/],
    ['unknown option', () => ['--frobnicate', join(dir, 'page.html')], /Unknown option '--frobnicate'/],
    ['unknown format', () => ['--format', 'pdf', join(dir, 'page.html')], /unknown format 'pdf'/],
    ['no input', () => [], /no input/],
    ['HTTP error', () => [`${baseUrl}/nope`], /HTTP 404/],
  ];
  for (const [name, args, message] of bad) {
    it(`fails clearly on ${name}`, async () => {
      const r = await run(...args());
      assert.equal(r.code, 1);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
      assertNoStack(r);
    });
  }

  it('with a single failing input in json mode, prints the error line and exits 1', async () => {
    const r = await run('--format', 'json', join(dir, 'binary.bin'));
    assert.equal(r.code, 1);
    assert.match(JSON.parse(r.stdout.trim()).error, /binary/);
    assert.match(r.stderr, /binary/);
  });
});

describe('extract CLI options', () => {
  const PAGE = `<!doctype html><html><head><title>Options page</title></head><body><article><h1>Story</h1>
<p>The story itself, long enough to be the main text of the page, with a comma, and a second clause here.</p>
<p><img src="/photo.jpg" alt="A photo"></p>
<p>More of the story, again long enough to be taken as the article, with commas, clauses and a full stop.</p></article>
<div id="comments"><div class="comment"><p>A reader wrote a comment under the story, and it is long enough to count.</p></div></div></body></html>`;

  it('--comments on and --images keep the thread and image references; the default leaves both out', async () => {
    const file = join(dir, 'options.html');
    writeFileSync(file, PAGE);
    const plain = await run('--format', 'markdown', '--base-url', 'https://example.org/a/', file);
    assert.equal(plain.code, 0, plain.stderr);
    assert.doesNotMatch(plain.stdout, /A reader wrote|!\[/);
    const full = await run('--format', 'markdown', '--comments', 'on', '--images', '--base-url', 'https://example.org/a/', file);
    assert.equal(full.code, 0, full.stderr);
    assert.match(full.stdout, /!\[A photo\]\(https:\/\/example\.org\/photo\.jpg\)/);
    assert.match(full.stdout, /More of the story[\s\S]*A reader wrote a comment/);
  });

  it('rejects an unknown --comments value with a clear message', async () => {
    const r = await run('--comments', 'maybe', join(dir, 'page.html'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown --comments value 'maybe' \(expected auto, on or off\)/);
    assertNoStack(r);
  });
});
