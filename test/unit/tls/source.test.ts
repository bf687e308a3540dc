import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateCA, generateServingCert, servingNames, type KeyPairPem } from '../../../src/tls/certs.js';
import { TlsFileSource, type TlsReloadEvent } from '../../../src/tls/source.js';
import { ProjectedVolume, nextEvent } from '../server/support.js';

const NOW = new Date('2026-11-23T12:00:00Z');
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
