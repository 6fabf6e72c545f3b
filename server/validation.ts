import type { z } from 'zod';
import { HttpError } from './errors.js';

export interface FieldProblem {
  field: string;
  message: string;
}

// A surrogate code unit that is not half of a pair: with the u flag a
// well-formed pair is one code point and does not match.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const MAX_TEXT_PROBLEMS = 20;

/** Why a string can't be stored as PostgreSQL text or jsonb, or null when it can. */
export function textProblem(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain the NUL character (U+0000)';
  if (LONE_SURROGATE.test(value)) return 'must be well-formed Unicode (it contains an unpaired surrogate)';
  return null;
}

const fieldName = (path: readonly PropertyKey[], where: string) => (path.length ? path.map(String).join('.') : where);

/**
 * Every string (and object key) anywhere in a request value that PostgreSQL
 * would refuse: U+0000, or a lone surrogate (not valid Unicode; jsonb refuses
 * it and text would store it as garbage). Iterative, so a deeply nested body
 * cannot overflow the stack.
 */
export function findTextProblems(value: unknown, where: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const stack: { value: unknown; path: PropertyKey[] }[] = [{ value, path: [] }];
  while (stack.length && problems.length < MAX_TEXT_PROBLEMS) {
    const { value: v, path } = stack.pop()!;
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) problems.push({ field: fieldName(path, where), message: problem });
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: [...path, i] });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        const problem = textProblem(key);
        if (problem) problems.push({ field: fieldName([...path, key], where), message: `field name ${problem}` });
        else stack.push({ value: child, path: [...path, key] });
      }
    }
  }
  return problems;
}

/**
 * The one validation step for request input (body, query, headers, path
 * parameters): text every string field must satisfy, then the zod schema.
 * Each problem names its field.
 */
export function validate<S extends z.ZodType>(schema: S, value: unknown, where = 'body'): { success: true; data: z.output<S> } | { success: false; problems: FieldProblem[] } {
  const textProblems = findTextProblems(value, where);
  const parsed = schema.safeParse(value);
  if (parsed.success && textProblems.length === 0) return { success: true, data: parsed.data };
  const problems = [...textProblems];
  const named = new Set(textProblems.map((p) => p.field));
  // A field with bad text also fails its schema for that reason: name it once.
  // Unknown fields are stripped by the API's schemas (z.object); a strict schema
  // elsewhere still gets each unknown field named itself, not its parent.
  for (const issue of parsed.success ? [] : parsed.error.issues) {
    const fields = issue.code === 'unrecognized_keys' ? issue.keys.map((key) => fieldName([...issue.path, key], where)) : [fieldName(issue.path, where)];
    for (const field of fields) {
      if (!named.has(field)) problems.push({ field, message: issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.message });
      named.add(field);
    }
  }
  return { success: false, problems };
}

/** Parse with validate() or throw a 400 that lists every field and its problem. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, where = 'body'): z.output<S> {
  const result = validate(schema, value, where);
  if (result.success) return result.data;
  const summary = result.problems.map((d) => `${d.field}: ${d.message}`).join('; ');
  throw new HttpError(400, 'validation_error', `invalid ${where}: ${summary}`, result.problems);
}
