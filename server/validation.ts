import type { z } from 'zod';
import { HttpError } from './errors.js';

/** Parse with zod or throw a 400 that lists every field and its problem. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, where = 'body'): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((issue) => ({
    field: issue.path.length ? issue.path.join('.') : where,
    message: issue.message,
  }));
  const summary = details.map((d) => `${d.field}: ${d.message}`).join('; ');
  throw new HttpError(400, 'validation_error', `invalid ${where}: ${summary}`, details);
}
