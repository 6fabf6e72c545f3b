// Firecrawl's `webhook` on crawl and batch scrape: a URL or {url, headers,
// metadata, events}. Checked here (the URL against the address policy, the
// events by name, the headers as headers), kept in the job's input with the
// headers sealed, and sent through Gleaner's webhook queue: `started` in the
// transaction that accepts the job, its pages and `completed` / `failed` when it ends
// (core/webhooks/events.ts), signed X-Firecrawl-Signature with the key's secret.
import type { Db } from '../../core/platform/db.js';
import type { Job, JobInput } from '../../core/jobs/index.js';
import { checkUrlSyntax } from '../../core/outbound/ssrf.js';
import type { Boss } from '../../core/queue/index.js';
import type { SecretBox } from '../../core/secretBox.js';
import { FIRECRAWL_EVENTS, firecrawlBody, firecrawlMessage, firecrawlWants, type FirecrawlWebhookType } from '../../core/webhooks/events.js';
import { emitMessages } from '../../core/webhooks/messages.js';
import { FirecrawlError } from './errors.js';

type RawWebhook = string | { url: string; headers?: Record<string, string>; metadata?: Record<string, unknown>; events?: string[] };

/** Headers Gleaner sets on a delivery itself; the client's may not replace them. */
const RESERVED = new Set(['host', 'content-type', 'content-length', 'transfer-encoding', 'connection', 'user-agent', 'webhook-id', 'webhook-timestamp', 'webhook-signature', 'x-firecrawl-signature']);
const MAX_HEADERS = 20;
const MAX_METADATA_BYTES = 4096;

const invalid = (field: string, message: string) => new FirecrawlError(400, `invalid body: ${field}: ${message}`, [{ field, message }], 'BAD_REQUEST');

/** The webhook as the job's input keeps it; undefined when the request has none. */
export function webhookInput(raw: RawWebhook | undefined, type: FirecrawlWebhookType, p: { allowPrivateNetworks: boolean; box: SecretBox; apiKeyId: string }): Pick<JobInput, 'webhook'> {
  if (raw === undefined) return {};
  const hook = typeof raw === 'string' ? { url: raw } : raw;
  const field = typeof raw === 'string' ? 'webhook' : 'webhook.url';
  if (hook.url.length > 2048) throw invalid(field, 'must be at most 2048 characters');
  const checked = checkUrlSyntax(hook.url, { allowPrivateNetworks: p.allowPrivateNetworks });
  if (!checked.ok) throw invalid(field, checked.message);
  const events = hook.events ?? [];
  events.forEach((e, i) => {
    if (!(FIRECRAWL_EVENTS as readonly string[]).includes(e) && !FIRECRAWL_EVENTS.some((name) => e === `${type}.${name}`)) {
      throw invalid(`webhook.events.${i}`, `must be one of ${FIRECRAWL_EVENTS.join(', ')} (or ${type}.<event>)`);
    }
  });
  const headers = hook.headers ?? {};
  const names = Object.keys(headers);
  if (names.length > MAX_HEADERS) throw invalid('webhook.headers', `at most ${MAX_HEADERS} headers`);
  for (const name of names) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/.test(name)) throw invalid(`webhook.headers.${name}`, 'is not a valid header name');
    if (RESERVED.has(name.toLowerCase())) throw invalid(`webhook.headers.${name}`, 'is set by Gleaner and cannot be overridden');
    const value = headers[name]!;
    if (value.length > 4096 || /[\r\n\0]/.test(value)) throw invalid(`webhook.headers.${name}`, 'must be at most 4096 characters without line breaks');
  }
  if (hook.metadata && JSON.stringify(hook.metadata).length > MAX_METADATA_BYTES) throw invalid('webhook.metadata', `must be at most ${MAX_METADATA_BYTES} bytes of JSON`);
  return {
    webhook: {
      url: hook.url,
      type,
      ...(names.length ? { headers: p.box.seal(JSON.stringify(headers), p.apiKeyId) } : {}),
      ...(hook.metadata ? { metadata: hook.metadata } : {}),
      ...(events.length ? { events } : {}),
    },
  };
}

/**
 * What queues `<type>.started` for a job being created, in the job's own
 * transaction (JobCreator.createWith): the job and its first event commit
 * together. Undefined when the job has no webhook that wants it.
 */
export function startedAlongside(input: JobInput, boss: Boss, box: SecretBox): ((tx: Db, job: Job) => Promise<unknown>) | undefined {
  const hook = input.webhook;
  if (!hook || !firecrawlWants(hook.events, hook.type, 'started')) return undefined;
  return (tx, job) => emitMessages(tx, boss, box, [firecrawlMessage(job, hook, box, 'started', `fc:${job.id}:started`, firecrawlBody(hook, job.id, 'started', { success: true }))]);
}
