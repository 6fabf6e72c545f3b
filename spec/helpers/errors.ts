// Reads an API error body's machine-readable parts. The body is moving from
// {error: {code, message, details}} to {statusCode, error, message, code, details}
// (KnowledgeSDK's client reads `message`/`code` at the top level); both are read
// here so tests written against either keep their meaning during the change.
type ErrorBody = { code?: unknown; details?: unknown; message?: unknown; error?: unknown } | null | undefined;

const nested = (body: ErrorBody): { code?: unknown; message?: unknown; details?: unknown } | undefined =>
  body && typeof body.error === 'object' && body.error !== null ? (body.error as { code?: unknown }) : undefined;

export function errorCode(body: ErrorBody): string | undefined {
  const code = typeof body?.code === 'string' ? body.code : nested(body)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function errorMessage(body: ErrorBody): string | undefined {
  const message = typeof body?.message === 'string' ? body.message : nested(body)?.message;
  return typeof message === 'string' ? message : undefined;
}

export function errorDetails(body: ErrorBody): unknown {
  return body?.details ?? nested(body)?.details;
}
