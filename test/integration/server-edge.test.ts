/**
 * Issue #19 over real TLS: a not-yet-valid certificate swapped in under load never replaces the
 * working one; an emptied config file never replaces the last good config; and stalled, idle or
 * surplus connections are closed within the configured bounds (short bounds, so this takes seconds).
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import { pino, type Logger } from 'pino';
import type { AdmissionReview } from '../../src/admission/types.js';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigStore, type ConfigReloadEvent } from '../../src/config/store.js';
import { DEFAULT_SERVER_BOUNDS, type ServerBounds } from '../../src/server/bounds.js';
import { generateCA, generateServingCert, servingNames, type KeyPairPem } from '../../src/tls/certs.js';
import { TlsFileSource, type TlsReloadEvent } from '../../src/tls/source.js';
import { ProjectedVolume, admissionReview, nextEvent } from '../unit/server/support.js';
import { eventually, metricValue, openTls, startServer, type LogLine, type RunningServer } from './serverSupport.js';

/** A pino logger whose JSON lines are kept for assertions. */
function captureLogs(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

const POLL_MS = 25;
const HOUR = 3_600_000;
const serialOf = (pair: KeyPairPem) => new X509Certificate(pair.cert).serialNumber;

describe('a not-yet-valid certificate under load', () => {
  let root: string;
  let ca: KeyPairPem;
  let current: KeyPairPem;
  let future: KeyPairPem;
  let volume: ProjectedVolume;
  let source: TlsFileSource;
  let running: RunningServer;
  const capture = captureLogs();

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'netpol-guard-edge-tls-'));
    ca = await generateCA();
    current = await generateServingCert({ ca, ...servingNames() });
    // Issued as if by a machine whose clock runs two hours ahead: notBefore is an hour from now.
    future = await generateServingCert({ ca, ...servingNames(), now: new Date(Date.now() + 2 * HOUR) });
    volume = new ProjectedVolume(path.join(root, 'tls'));
    volume.write({ 'tls.crt': current.cert, 'tls.key': current.key });
    const opened = TlsFileSource.open({ certFile: volume.path('tls.crt'), keyFile: volume.path('tls.key'), pollIntervalMs: POLL_MS, logger: capture.logger });
    if (!opened.ok) assert.fail(opened.errors.join('\n'));
    source = opened.source;
    running = await startServer({ caCert: ca.cert, tls: source });
    source.start();
  });
  after(async () => {
    await running.close();
    source.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('keeps every verified handshake working with the old serial; readyz, metric and log say why', async () => {
    let stop = false;
    const serials: string[] = [];
    const failures: string[] = [];
    // Four clients, each a fresh verified TLS connection per request, for the whole swap.
    const client = async (id: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        try {
          const res = await running.post('/validate', admissionReview({ uid: `load-${id}-${i}` }));
          if (res.status !== 200) failures.push(`status ${res.status}: ${res.text}`);
          serials.push(res.serialNumber);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const clients = [0, 1, 2, 3].map(client);
    await eventually(() => serials.length >= 20, 10_000, 'load running');

    const refused = nextEvent<TlsReloadEvent>((l) => source.onReload(l));
    volume.write({ 'tls.crt': future.cert, 'tls.key': future.key });
    const event = await refused;
    assert.ok(!event.ok);
    assert.match(event.errors.join(), /certificate is not valid yet/);
    const afterSwap = serials.length;
    await eventually(() => serials.length >= afterSwap + 40, 10_000, 'load continuing after the swap');
    stop = true;
    await Promise.all(clients);

    assert.deepEqual(failures, [], 'no request failed');
    assert.ok(serials.length >= 60);
    assert.ok(serials.every((s) => s === serialOf(current)), 'every handshake got the old, valid certificate');

    const readyz = await running.request('/readyz');
    assert.equal(readyz.status, 200, 'the old pair is valid: the pod stays ready');
    const tlsStatus = readyz.json<{ tls: { stale: boolean; serialNumber: string; lastReloadError?: { errors: string[]; rejectedCertificate?: Record<string, string> } } }>().tls;
    assert.equal(tlsStatus.stale, true);
    assert.equal(tlsStatus.serialNumber, serialOf(current));
    const futureX509 = new X509Certificate(future.cert);
    assert.equal(tlsStatus.lastReloadError?.rejectedCertificate?.problem, 'not-yet-valid');
    assert.equal(tlsStatus.lastReloadError?.rejectedCertificate?.serialNumber, futureX509.serialNumber);
    assert.equal(tlsStatus.lastReloadError?.rejectedCertificate?.notBefore, new Date(futureX509.validFrom).toISOString());

    const metrics = (await running.request('/metrics')).text;
    assert.equal(metricValue(metrics, 'netpol_guard_tls_stale'), 1);
    assert.equal(metricValue(metrics, 'netpol_guard_tls_reloads_total', { result: 'failure' }), 1);

    const line = capture.lines.find((l) => l.problem === 'not-yet-valid');
    assert.ok(line, 'a log line names the problem');
    assert.equal(line.level, 40);
    const currentX509 = new X509Certificate(current.cert);
    for (const at of [futureX509.validFrom, futureX509.validTo, currentX509.validFrom, currentX509.validTo]) {
      assert.ok(line.msg.includes(new Date(at).toISOString()), `log line names ${new Date(at).toISOString()}: ${line.msg}`);
    }
  });
});

describe('an emptied config file', () => {
  let root: string;
  let certs: { ca: KeyPairPem; pair: KeyPairPem };
  let volume: ProjectedVolume;
  let store: ConfigStore;
  let source: TlsFileSource;
  let running: RunningServer;
  const capture = captureLogs();

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'netpol-guard-edge-config-'));
    const ca = await generateCA();
    certs = { ca, pair: await generateServingCert({ ca, ...servingNames() }) };
    const tlsVolume = new ProjectedVolume(path.join(root, 'tls'));
    tlsVolume.write({ 'tls.crt': certs.pair.cert, 'tls.key': certs.pair.key });
    source = openTls({ certFile: tlsVolume.path('tls.crt'), keyFile: tlsVolume.path('tls.key') });
    volume = new ProjectedVolume(path.join(root, 'config'));
    // warn mode: the grant below lacks a ticket and an expiry, so enforce (the default) would deny it.
    volume.write({ 'config.yaml': 'mode: warn\n' });
    const opened = ConfigStore.fromFile(volume.path('config.yaml'), { pollIntervalMs: POLL_MS, logger: capture.logger });
    if (!opened.ok) assert.fail(opened.errors.join('\n'));
    store = opened.store;
    running = await startServer({ caCert: ca.cert, tls: source, config: store });
    store.start();
  });
  after(async () => {
    await running.close();
    store.close();
    source.close();
    rmSync(root, { recursive: true, force: true });
  });

  const verdict = async (uid: string) => {
    const res = await running.post('/validate', admissionReview({ uid }));
    assert.equal(res.status, 200, res.text);
    return res.json<AdmissionReview>().response!;
  };

  it('keeps answering with the last good config, and readyz and metrics say the file is empty', async () => {
    const before = await verdict('before-empty');
    assert.equal(before.allowed, true);
    assert.ok((before.warnings ?? []).length > 0, 'warn mode admits with warnings');

    for (const text of ['', '  \n\t\n']) {
      const refused = nextEvent<ConfigReloadEvent>((l) => store.onReload(l));
      volume.write({ 'config.yaml': text });
      const event = await refused;
      assert.ok(!event.ok);
      assert.match(event.errors.join(), /config file is empty/);

      const during = await verdict(`while-empty-${text.length}`);
      assert.deepEqual(during, { ...before, uid: `while-empty-${text.length}` }, 'the verdict of the last good config');

      const readyz = (await running.request('/readyz')).json<{ ready: boolean; config: { stale: boolean; lastReloadError?: { errors: string[] } } }>();
      assert.equal(readyz.ready, true);
      assert.equal(readyz.config.stale, true);
      assert.match(readyz.config.lastReloadError?.errors.join() ?? '', /config\.yaml: config file is empty/);
      assert.equal(metricValue((await running.request('/metrics')).text, 'netpol_guard_config_stale'), 1);
    }
    assert.ok(capture.lines.some((l) => l.msg === 'config file is empty; keeping the last good config' && l.level === 50));

    const fixed = nextEvent<ConfigReloadEvent>((l) => store.onReload(l));
    volume.write({ 'config.yaml': 'mode: enforce\n' });
    assert.ok((await fixed).ok);
    assert.equal((await verdict('after-fix')).allowed, false, 'a real edit still applies');
  });
});

