// PDFs are read to text (unpdf, on a thread of their own), then extracted
// like any page: title and metadata, every page's text; an encrypted file
// fails pdf_encrypted and a truncated one pdf_invalid, each with a clear message.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createSilentLogger } from '../../core/platform/logger.js';
import { createOutboundClient, outboundOptions } from '../../core/outbound/index.js';
import { readPdf } from '../../core/pdf/index.js';
import { PipelineError } from '../../core/page/errors.js';
import { scrapePage } from '../../core/page/scrape.js';
import { onCleanup } from '../helpers/cleanup.js';
import { testConfig } from '../helpers/config.js';
import { startHttpServer } from '../helpers/http.js';
import { makePdf } from './pdfFixtures.js';

const logger = createSilentLogger();
const client = createOutboundClient(outboundOptions(testConfig()));
onCleanup(() => client.close());
const signal = () => new AbortController().signal;

const REPORT = makePdf(
  [
    ['Annual tide report for the northern harbour.', 'Spring tides reached four metres in March.'],
    ['Neap tides stayed below two metres all summer.', 'Dredging of the channel is planned for next year.'],
    ['Appendix: gauge calibration records for each station.'],
  ],
  { title: 'Harbour Tide Report', author: 'Port Authority' },
);

async function pdfSite() {
  const files: Record<string, Buffer> = {
    '/report.pdf': REPORT,
    '/single.pdf': makePdf([['A single page about lighthouse maintenance schedules and lamp replacement.']]),
    '/encrypted.pdf': makePdf([['Secret harbour plans.']], { encrypted: true }),
    '/truncated.pdf': REPORT.subarray(0, Math.floor(REPORT.length / 3)),
  };
  return startHttpServer((req, res) => {
    const body = files[req.url ?? ''];
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': req.url === '/single.pdf' ? 'text/plain' : 'application/pdf' }).end(body);
  });
}

describe('PDFs', () => {
  test('a multi-page PDF becomes a page: title and author from its metadata, every page in the text and Markdown', async () => {
    const site = await pdfSite();
    const page = await scrapePage(client, `${site.url}/report.pdf`, { signal: signal(), logger });
    assert.equal(page.contentType, 'application/pdf');
    assert.equal(page.title, 'Harbour Tide Report');
    assert.equal(page.metadata.author, 'Port Authority');
    assert.deepEqual((page as { pdf?: unknown }).pdf, { pages: 3, title: 'Harbour Tide Report', author: 'Port Authority', createdAt: null });
    for (const phrase of ['Spring tides reached four metres', 'Neap tides stayed below two metres', 'gauge calibration records']) {
      assert.ok(page.text.includes(phrase), `${phrase} in text`);
      assert.ok(page.markdown.includes(phrase), `${phrase} in Markdown`);
    }
  });

  test('a PDF served as text/plain is recognised by its signature; its title falls back to the file name', async () => {
    const site = await pdfSite();
    const page = await scrapePage(client, `${site.url}/single.pdf`, { signal: signal(), logger });
    assert.equal(page.title, 'single.pdf');
    assert.match(page.text, /lighthouse maintenance schedules/);
  });

  test('an encrypted PDF fails pdf_encrypted; a truncated one pdf_invalid', async () => {
    const site = await pdfSite();
    for (const [file, code] of [['encrypted.pdf', 'pdf_encrypted'], ['truncated.pdf', 'pdf_invalid']] as const) {
      const err = await scrapePage(client, `${site.url}/${file}`, { signal: signal(), logger }).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof PipelineError, `${file}: ${String(err)}`);
      assert.equal(err.code, code, `${file}: ${err.message}`);
      assert.equal(err.retryable, false);
    }
  });

  test('a PDF over the page limit fails pdf_too_many_pages before its text is read', async () => {
    const pdf = makePdf(Array.from({ length: 6 }, (_, i) => [`Page ${i + 1}`]));
    const err = await readPdf(pdf, { signal: signal(), maxPages: 5 }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof PipelineError && err.code === 'pdf_too_many_pages', String(err));
    assert.deepEqual(err.details, { totalPages: 6 });
  });
});
