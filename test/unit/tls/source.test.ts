import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateCA, generateServingCert, servingNames, type KeyPairPem } from '../../../src/tls/certs.js';
import { NOT_BEFORE_TOLERANCE_MS } from '../../../src/tls/keypair.js';
import { TlsFileSource, type TlsReloadEvent } from '../../../src/tls/source.js';
import { ProjectedVolume, nextEvent } from '../server/support.js';

const NOW = new Date('2026-11-23T12:00:00Z');
const HOUR = 60 * 60 * 1000;
const serial = (pem: string) => new X509Certificate(pem).serialNumber;

describe('TlsFileSource', () => {
  let ca: KeyPairPem;
  let first: KeyPairPem;
  let second: KeyPairPem;
  let root: string;
  const dirs: string[] = [];

  before(async () => {
    ca = await generateCA({ now: NOW });
    const names = servingNames();
    first = await generateServingCert({ ca, ...names, now: NOW });
    second = await generateServingCert({ ca, ...names, now: NOW });
    root = mkdtempSync(path.join(tmpdir(), 'netpol-guard-tls-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const volume = (pair: KeyPairPem): ProjectedVolume => {
    const v = new ProjectedVolume(mkdtempSync(path.join(root, 'vol-')));
    dirs.push(v.dir);
    v.write({ 'tls.crt': pair.cert, 'tls.key': pair.key });
    return v;
  };
  const open = (v: ProjectedVolume, pollIntervalMs = 1_000) => {
    const opened = TlsFileSource.open({ certFile: v.path('tls.crt'), keyFile: v.path('tls.key'), now: () => NOW, pollIntervalMs });
    if (!opened.ok) assert.fail(opened.errors.join('\n'));
    return opened.source;
  };

  it('loads a pair and reports public facts only', () => {
    const v = volume(first);
    const source = open(v);
    assert.equal(source.current().info.serialNumber, serial(first.cert));
    assert.equal(source.current().cert, first.cert);
    const status = source.status();
    assert.equal(status.loaded, true);
    assert.equal(status.stale, false);
    assert.equal(status.certFile, v.path('tls.crt'));
    assert.equal(status.serialNumber, serial(first.cert));
    assert.ok(!JSON.stringify(status).includes('PRIVATE KEY') && !JSON.stringify(status).includes('BEGIN CERTIFICATE'));
    source.close();
  });

  it('refuses to open a mismatched, unreadable or expired pair, naming the files', () => {
    const mismatched = volume({ cert: first.cert, key: second.key });
    const bad = TlsFileSource.open({ certFile: mismatched.path('tls.crt'), keyFile: mismatched.path('tls.key'), now: () => NOW });
    assert.ok(!bad.ok && /tls\.crt \/ .*tls\.key: private key does not belong to the certificate/.test(bad.errors.join()), JSON.stringify(bad));
    const missing = TlsFileSource.open({ certFile: path.join(root, 'nope.crt'), keyFile: path.join(root, 'nope.key') });
    assert.ok(!missing.ok && missing.errors.some((e) => /cannot read .*nope\.crt: ENOENT/.test(e)), JSON.stringify(missing));
    const v = volume(first);
    const expired = TlsFileSource.open({ certFile: v.path('tls.crt'), keyFile: v.path('tls.key'), now: () => new Date('2030-01-01T00:00:00Z') });
    assert.ok(!expired.ok && /expired/.test(expired.errors.join()));
  });

  it('picks up a rotation through a ..data symlink swap', () => {
    const v = volume(first);
    const source = open(v);
    const events: TlsReloadEvent[] = [];
    source.onReload((e) => events.push(e));
    assert.equal(source.check(), undefined, 'nothing changed yet');
    v.write({ 'tls.crt': second.cert, 'tls.key': second.key });
    const event = source.check();
    assert.ok(event?.ok, JSON.stringify(event));
    assert.equal(source.current().info.serialNumber, serial(second.cert));
    assert.equal(events.length, 1);
    assert.equal(source.check(), undefined, 'a change is applied once');
    source.close();
  });

  it('keeps serving the old pair when the new files do not match, and recovers', () => {
    const v = volume(first);
    const source = open(v);
    v.write({ 'tls.crt': second.cert, 'tls.key': first.key });
    const failed = source.check();
    assert.ok(failed && !failed.ok);
    assert.match(failed.errors.join(), /private key does not belong/);
    assert.equal(source.current().info.serialNumber, serial(first.cert), 'previous pair still in force');
    const stale = source.status();
    assert.equal(stale.stale, true);
    assert.match(stale.lastReloadError?.errors.join() ?? '', /private key does not belong/);
    assert.equal(stale.lastReloadError?.at, NOW.toISOString());

    v.write({ 'tls.crt': second.cert, 'tls.key': second.key });
    assert.ok(source.check()?.ok);
    assert.equal(source.current().info.serialNumber, serial(second.cert));
    assert.equal(source.status().stale, false);
    assert.equal(source.status().lastReloadError, undefined);
    source.close();
  });

  it('refuses to open a pair that is not valid yet, naming the files, the problem and the window', async () => {
    const future = await generateServingCert({ ca, ...servingNames(), now: new Date(NOW.getTime() + 2 * HOUR) });
    const v = volume(future);
    const opened = TlsFileSource.open({ certFile: v.path('tls.crt'), keyFile: v.path('tls.key'), now: () => NOW });
    assert.ok(!opened.ok);
    if (opened.ok) return;
    assert.match(opened.errors.join(), /tls\.crt \/ .*tls\.key: certificate is not valid yet: notBefore .* is in the future \(valid .* to .*; now 2026-11-23T12:00:00\.000Z\)/);
  });

  it('keeps serving the old pair when a not-yet-valid pair is swapped in, reports it, and serves it once valid', async () => {
    let clock = NOW;
    const future = await generateServingCert({ ca, ...servingNames(), now: new Date(NOW.getTime() + 2 * HOUR) });
    const futureNotBefore = new Date(new X509Certificate(future.cert).validFrom);
    const v = volume(first);
    const opened = TlsFileSource.open({ certFile: v.path('tls.crt'), keyFile: v.path('tls.key'), now: () => clock });
    if (!opened.ok) return assert.fail(opened.errors.join());
    const source = opened.source;
    const events: TlsReloadEvent[] = [];
    source.onReload((e) => events.push(e));

    v.write({ 'tls.crt': future.cert, 'tls.key': future.key });
    const refused = source.check();
    assert.ok(refused && !refused.ok);
    assert.match(refused.errors.join(), /certificate is not valid yet/);
    assert.equal(source.current().info.serialNumber, serial(first.cert), 'the previous pair keeps serving');
    const status = source.status();
    assert.equal(status.stale, true);
    assert.equal(status.serialNumber, serial(first.cert));
    assert.deepEqual(status.lastReloadError?.rejectedCertificate, {
      problem: 'not-yet-valid',
      serialNumber: serial(future.cert),
      notBefore: futureNotBefore.toISOString(),
      notAfter: new Date(new X509Certificate(future.cert).validTo).toISOString(),
      retryAt: new Date(futureNotBefore.getTime() - NOT_BEFORE_TOLERANCE_MS).toISOString(),
    });

    // Unchanged bytes: a check before notBefore changes nothing and reports nothing new.
    clock = new Date(futureNotBefore.getTime() - NOT_BEFORE_TOLERANCE_MS - 1_000);
    assert.equal(source.check(), undefined);
    assert.equal(source.current().info.serialNumber, serial(first.cert));
    assert.equal(source.status().stale, true);

    // Once its window opens, the same bytes on disk are served without any change to them.
    clock = futureNotBefore;
    const loaded = source.check();
    assert.ok(loaded?.ok, JSON.stringify(loaded));
    assert.equal(source.current().info.serialNumber, serial(future.cert));
    assert.equal(source.status().stale, false);
    assert.equal(source.status().lastReloadError, undefined);
    assert.deepEqual(events.map((e) => e.ok), [false, true]);

    // The adopted watcher still follows the files.
    v.write({ 'tls.crt': second.cert, 'tls.key': second.key });
    assert.ok(source.check()?.ok);
    assert.equal(source.current().info.serialNumber, serial(second.cert));
    assert.deepEqual(events.map((e) => e.ok), [false, true, true]);
    source.close();
  });

  it('serves a pre-issued pair by itself when its notBefore arrives, once started', async () => {
    const soon = await generateServingCert({ ca, ...servingNames(), now: new Date(Date.now() + 60 * 60 * 1000 + NOT_BEFORE_TOLERANCE_MS + 2_000) });
    const v = volume(first);
    const opened = TlsFileSource.open({ certFile: v.path('tls.crt'), keyFile: v.path('tls.key'), pollIntervalMs: 20 });
    if (!opened.ok) return assert.fail(opened.errors.join());
    const source = opened.source;
    source.start();
    const refused = nextEvent<TlsReloadEvent>((l) => source.onReload(l));
    v.write({ 'tls.crt': soon.cert, 'tls.key': soon.key });
    assert.equal((await refused).ok, false);
    assert.equal(source.current().info.serialNumber, serial(first.cert));
    const served = await nextEvent<TlsReloadEvent>((l) => source.onReload(l));
    assert.ok(served.ok);
    assert.equal(source.current().info.serialNumber, serial(soon.cert));
    source.close();
  });

  it('does not retry an expired pair (it can never become valid)', async () => {
    const old = await generateServingCert({ ca, ...servingNames(), now: new Date(NOW.getTime() - 400 * 24 * HOUR) });
    const v = volume(first);
    const source = open(v);
    v.write({ 'tls.crt': old.cert, 'tls.key': old.key });
    const refused = source.check();
    assert.ok(refused && !refused.ok && /expired/.test(refused.errors.join()));
    assert.equal(source.status().lastReloadError?.rejectedCertificate?.problem, 'expired');
    assert.equal(source.status().lastReloadError?.rejectedCertificate?.retryAt, undefined);
    assert.equal(source.check(), undefined);
    source.close();
  });

  it('treats a vanished file as a failed reload, not a crash', () => {
    const certFile = path.join(root, 'plain.crt');
    const keyFile = path.join(root, 'plain.key');
    writeFileSync(certFile, first.cert);
    writeFileSync(keyFile, first.key);
    const opened = TlsFileSource.open({ certFile, keyFile, now: () => NOW });
    assert.ok(opened.ok);
    if (!opened.ok) return;
    rmSync(keyFile);
    const event = opened.source.check();
    assert.ok(event && !event.ok && /cannot read .*plain\.key: ENOENT/.test(event.errors.join()));
    assert.equal(opened.source.current().info.serialNumber, serial(first.cert));
    opened.source.close();
  });

  it('notices a rotation by itself once started', async () => {
    const v = volume(first);
    const source = open(v, 20);
    source.start();
    const event = nextEvent<TlsReloadEvent>((l) => source.onReload(l));
    v.write({ 'tls.crt': second.cert, 'tls.key': second.key });
    const got = await event;
    assert.ok(got.ok);
    assert.equal(source.current().info.serialNumber, serial(second.cert));
    source.close();
  });

  it('keeps notifying the other listeners when one throws', () => {
    const v = volume(first);
    const source = open(v);
    const heard: boolean[] = [];
    source.onReload(() => {
      throw new Error('listener bug');
    });
    source.onReload((e) => heard.push(e.ok));
    v.write({ 'tls.crt': second.cert, 'tls.key': second.key });
    source.check();
    assert.deepEqual(heard, [true]);
    source.close();
  });
});
