// A webhook receiver as a client would write one: verifies every request with
// the standardwebhooks package, acknowledges with 2xx, de-duplicates on
// webhook-id. It can be taken down (port closed) and brought back on the same
// port, or told to answer an error status for a while.
import type http from 'node:http';
import { Webhook } from 'standardwebhooks';
import { startHttp, type LocalServer, type Scope } from './harness.js';

export interface Delivery {
  webhookId: string;
  body: string;
  status: number;
  verified: boolean;
  at: number;
}

export class Receiver {
  private server: LocalServer | null = null;
  private verifier: Webhook | null = null;
  port = 0;
  /** Status to answer (after verification); 'hang' never answers. */
  answer: number | 'hang' = 200;
  readonly deliveries: Delivery[] = [];
  readonly verifyFailures: string[] = [];

  constructor(private readonly scope: Scope) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  setSecret(secret: string): void {
    this.verifier = new Webhook(secret);
  }

  async start(): Promise<void> {
    this.server = await startHttp((req, res) => this.handle(req, res), this.scope, this.port);
    this.port = this.server.port;
  }

  /** Close the port (connections refused) until start() again. */
  async down(): Promise<void> {
    await this.server?.close();
    this.server = null;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const webhookId = String(req.headers['webhook-id'] ?? '');
      let verified = false;
      try {
        if (!this.verifier) throw new Error('no secret set');
        this.verifier.verify(body, req.headers as Record<string, string>);
        verified = true;
      } catch (err) {
        this.verifyFailures.push(`${webhookId}: ${(err as Error).message}`);
      }
      const status = verified ? this.answer : 400;
      this.deliveries.push({ webhookId, body, status: status === 'hang' ? 0 : status, verified, at: Date.now() });
      if (status === 'hang') return;
      res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
    });
  }

  /** webhook-ids acknowledged with a 2xx at least once. */
  acknowledged(): Set<string> {
    return new Set(this.deliveries.filter((d) => d.status >= 200 && d.status < 300).map((d) => d.webhookId));
  }

  /** Distinct webhook-ids seen, and the bodies each arrived with. */
  byId(): Map<string, Delivery[]> {
    const out = new Map<string, Delivery[]>();
    for (const d of this.deliveries) out.set(d.webhookId, [...(out.get(d.webhookId) ?? []), d]);
    return out;
  }
}
