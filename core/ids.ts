import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// Bytes come from the CSPRNG 4 KiB at a time, each used once (as
// crypto.randomUUID pools its entropy): a randomBytes call per id was 1.6 % of
// the API's CPU per accepted job.
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;

/** Uniformly random base62 (rejection sampling, no modulo bias). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    if (used === pool.length) {
      pool = randomBytes(POOL_BYTES);
      used = 0;
    }
    const byte = pool[used++]!;
    if (byte < 248) out += ALPHABET[byte % 62];
  }
  return out;
}

export const newJobId = () => `job_${randomBase62(22)}`;
export const newKeyId = () => `key_${randomBase62(16)}`;
