import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time equality of a presented secret and the expected one. Both are
 * hashed first: timingSafeEqual throws when byte lengths differ (which would
 * also leak the length), and a string's UTF-16 length says nothing about its
 * UTF-8 byte length, so comparing lengths first is not enough.
 */
export function sameSecret(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}
