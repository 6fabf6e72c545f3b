// Standard Webhooks signatures: base64 HMAC-SHA256 over "id.timestamp.body",
// keyed with the base64-decoded part of a "whsec_" secret.
import { createHmac } from 'node:crypto';

export function signatureFor(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** The webhook-signature header: one space-separated signature per active secret. */
export function signatureHeader(secrets: string[], id: string, timestamp: number, body: string): string {
  return secrets.map((s) => signatureFor(s, id, timestamp, body)).join(' ');
}

/** Firecrawl's X-Firecrawl-Signature: "sha256=" and the hex HMAC-SHA256 of the body, keyed with the secret as written. */
export function firecrawlSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
