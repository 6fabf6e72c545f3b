import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeHtml } from '../../core/extraction/decode.js';

const latin1 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
const utf8 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'utf8'));

describe('decodeHtml', () => {
  it('defaults to utf-8', () => {
    const r = decodeHtml(utf8('<p>Grüße – 日本</p>'));
    assert.equal(r.charset, 'utf-8');
    assert.equal(r.html, '<p>Grüße – 日本</p>');
  });

  it('uses the HTTP header charset', () => {
    const r = decodeHtml(latin1('<p>Gr\u00fc\u00dfe</p>'), 'text/html; charset=ISO-8859-1');
    assert.equal(r.charset, 'windows-1252');
    assert.equal(r.html, '<p>Grüße</p>');
  });

  it('accepts a quoted header charset', () => {
    const r = decodeHtml(latin1('<p>\u00e9</p>'), 'text/html; charset="windows-1252"');
    assert.equal(r.html, '<p>é</p>');
  });

  it('lets a BOM win over the header', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('<p>é</p>')]);
    const r = decodeHtml(bytes, 'text/html; charset=windows-1252');
    assert.equal(r.charset, 'utf-8');
    assert.equal(r.html, '<p>é</p>');
  });

  it('decodes UTF-16LE with a BOM', () => {
    const body = Buffer.from('<p>Ωmega</p>', 'utf16le');
    const r = decodeHtml(new Uint8Array([0xff, 0xfe, ...body]));
    assert.equal(r.charset, 'utf-16le');
    assert.equal(r.html, '<p>Ωmega</p>');
  });

  it('lets the header win over <meta>', () => {
    const r = decodeHtml(utf8('<meta charset="windows-1252"><p>é</p>'), 'text/html; charset=utf-8');
    assert.equal(r.charset, 'utf-8');
    assert.match(r.html, /<p>é<\/p>/);
  });

  it('reads <meta charset>', () => {
    const r = decodeHtml(latin1('<html><head><meta charset="iso-8859-15"></head><body>\u00a4</body>'));
    assert.equal(r.charset, 'iso-8859-15');
    assert.match(r.html, /€/); // 0xA4 is the euro sign in Latin-9
  });

  it('reads <meta http-equiv content-type>', () => {
    const r = decodeHtml(latin1('<meta http-equiv="Content-Type" content="text/html; charset=windows-1252"><p>\u0093quoted\u0094</p>'));
    assert.equal(r.charset, 'windows-1252');
    assert.match(r.html, /“quoted”/);
  });

  it('decodes shift_jis declared in <meta>', () => {
    // "日本語" in Shift_JIS.
    const sjis = new Uint8Array([0x93, 0xfa, 0x96, 0x7b, 0x8c, 0xea]);
    const bytes = new Uint8Array([...latin1('<meta charset="Shift_JIS"><p>'), ...sjis, ...latin1('</p>')]);
    const r = decodeHtml(bytes);
    assert.equal(r.charset, 'shift_jis');
    assert.match(r.html, /<p>日本語<\/p>/);
  });

  it('falls back to windows-1252 for undeclared legacy bytes', () => {
    const text = 'Stra\u00dfe, M\u00fcller, K\u00e4se, \u00d6l, \u00fcber, sch\u00f6n, gr\u00fcn, B\u00e4r, F\u00fc\u00dfe';
    const r = decodeHtml(latin1(`<p>${text}</p>`));
    assert.equal(r.charset, 'windows-1252');
    assert.match(r.html, /Straße, Müller/);
  });

  it('never throws on unknown labels and uses utf-8', () => {
    const r1 = decodeHtml(utf8('<p>é</p>'), 'text/html; charset=x-no-such-charset');
    assert.equal(r1.charset, 'utf-8');
    assert.equal(r1.html, '<p>é</p>');
    const r2 = decodeHtml(utf8('<meta charset="bogus!!"><p>é</p>'));
    assert.equal(r2.charset, 'utf-8');
    assert.doesNotThrow(() => decodeHtml(new Uint8Array(), ''));
  });
});