describe('connection bounds', () => {
  const bounds: ServerBounds = {
    ...DEFAULT_SERVER_BOUNDS,
    headersTimeoutMs: 600,
    requestTimeoutMs: 1_000,
    keepAliveTimeoutMs: 400,
    tlsHandshakeTimeoutMs: 500,
    maxConnections: 200,
  };
  /** Node checks the header and request timeouts every 150 ms here (a quarter of the shortest). */
  const CHECK_MS = 150;
  /** Scheduling on a loaded two-core machine. */
  const SLACK_MS = 1_000;
  let ca: KeyPairPem;
  let root: string;
  let source: TlsFileSource;
  let running: RunningServer;

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'netpol-guard-edge-bounds-'));
    ca = await generateCA();
    const pair = await generateServingCert({ ca, ...servingNames() });
    const volume = new ProjectedVolume(path.join(root, 'tls'));
    volume.write({ 'tls.crt': pair.cert, 'tls.key': pair.key });
    source = openTls({ certFile: volume.path('tls.crt'), keyFile: volume.path('tls.key') });
    running = await startServer({ caCert: ca.cert, tls: source, bounds });
  });
  after(async () => {
    await running.close();
    source.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** Resolves with how long after `since` the socket closed. */
  const closedAfter = (socket: net.Socket, since: () => number): Promise<number> =>
    new Promise((resolve) => {
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(Date.now() - since()));
    });

  const verifiedConnection = (): Promise<tls.TLSSocket> =>
    new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: running.port, ca: ca.cert }, () => resolve(socket));
      socket.on('error', reject);
    });

  it('closes 50 each of stalled connections (no ClientHello, partial headers, partial body) within the bounds', async () => {
    const stalled: Array<{ kind: string; closed: Promise<number>; limit: number; floor: number; received: () => string }> = [];
    for (let i = 0; i < 50; i++) {
      // No ClientHello: TCP only, not a byte sent.
      const raw = net.connect({ host: '127.0.0.1', port: running.port });
      const rawStart = Date.now();
      stalled.push({
        kind: 'no ClientHello',
        closed: closedAfter(raw, () => rawStart),
        limit: bounds.tlsHandshakeTimeoutMs + SLACK_MS,
        floor: bounds.tlsHandshakeTimeoutMs * 0.8,
        received: () => '',
      });
    }
    for (const kind of ['partial headers', 'partial body'] as const) {
      for (let i = 0; i < 50; i++) {
        const socket = await verifiedConnection();
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        const start = Date.now();
        if (kind === 'partial headers') socket.write('POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl');
        else socket.write('POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"apiVersion":');
        const timeout = kind === 'partial headers' ? bounds.headersTimeoutMs : bounds.requestTimeoutMs;
        stalled.push({ kind, closed: closedAfter(socket, () => start), limit: timeout + CHECK_MS + SLACK_MS, floor: timeout * 0.8, received: () => text });
      }
    }
    const durations = await Promise.all(stalled.map((s) => s.closed));
    for (const [i, s] of stalled.entries()) {
      const ms = durations[i]!;
      assert.ok(ms <= s.limit, `${s.kind}: closed after ${ms} ms, limit ${s.limit}`);
      assert.ok(ms >= s.floor, `${s.kind}: closed after ${ms} ms, sooner than its bound allows`);
      // Headers cut short get a 408; a body cut short is past the point where Node can answer.
      if (s.kind === 'partial headers') assert.match(s.received(), /^HTTP\/1\.1 408 /, `${s.kind} is told why`);
    }
    const metrics = (await running.request('/metrics')).text;
    assert.equal(metricValue(metrics, 'netpol_guard_connections_timed_out_total', { phase: 'tls-handshake' }), 50);
    assert.equal(metricValue(metrics, 'netpol_guard_connections_timed_out_total', { phase: 'request' }), 100);

    // The server still answers normally afterwards.
    assert.equal((await running.post('/validate', admissionReview({ uid: 'after-stall' }))).status, 200);
  });

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    // A raw socket: Node's https.Agent would itself drop a socket whose Keep-Alive hint is under 1 s.
    const socket = await verifiedConnection();
    let text = '';
    let idleSince = 0;
    const answered = new Promise<void>((resolve) =>
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        if (text.includes('"status":"ok"')) {
          idleSince = Date.now();
          resolve();
        }
      }),
    );
    const closed = closedAfter(socket, () => idleSince);
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    await answered;
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.match(text, /\r\nconnection: keep-alive\r\n/i);
    const ms = await closed;
    // Node closes the socket 1 s after the timeout it advertises (Keep-Alive: timeout=N), so a
    // client honouring the hint is never cut off mid-request.
    const NODE_KEEP_ALIVE_BUFFER_MS = 1_000;
    assert.ok(ms >= bounds.keepAliveTimeoutMs * 0.8 && ms <= bounds.keepAliveTimeoutMs + NODE_KEEP_ALIVE_BUFFER_MS + SLACK_MS, `idle connection closed after ${ms} ms`);
  });
});

