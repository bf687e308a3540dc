/** A local HTTPS webhook receiver for the notification tests, with a certificate from src/tls. */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateCA, generateServingCert } from '../../src/tls/certs.js';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** What the receiver does with one request: answer with a status, or never answer. */
export type Behaviour = { status: number } | 'hang';

export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** Applied to requests in order; when used up, `fallback` answers. */
  readonly script: Behaviour[] = [];
  fallback: Behaviour = { status: 200 };
  private readonly hung: ServerResponse[] = [];

  private constructor(private readonly server: Server, readonly caPem: string) {}

  /**
   * Starts on 127.0.0.1 with a serving certificate for `localhost` and 127.0.0.1, signed by a
   * fresh CA (caPem) that a client trusts only when given it.
   */
  static async start(): Promise<WebhookReceiver> {
    // A distinct name per receiver: a CA bundle holding two CAs of one name verifies against the first only.
    const ca = await generateCA({ commonName: `webhook-test-ca-${randomUUID()}` });
    const serving = await generateServingCert({ ca, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    let receiver!: WebhookReceiver;
    const server = createServer({ cert: serving.cert, key: serving.key }, (req, res) => receiver.handle(req, res));
    receiver = new WebhookReceiver(server, ca.cert);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  /** A URL with a secret-looking path, like a Slack incoming webhook's. */
  url(secret = 'T000/B000/s3cr3t-t0ken'): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/${secret}`;
  }

  bodies(): unknown[] {
    return this.requests.map((r) => JSON.parse(r.body) as unknown);
  }

  async stop(): Promise<void> {
    for (const res of this.hung) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const behaviour = this.script.shift() ?? this.fallback;
      if (behaviour === 'hang') {
        this.hung.push(res);
        return;
      }
      res.writeHead(behaviour.status, { 'content-type': 'text/plain' }).end('ok');
    });
  }
}
