// The one boundary every value stored as jsonb passes: PostgreSQL rejects a
// lone surrogate escape (\ud800) and \u0000 in jsonb, and one such string fails
// the whole statement it is in (and every row batched with it). Lone
// surrogates become U+FFFD and U+0000 is removed, in values and in keys.
import type { Db } from './db.js';

// ES2024 string methods (Node 20 has them; the project's lib is ES2023).
interface WellFormed {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/** A string PostgreSQL accepts in jsonb (and in text). */
export function wellFormedText(s: string): string {
  const w = s as unknown as WellFormed;
  const fixed = w.isWellFormed() ? s : w.toWellFormed();
  return fixed.includes('\0') ? fixed.replaceAll('\0', '') : fixed;
}

/**
 * The JSON value as JSON.stringify would write it, with every string and key
 * made well-formed. Returns the same object when nothing needed a change, so
 * the common case copies nothing.
 */
export function wellFormedJson<T>(value: T): T {
  return clean(value, new Set()) as T;
}

function clean(value: unknown, seen: Set<object>): unknown {
  if (typeof value === 'string') return wellFormedText(value);
  // As JSON.stringify would, but here, before the value joins a batch.
  if (typeof value === 'bigint') throw new TypeError('cannot store a BigInt as jsonb');
  if (value === null || typeof value !== 'object') return value;
  const json = (value as { toJSON?: () => unknown }).toJSON;
  if (typeof json === 'function') return clean(json.call(value), seen);
  if (seen.has(value)) throw new TypeError('cannot store a circular structure as jsonb');
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      let out: unknown[] | null = null;
      for (let i = 0; i < value.length; i++) {
        const c = clean(value[i], seen);
        if (c !== value[i] && !out) out = value.slice(0, i);
        if (out) out.push(c);
      }
      return out ?? value;
    }
    // Entries, not assignments: a key named __proto__ stays a plain key.
    const entries = Object.entries(value);
    let out: [string, unknown][] | null = null;
    for (let i = 0; i < entries.length; i++) {
      const [k, v] = entries[i]!;
      const ck = wellFormedText(k);
      const cv = clean(v, seen);
      if ((ck !== k || cv !== v) && !out) out = entries.slice(0, i);
      if (out) out.push([ck, cv]);
    }
    return out ? Object.fromEntries(out) : value;
  } finally {
    seen.delete(value);
  }
}

/** A jsonb parameter for a query, made well-formed first. */
export function jsonb(db: Db, value: unknown) {
  return db.json(wellFormedJson(value) as never);
}