describe('connection cap', () => {
  let ca: KeyPairPem;
  let root: string;
  let source: TlsFileSource;
  let running: RunningServer;
  const MAX = 5;

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'netpol-guard-edge-cap-'));
    ca = await generateCA();
    const pair = await generateServingCert({ ca, ...servingNames() });
    const volume = new ProjectedVolume(path.join(root, 'tls'));
    volume.write({ 'tls.crt': pair.cert, 'tls.key': pair.key });
    source = openTls({ certFile: volume.path('tls.crt'), keyFile: volume.path('tls.key') });
    running = await startServer({ caCert: ca.cert, tls: source, bounds: { maxConnections: MAX } });
  });
  after(async () => {
    await running.close();
    source.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('closes connections beyond the cap on arrival, counts them, and accepts again once one is gone', async () => {
    const held: tls.TLSSocket[] = [];
    for (let i = 0; i < MAX; i++) {
      held.push(
        await new Promise<tls.TLSSocket>((resolve, reject) => {
          const s = tls.connect({ host: '127.0.0.1', port: running.port, ca: ca.cert }, () => resolve(s));
          s.on('error', reject);
        }),
      );
    }
    const surplus = await new Promise<string>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: running.port, ca: ca.cert }, () => resolve('connected'));
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      s.on('close', () => resolve('closed'));
    });
    assert.notEqual(surplus, 'connected', 'a connection beyond the cap never completes a handshake');

    // Freeing one slot lets a real request through (the metrics request below needs one too).
    held.pop()!.destroy();
    await eventually(async () => (await running.request('/healthz').catch(() => undefined))?.status === 200, 5_000, 'a slot is free again');
    const metrics = (await running.request('/metrics')).text;
    assert.ok((metricValue(metrics, 'netpol_guard_connections_dropped_total') ?? 0) >= 1);
    for (const s of held) s.destroy();
  });
});

