/**
 * netpol_guard_tls_not_after_timestamp_seconds: the serving certificate's and the CA's notAfter,
 * as served on /metrics, follow a rotation of the Secret (pair and ca.crt rewritten together).
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateCA, generateServingCert, servingNames, type KeyPairPem } from '../../src/tls/certs.js';
import { TlsFileSource, type TlsReloadEvent } from '../../src/tls/source.js';
import { ProjectedVolume, nextEvent } from '../unit/server/support.js';
import { metricValue, startServer, type RunningServer } from './serverSupport.js';

const METRIC = 'netpol_guard_tls_not_after_timestamp_seconds';
const seconds = (pem: string): number => Math.floor(new Date(new X509Certificate(pem).validTo).getTime() / 1000);

describe('certificate expiry metric', () => {
  let root: string;
  let oldCa: KeyPairPem;
  let newCa: KeyPairPem;
  let oldPair: KeyPairPem;
  let newPair: KeyPairPem;

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'netpol-guard-tls-expiry-'));
    oldCa = await generateCA({ validityDays: 400 });
    newCa = await generateCA({ commonName: 'netpol-guard-ca-2', validityDays: 900 });
    oldPair = await generateServingCert({ ca: oldCa, ...servingNames(), validityDays: 30 });
    newPair = await generateServingCert({ ca: newCa, ...servingNames(), validityDays: 90 });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  async function serve(dir: string, caFile: string | undefined): Promise<{ source: TlsFileSource; running: RunningServer }> {
    const volume = new ProjectedVolume(dir);
    const opened = TlsFileSource.open({ certFile: volume.path('tls.crt'), keyFile: volume.path('tls.key'), ...(caFile ? { caFile } : {}), pollIntervalMs: 25 });
    if (!opened.ok) assert.fail(opened.errors.join('\n'));
    // The client trusts both CAs, as a caBundle does during a CA rotation.
    const running = await startServer({ caCert: `${oldCa.cert.trim()}\n${newCa.cert.trim()}\n`, tls: opened.source, defaultMetrics: false });
    opened.source.start();
    return { source: opened.source, running };
  }

  it('exports serving and ca, and both move when the Secret is rotated to a new CA', async () => {
    const volume = new ProjectedVolume(path.join(root, 'rotate'));
    volume.write({ 'tls.crt': oldPair.cert, 'tls.key': oldPair.key, 'ca.crt': oldCa.cert });
    const { source, running } = await serve(volume.dir, volume.path('ca.crt'));
    try {
      let text = (await running.request('/metrics')).text;
      assert.equal(metricValue(text, METRIC, { certificate: 'serving' }), seconds(oldPair.cert));
      assert.equal(metricValue(text, METRIC, { certificate: 'ca' }), seconds(oldCa.cert));
      assert.notEqual(seconds(oldPair.cert), seconds(oldCa.cert), 'the two series carry different certificates');

      const reloaded = nextEvent<TlsReloadEvent>((l) => source.onReload(l));
      volume.write({ 'tls.crt': newPair.cert, 'tls.key': newPair.key, 'ca.crt': newCa.cert });
      assert.ok((await reloaded).ok);
      text = (await running.request('/metrics')).text;
      assert.equal(metricValue(text, METRIC, { certificate: 'serving' }), seconds(newPair.cert));
      assert.equal(metricValue(text, METRIC, { certificate: 'ca' }), seconds(newCa.cert));
    } finally {
      await running.close();
      source.close();
    }
  });

  it('without a CA file, or with one that is not a certificate, only the serving series exists', async () => {
    for (const [name, caContent] of [['no-ca', undefined], ['bad-ca', 'not a certificate\n']] as const) {
      const volume = new ProjectedVolume(path.join(root, name));
      volume.write({ 'tls.crt': oldPair.cert, 'tls.key': oldPair.key, ...(caContent !== undefined ? { 'ca.crt': caContent } : {}) });
      const { source, running } = await serve(volume.dir, caContent === undefined ? undefined : volume.path('ca.crt'));
      try {
        const text = (await running.request('/metrics')).text;
        assert.equal(metricValue(text, METRIC, { certificate: 'serving' }), seconds(oldPair.cert), name);
        assert.equal(metricValue(text, METRIC, { certificate: 'ca' }), undefined, name);
        assert.ok(!text.includes('certificate="ca"'), `${name}: no ca series at all`);
      } finally {
        await running.close();
        source.close();
      }
    }
  });
});
