// Keyset-pagination cursors over jobs (newest first): created_at in epoch
// microseconds plus the id. A JS Date would drop the microseconds and skip rows
// created in the same millisecond, and the text form depends on the server's DateStyle.
export class InvalidCursorError extends Error {}

export const encodeJobCursor = (micros: string, id: string) => Buffer.from(`${micros}|${id}`).toString('base64url');

export function decodeJobCursor(cursor: string): { micros: string; id: string } {
  const [micros, id, extra] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (extra !== undefined || !micros || !/^-?\d{1,20}$/.test(micros) || !id || !/^job_[0-9A-Za-z]+$/.test(id)) throw new InvalidCursorError('cursor is not valid');
  return { micros, id };
}

