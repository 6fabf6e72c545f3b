// A webhook receiver on 127.0.0.1 for the webhook tests, and the polling wait they share.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startHttpServer } from './http.js';

export interface Received {
  headers: Record<string, string>;
  body: string;
}

/** Records every request; `answer` picks each reply's status from its body and the requests so far ('hang': never answers). */
export async function startReceiver(answer: (body: string, received: Received[]) => number | 'hang', replyHeaders: Record<string, string> = {}) {
  const received: Received[] = [];
  const server = await startHttpServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers as Record<string, string>, body });
      const status = answer(body, received);
      if (status === 'hang') return;
      res.writeHead(status, replyHeaders).end('ok');
    });
  });
  return { baseUrl: server.url, received };
}

/** Polls `fn` every 50 ms until it returns a truthy value, or throws after `timeoutMs`. */
export async function waitFor<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
