/**
 * A real netpol-guard server on an ephemeral 127.0.0.1 port over TLS, with a client that trusts
 * only the test CA (verification stays on), and the server's log lines captured for assertions.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { defaultConfig } from '../../src/config/load.js';
import { ConfigStore, type ConfigSource } from '../../src/config/store.js';
import { buildServer, type BuildServerOptions, type GuardServer } from '../../src/server/app.js';
import { ensureCertificates, servingNames } from '../../src/tls/certs.js';
import { TlsFileSource, type TlsSource } from '../../src/tls/source.js';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The served certificate's serial, from the TLS socket the answer came on. */
  serialNumber: string;
  json<T = Record<string, unknown>>(): T;
}

export interface RequestOptions {
  method?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Default: a fresh connection per request (agent: false). */
  agent?: https.Agent | false;
}

export interface RunningServer {
  server: GuardServer;
  port: number;
  caCert: string;
  logs: LogLine[];
  request(path: string, options?: RequestOptions): Promise<Response>;
  /** POST a JSON value with content-type application/json. */
  post(path: string, body: unknown, options?: RequestOptions): Promise<Response>;
  close(): Promise<void>;
}

export interface TestCertificates {
  dir: string;
  caCert: string;
  certFile: string;
  keyFile: string;
  remove(): void;
}

/** A CA and a serving certificate for 127.0.0.1 in a temp directory. */
export async function testCertificates(): Promise<TestCertificates> {
  const dir = mkdtempSync(path.join(tmpdir(), 'netpol-guard-it-'));
  const ensured = await ensureCertificates({ dir, ...servingNames() });
  return {
    dir,
    caCert: readFileSync(ensured.paths.caCert, 'utf8'),
    certFile: ensured.paths.cert,
    keyFile: ensured.paths.key,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function openTls(certs: { certFile: string; keyFile: string }, pollIntervalMs?: number): TlsFileSource {
  const opened = TlsFileSource.open({ certFile: certs.certFile, keyFile: certs.keyFile, pollIntervalMs });
  if (!opened.ok) assert.fail(opened.errors.join('\n'));
  return opened.source;
}

export interface StartOptions extends Partial<Omit<BuildServerOptions, 'config' | 'tls' | 'logger'>> {
  caCert: string;
  tls: TlsSource;
  config?: ConfigSource;
}

export async function startServer(options: StartOptions): Promise<RunningServer> {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const { caCert, tls, config, ...rest } = options;
  const server = await buildServer({
    ...rest,
    config: config ?? ConfigStore.fromConfig(defaultConfig()),
    tls,
    logger: pino({ level: 'info' }, sink),
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });

  const request = (urlPath: string, opts: RequestOptions = {}): Promise<Response> =>
    new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          path: urlPath,
          method: opts.method ?? 'GET',
          headers: opts.headers,
          ca: caCert,
          agent: opts.agent ?? false,
        },
        (res) => {
          const serialNumber = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text,
              serialNumber,
              json: <T>() => JSON.parse(text) as T,
            });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(opts.body);
    });

  return {
    server,
    port,
    caCert,
    logs,
    request,
    post: (urlPath, body, opts = {}) =>
      request(urlPath, {
        ...opts,
        method: 'POST',
        body: typeof body === 'string' ? body : JSON.stringify(body),
        headers: { 'content-type': 'application/json', ...opts.headers },
      }),
    close: async () => {
      await server.app.close();
    },
  };
}

/** Polls `condition` every 10 ms until it holds, failing after `ms`. */
export async function eventually(condition: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`${what} did not hold within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The value of one Prometheus sample (`name{labels} value`), or undefined when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (.+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[3] ?? '').matchAll(/([a-zA-Z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[4]);
  }
  return undefined;
}

/** Every 4xx/5xx body is JSON `{error, reason}` and never carries a stack trace. */
export function assertErrorBody(response: Response, status: number, reason: string): { error: string; reason: string } {
  assert.equal(response.status, status, response.text);
  assert.match(String(response.headers['content-type']), /^application\/json/);
  const body = response.json<{ error: string; reason: string }>();
  assert.equal(body.reason, reason, response.text);
  assert.equal(typeof body.error, 'string');
  assert.ok(body.error.length > 0);
  assert.ok(!/\n\s+at |stack/i.test(response.text), `no stack trace in ${response.text}`);
  return body;
}