describe('policy-too-large over TLS', () => {
  let ca: KeyPairPem;
  let root: string;
  let source: TlsFileSource;
  let running: RunningServer;

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'netpol-guard-edge-size-'));
    ca = await generateCA();
    const pair = await generateServingCert({ ca, ...servingNames() });
    const volume = new ProjectedVolume(path.join(root, 'tls'));
    volume.write({ 'tls.crt': pair.cert, 'tls.key': pair.key });
    source = openTls({ certFile: volume.path('tls.crt'), keyFile: volume.path('tls.key') });
    // warn mode: nothing else is ever denied, so the denial below is the size limit's alone.
    const config = ConfigStore.fromConfig(buildConfigOrFail('mode: warn\n'));
    running = await startServer({ caCert: ca.cert, tls: source, config });
  });
  after(async () => {
    await running.close();
    source.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('denies a 100,000-element policy on both endpoints (allowed: false, not a 400), and serves the next admission', async () => {
    const from = Array.from({ length: 100_000 }, (_, i) => ({ ipBlock: { cidr: `10.${(i >> 8) & 255}.${i & 255}.0/24` } }));
    const object = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'huge', namespace: 'shop' }, spec: { podSelector: {}, ingress: [{ from }] } };
    for (const endpoint of ['/mutate', '/validate']) {
      const res = await running.post(endpoint, admissionReview({ uid: `huge${endpoint}`, name: 'huge', object }));
      assert.equal(res.status, 200, res.text.slice(0, 300));
      const response = res.json<AdmissionReview>().response!;
      assert.equal(response.uid, `huge${endpoint}`);
      assert.equal(response.allowed, false);
      assert.equal(response.status?.code, 403);
      assert.match(response.status?.message ?? '', /\[policy-too-large\] spec has more than 2000 elements/);
      assert.equal(response.patch, undefined);
    }
    const metrics = (await running.request('/metrics')).text;
    assert.equal(metricValue(metrics, 'netpol_guard_rule_violations_total', { endpoint: 'validate', rule: 'policy-too-large', action: 'deny' }), 1);
    const normal = await running.post('/validate', admissionReview({ uid: 'normal' }));
    assert.equal(normal.json<AdmissionReview>().response?.allowed, true);
  });
});

function buildConfigOrFail(text: string) {
  const result = parseConfigText(text, 'test');
  if (!result.ok) assert.fail(result.errors.join('\n'));
  return result.config;
}
