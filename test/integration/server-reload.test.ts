/**
 * Hot reload on a running server: certificate rotation on disk reaches new connections without a
 * restart (open ones keep working), and config edits apply or, when invalid, are refused while the
 * last good config stays in force and /readyz and /metrics say so.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { X509Certificate } from 'node:crypto';
import type { AdmissionReview } from '../../src/admission/types.js';
import { ConfigStore, type ConfigReloadEvent } from '../../src/config/store.js';
import type { GuardConfig } from '../../src/config/types.js';
import { generateCA, generateServingCert, servingNames, type KeyPairPem } from '../../src/tls/certs.js';
import type { TlsFileSource, TlsReloadEvent } from '../../src/tls/source.js';
import { ProjectedVolume, admissionReview, decision, nextEvent } from '../unit/server/support.js';
import { metricValue, openTls, startServer, type RunningServer } from './serverSupport.js';

const POLL_MS = 25;

describe('hot reload', () => {
  let root: string;
  let ca: KeyPairPem;
  const pairs: KeyPairPem[] = [];
  let tlsVolume: ProjectedVolume;
  let configVolume: ProjectedVolume;
  let tlsSource: TlsFileSource;
  let store: ConfigStore;
  let running: RunningServer;
  const seenConfigs: GuardConfig[] = [];

  const serialOf = (pair: KeyPairPem) => new X509Certificate(pair.cert).serialNumber;

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'netpol-guard-reload-'));
    ca = await generateCA();
    for (let i = 0; i < 3; i++) pairs.push(await generateServingCert({ ca, ...servingNames() }));
    tlsVolume = new ProjectedVolume(path.join(root, 'tls'));
    tlsVolume.write({ 'tls.crt': pairs[0]!.cert, 'tls.key': pairs[0]!.key });
    configVolume = new ProjectedVolume(path.join(root, 'config'));
    configVolume.write({ 'config.yaml': 'mode: enforce\n' });

    tlsSource = openTls({ certFile: tlsVolume.path('tls.crt'), keyFile: tlsVolume.path('tls.key') }, POLL_MS);
    const opened = ConfigStore.fromFile(configVolume.path('config.yaml'), { pollIntervalMs: POLL_MS });
    if (!opened.ok) assert.fail(opened.errors.join('\n'));
    store = opened.store;
    running = await startServer({
      caCert: ca.cert,
      tls: tlsSource,
      config: store,
      handlers: {
        validate: (_request, config) => {
          seenConfigs.push(config);
          return decision();
        },
      },
    });
    tlsSource.start();
    store.start();
  });
  after(async () => {
    await running.close();
    tlsSource.close();
    store.close();
    rmSync(root, { recursive: true, force: true });
  });

  const metrics = async () => (await running.request('/metrics')).text;

  describe('certificate rotation', () => {
    it('serves a rotated certificate to new connections without a restart, keeping open ones', async () => {
      const keepAlive = new https.Agent({ keepAlive: true, maxSockets: 1 });
      const first = await running.request('/healthz', { agent: keepAlive });
      assert.equal(first.serialNumber, serialOf(pairs[0]!));

      const reloaded = nextEvent<TlsReloadEvent>((l) => tlsSource.onReload(l));
      tlsVolume.write({ 'tls.crt': pairs[1]!.cert, 'tls.key': pairs[1]!.key });
      assert.ok((await reloaded).ok);

      const fresh = await running.request('/healthz');
      assert.equal(fresh.status, 200);
      assert.equal(fresh.serialNumber, serialOf(pairs[1]!), 'a new connection gets the new certificate');
      assert.notEqual(fresh.serialNumber, first.serialNumber);

      const reused = await running.post('/validate', admissionReview({ uid: 'over-old-connection' }), { agent: keepAlive });
      assert.equal(reused.status, 200, 'the connection opened before the rotation still works');
      assert.equal(reused.serialNumber, serialOf(pairs[0]!), 'and still carries the certificate it was opened with');
      keepAlive.destroy();

      assert.equal(metricValue(await metrics(), 'netpol_guard_tls_reloads_total', { result: 'success' }), 1);
      const readyz = (await running.request('/readyz')).json<{ tls: { serialNumber: string; stale: boolean } }>();
      assert.equal(readyz.tls.serialNumber, serialOf(pairs[1]!));
      assert.equal(readyz.tls.stale, false);
    });

    it('keeps the current certificate when the new files do not match, and reports it', async () => {
      const rejected = nextEvent<TlsReloadEvent>((l) => tlsSource.onReload(l));
      tlsVolume.write({ 'tls.crt': pairs[2]!.cert, 'tls.key': pairs[0]!.key });
      const event = await rejected;
      assert.ok(!event.ok);

      const res = await running.request('/readyz');
      assert.equal(res.status, 200, 'a stale but valid certificate keeps the pod ready');
      assert.equal(res.serialNumber, serialOf(pairs[1]!), 'still serving the last good pair');
      const readyz = res.json<{ ready: boolean; tls: { stale: boolean; lastReloadError?: { errors: string[] } } }>();
      assert.equal(readyz.tls.stale, true);
      assert.match(readyz.tls.lastReloadError?.errors.join() ?? '', /private key does not belong to the certificate/);
      assert.equal(metricValue(await metrics(), 'netpol_guard_tls_reloads_total', { result: 'failure' }), 1);

      const fixed = nextEvent<TlsReloadEvent>((l) => tlsSource.onReload(l));
      tlsVolume.write({ 'tls.crt': pairs[2]!.cert, 'tls.key': pairs[2]!.key });
      assert.ok((await fixed).ok);
      assert.equal((await running.request('/healthz')).serialNumber, serialOf(pairs[2]!));
    });
  });

  describe('config reload', () => {
    it('applies a valid edit to the next admission', async () => {
      await running.post('/validate', admissionReview({ uid: 'before-edit' }));
      assert.equal(seenConfigs.at(-1)?.mode, 'enforce');

      const reloaded = nextEvent<ConfigReloadEvent>((l) => store.onReload(l));
      configVolume.write({ 'config.yaml': 'mode: warn\nlimits:\n  maxTTL: 4h\n' });
      assert.ok((await reloaded).ok);

      const res = await running.post('/validate', admissionReview({ uid: 'after-edit' }));
      assert.equal(res.json<AdmissionReview>().response?.uid, 'after-edit');
      assert.equal(seenConfigs.at(-1)?.mode, 'warn');
      assert.equal(seenConfigs.at(-1)?.limits.maxTTLms, 4 * 3_600_000);
      assert.equal(metricValue(await metrics(), 'netpol_guard_config_reloads_total', { result: 'success' }), 1);
    });

    it('keeps the last good config when the file turns invalid; readyz and metrics report it', async () => {
      const rejected = nextEvent<ConfigReloadEvent>((l) => store.onReload(l));
      configVolume.write({ 'config.yaml': 'mode: loud\nlimits:\n  maxTtl: 1h\n' });
      assert.ok(!(await rejected).ok);

      await running.post('/validate', admissionReview({ uid: 'while-stale' }));
      assert.equal(seenConfigs.at(-1)?.mode, 'warn', 'last good config still in force');

      const res = await running.request('/readyz');
      assert.equal(res.status, 200, 'stale but valid config keeps the pod ready');
      const readyz = res.json<{ ready: boolean; config: { stale: boolean; source: string; lastReloadError?: { errors: string[] } } }>();
      assert.equal(readyz.ready, true);
      assert.equal(readyz.config.stale, true);
      assert.equal(readyz.config.source, configVolume.path('config.yaml'));
      const errors = readyz.config.lastReloadError?.errors ?? [];
      assert.ok(errors.length >= 2, errors.join('\n'));
      assert.ok(errors.every((e) => e.startsWith(configVolume.path('config.yaml'))), 'each error names the file');
      assert.ok(errors.some((e) => /maxTtl/.test(e)));

      const text = await metrics();
      assert.equal(metricValue(text, 'netpol_guard_config_stale'), 1);
      assert.equal(metricValue(text, 'netpol_guard_config_reloads_total', { result: 'failure' }), 1);

      const fixed = nextEvent<ConfigReloadEvent>((l) => store.onReload(l));
      configVolume.write({ 'config.yaml': 'mode: enforce\n' });
      assert.ok((await fixed).ok);
      assert.equal(metricValue(await metrics(), 'netpol_guard_config_stale'), 0);
      const recovered = (await running.request('/readyz')).json<{ config: { stale: boolean; lastReloadError?: unknown } }>();
      assert.equal(recovered.config.stale, false);
      assert.equal(recovered.config.lastReloadError, undefined);
    });
  });
});
