import winston from 'winston';

export type Logger = winston.Logger;

// Defence in depth: even if a key or secret slips into a message or field, it
// never reaches the log sink.
const SECRET_PATTERN = /\b(knowledgesdk_live_|whsec_)[A-Za-z0-9+/=_-]{6,}/g;
const SECRET_FIELDS = new Set(['apikey', 'api_key', 'authorization', 'x-api-key', 'password', 'secret', 'key']);

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.replace(SECRET_PATTERN, '$1[redacted]');
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: redactValue(value.message, depth + 1) };
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_FIELDS.has(k.toLowerCase()) ? '[redacted]' : redactValue(v, depth + 1);
  }
  return out;
}

const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    info[key] = SECRET_FIELDS.has(key.toLowerCase()) ? '[redacted]' : redactValue(info[key], 0);
  }
  return info;
});

/** One JSON object per line on stdout. */
export function createLogger(level: string, defaults: Record<string, unknown> = {}): Logger {
  return winston.createLogger({
    level,
    defaultMeta: defaults,
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: false }), redact(), winston.format.json()),
    transports: [new winston.transports.Console()],
  });
}

/** For tests and CLIs that must stay quiet. */
export function createSilentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
