// Encryption at rest for secrets the service must read back (webhook signing
// secrets: signing needs the secret itself, so a hash will not do). AES-256-GCM
// under SECRETS_KEY, bound to the row it belongs to (the additional data), so
// a sealed value copied to another row does not open. Without a key, values
// are stored and read as they are; sealed values then cannot be read.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretKeyMissingError extends Error {}

export interface SecretBox {
  /** True when values are encrypted at rest. */
  readonly encrypts: boolean;
  /** What to store for `plain`, bound to `context` (e.g. the owning row's id). */
  seal(plain: string, context: string): string;
  /** The plaintext of a stored value, sealed or (stored before a key was set) plain. */
  open(stored: string, context: string): string;
  /** True when `stored` is plaintext that this box would encrypt. */
  needsSealing(stored: string): boolean;
}

export const isSealed = (stored: string) => stored.startsWith(PREFIX);

/** SECRETS_KEY: 32 bytes, as 64 hex characters or base64; undefined when unset. */
export function parseSecretsKey(value: string): Buffer | null {
  const text = value.trim();
  const bytes = /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(text) ? Buffer.from(text, 'base64') : null;
  return bytes && bytes.length === 32 ? bytes : null;
}

export function secretBox(key?: Buffer | null): SecretBox {
  return {
    encrypts: !!key,
    seal(plain, context) {
      if (!key) return plain;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    open(stored, context) {
      if (!isSealed(stored)) return stored;
      if (!key) throw new SecretKeyMissingError('a webhook secret is encrypted at rest: set SECRETS_KEY to the key it was encrypted with');
      const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      try {
        return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretKeyMissingError('a webhook secret does not decrypt with SECRETS_KEY: it was encrypted with another key');
      }
    },
    needsSealing(stored) {
      return !!key && !isSealed(stored);
    },
  };
}

/** The box of a process without SECRETS_KEY. */
export const plainBox = secretBox(null);
