// The log scan: no API key and no webhook secret in any child process's
// output. The one place a key may legitimately appear is the first-start
// banner the API prints on stderr; exactly that banner (its fixed text and
// the key on the next line) is cut out before scanning, nothing else.
import fs from 'node:fs/promises';
import path from 'node:path';

const KEY_PATTERN = /knowledgesdk_live_[0-9A-Za-z]{6,}/g;
const SECRET_PATTERN = /whsec_[A-Za-z0-9+/=]{6,}/g;
const BANNER = /\nCreated the first API key \(shown only this once; keep it safe\):\nknowledgesdk_live_[0-9A-Za-z]{32,128}\n\n/g;

export interface SecretFinding {
  file: string;
  match: string;
}

export interface ScanResult {
  files: number;
  bytes: number;
  bannersExcluded: number;
  findings: SecretFinding[];
}

const shown = (s: string) => `${s.slice(0, 24)}…`;

/** Scan every *.log file in `dir`; `known` are exact values handed out during the run (keys, secrets). */
export async function scanLogsForSecrets(dir: string, known: Iterable<string>): Promise<ScanResult> {
  // The distinctive part of each known value too, in case something logs it without its prefix.
  const needles = new Set<string>();
  for (const value of known) {
    needles.add(value);
    const bare = value.replace(/^(knowledgesdk_live_|whsec_)/, '');
    if (bare.length >= 16) needles.add(bare);
  }
  const result: ScanResult = { files: 0, bytes: 0, bannersExcluded: 0, findings: [] };
  for (const name of (await fs.readdir(dir)).filter((f) => f.endsWith('.log')).sort()) {
    let text = await fs.readFile(path.join(dir, name), 'utf8');
    result.files++;
    result.bytes += text.length;
    if (name.endsWith('.stderr.log')) {
      text = text.replace(BANNER, () => {
        result.bannersExcluded++;
        return '\n';
      });
    }
    for (const m of text.matchAll(KEY_PATTERN)) result.findings.push({ file: name, match: shown(m[0]) });
    for (const m of text.matchAll(SECRET_PATTERN)) result.findings.push({ file: name, match: shown(m[0]) });
    for (const needle of needles) if (text.includes(needle)) result.findings.push({ file: name, match: `known value ${shown(needle)}` });
  }
  return result;
}
