import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  SERVING_CERT_FILE,
  SERVING_KEY_FILE,
  certificatePaths,
  checkCertificateAuthority,
  checkServingCertificate,
  ensureCertificates,
  generateCA,
  generateServingCert,
  servingNames,
  writeKeyPair,
  type KeyPairPem,
} from '../../../src/tls/certs.js';
import { checkKeyPair, NOT_BEFORE_TOLERANCE_MS } from '../../../src/tls/keypair.js';

const NOW = new Date('2026-11-23T12:00:00Z');
const DAY = 86_400_000;
const IN_CLUSTER = ['netpol-guard', 'netpol-guard.netpol-guard', 'netpol-guard.netpol-guard.svc', 'netpol-guard.netpol-guard.svc.cluster.local'];

const x509 = (pem: string) => new X509Certificate(pem);
const fileMode = (file: string) => statSync(file).mode & 0o777;

describe('generateCA / generateServingCert', () => {
  let ca: KeyPairPem;
  let serving: KeyPairPem;
  const names = servingNames();

  before(async () => {
    ca = await generateCA({ now: NOW, validityDays: 100 });
    serving = await generateServingCert({ ca, ...names, now: NOW, validityDays: 30 });
  });

  it('makes a self-signed ECDSA P-256 CA limited to signing leaves', () => {
    const cert = x509(ca.cert);
    assert.equal(cert.ca, true);
    assert.equal(cert.subject, 'CN=netpol-guard-ca');
    assert.equal(cert.issuer, cert.subject);
    assert.ok(cert.verify(cert.publicKey), 'self-signed');
    assert.equal(createPrivateKey(ca.key).asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(cert.checkPrivateKey(createPrivateKey(ca.key)));
  });

  it('sets validity from `now`, backdated a little for clock skew', () => {
    const cert = x509(ca.cert);
    const notBefore = new Date(cert.validFrom).getTime();
    const notAfter = new Date(cert.validTo).getTime();
    assert.ok(notBefore < NOW.getTime() && notBefore >= NOW.getTime() - 2 * 3_600_000, cert.validFrom);
    assert.equal(notAfter, NOW.getTime() + 100 * DAY);
  });

  it('signs a serving certificate with the CA, covering every requested name', () => {
    const leaf = x509(serving.cert);
    const caCert = x509(ca.cert);
    assert.equal(leaf.ca, false);
    assert.ok(leaf.checkIssued(caCert));
    assert.ok(leaf.verify(caCert.publicKey), 'signature by the CA key');
    assert.ok(!leaf.verify(leaf.publicKey), 'not self-signed');
    assert.ok(leaf.checkPrivateKey(createPrivateKey(serving.key)));
    for (const name of ['localhost', ...IN_CLUSTER]) assert.equal(leaf.checkHost(name, { wildcards: false }), name);
    assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(leaf.checkIP('::1'), '::1');
    assert.equal(leaf.checkHost('other.example.com'), undefined);
    assert.equal(leaf.subject, 'CN=netpol-guard.netpol-guard.svc');
    assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extended key usage: server auth only');
    assert.equal(new Date(leaf.validTo).getTime(), NOW.getTime() + 30 * DAY);
  });

  it('gives every certificate its own key and serial', async () => {
    const again = await generateServingCert({ ca, ...names, now: NOW });
    assert.notEqual(x509(again.cert).serialNumber, x509(serving.cert).serialNumber);
    assert.notEqual(again.key, serving.key);
  });

  it('refuses bad input', async () => {
    await assert.rejects(generateServingCert({ ca, dnsNames: ['x'], ipAddresses: ['not-an-ip'], now: NOW }), /not an IP address: "not-an-ip"/);
    await assert.rejects(generateServingCert({ ca, dnsNames: [], now: NOW }), /at least one DNS name or IP address/);
    await assert.rejects(generateCA({ validityDays: 0 }), /positive number of days/);
  });

  it('checkServingCertificate accepts a good pair and names each problem of a bad one', async () => {
    assert.deepEqual(checkServingCertificate(serving, ca, { ...names, now: NOW, renewBeforeDays: 1 }), []);
    const otherCa = await generateCA({ now: NOW });
    assert.match(checkServingCertificate(serving, otherCa, { ...names, now: NOW, renewBeforeDays: 1 }).join('\n'), /not signed by the CA/);
    const missing = checkServingCertificate(serving, ca, { dnsNames: ['webhook.other.svc'], ipAddresses: ['10.0.0.1'], now: NOW, renewBeforeDays: 1 });
    assert.deepEqual(missing, ['serving certificate: does not name webhook.other.svc', 'serving certificate: does not name IP 10.0.0.1']);
    const dayLater = new Date(NOW.getTime() + DAY);
    assert.match(checkServingCertificate(serving, ca, { ...names, now: dayLater })[0] ?? '', /within 30 days/, '29 days left is inside the default renewal window');
    const swapped = { cert: serving.cert, key: ca.key };
    assert.match(checkServingCertificate(swapped, ca, { ...names, now: NOW })[0] ?? '', /private key does not belong/);
  });

  it('checkCertificateAuthority refuses a leaf and a CA near expiry', () => {
    assert.deepEqual(checkCertificateAuthority(ca, NOW), []);
    assert.match(checkCertificateAuthority(serving, NOW, 1).join('\n'), /not a CA/);
    assert.match(checkCertificateAuthority(ca, new Date(NOW.getTime() + 80 * DAY)).join('\n'), /within 30 days/);
    assert.match(checkCertificateAuthority(ca, new Date(NOW.getTime() + 101 * DAY)).join('\n'), /expired/);
  });
});

describe('servingNames', () => {
  it('names the in-cluster Service and the loopback addresses by default', () => {
    assert.deepEqual(servingNames(), {
      commonName: 'netpol-guard.netpol-guard.svc',
      dnsNames: ['localhost', ...IN_CLUSTER],
      ipAddresses: ['127.0.0.1', '::1'],
    });
  });

  it('follows a custom service, namespace and cluster domain, optionally without loopback', () => {
    assert.deepEqual(servingNames({ service: 'guard', namespace: 'sec', clusterDomain: 'corp.internal', includeLoopback: false }), {
      commonName: 'guard.sec.svc',
      dnsNames: ['guard', 'guard.sec', 'guard.sec.svc', 'guard.sec.svc.corp.internal'],
      ipAddresses: [],
    });
  });
});

describe('checkKeyPair', () => {
  let ca: KeyPairPem;
  let other: KeyPairPem;
  before(async () => {
    ca = await generateCA({ now: NOW });
    other = await generateCA({ now: NOW });
  });

  it('describes a usable pair without exposing key material', () => {
    const check = checkKeyPair(ca, NOW);
    assert.ok(check.ok);
    if (!check.ok) return;
    assert.equal(check.info.serialNumber, x509(ca.cert).serialNumber);
    assert.equal(check.info.fingerprint256, x509(ca.cert).fingerprint256);
    assert.ok(!JSON.stringify(check.info).includes('PRIVATE KEY'));
  });

  it('names what is wrong with an unusable pair', () => {
    const cases: Array<[KeyPairPem, Date, RegExp]> = [
      [{ cert: ca.cert, key: other.key }, NOW, /private key does not belong to the certificate/],
      [{ cert: 'not a certificate', key: ca.key }, NOW, /certificate does not parse/],
      [{ cert: ca.cert, key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }, NOW, /private key does not parse/],
      [ca, new Date(NOW.getTime() + 3651 * DAY), /certificate expired at/],
    ];
    for (const [pair, now, expected] of cases) {
      const check = checkKeyPair(pair, now);
      assert.ok(!check.ok && expected.test(check.error), `${expected}: ${JSON.stringify(check)}`);
    }
  });
});

describe('checkKeyPair validity window', () => {
  let ca: KeyPairPem;
  before(async () => {
    ca = await generateCA({ now: NOW });
  });

  it('refuses a certificate whose notBefore is in the future, naming both ends of its window and now', () => {
    const notBefore = new Date(x509(ca.cert).validFrom);
    const notAfter = new Date(x509(ca.cert).validTo);
    const early = new Date(notBefore.getTime() - NOT_BEFORE_TOLERANCE_MS - 1_000);
    const check = checkKeyPair(ca, early);
    assert.ok(!check.ok);
    if (check.ok) return;
    assert.match(check.error, /certificate is not valid yet: notBefore .* is in the future/);
    assert.ok(check.error.includes(`valid ${notBefore.toISOString()} to ${notAfter.toISOString()}`), check.error);
    assert.ok(check.error.includes(`now ${early.toISOString()}`), check.error);
    assert.equal(check.validity?.problem, 'not-yet-valid');
    assert.equal(check.validity?.info.serialNumber, x509(ca.cert).serialNumber);
  });

  it('accepts a notBefore up to the tolerance ahead (a clock a few seconds behind), not a millisecond more', () => {
    const notBefore = new Date(x509(ca.cert).validFrom).getTime();
    assert.ok(checkKeyPair(ca, new Date(notBefore - NOT_BEFORE_TOLERANCE_MS)).ok);
    assert.ok(checkKeyPair(ca, new Date(notBefore)).ok);
    const justOutside = checkKeyPair(ca, new Date(notBefore - NOT_BEFORE_TOLERANCE_MS - 1));
    assert.ok(!justOutside.ok && justOutside.validity?.problem === 'not-yet-valid');
  });

  it('marks an expired certificate as a validity problem too, and never a mismatched pair', async () => {
    const notAfter = new Date(x509(ca.cert).validTo).getTime();
    const expired = checkKeyPair(ca, new Date(notAfter));
    assert.ok(!expired.ok && expired.validity?.problem === 'expired', JSON.stringify(expired));
    const other = await generateCA({ now: NOW });
    const mismatched = checkKeyPair({ cert: ca.cert, key: other.key }, new Date(0));
    assert.ok(!mismatched.ok && mismatched.validity === undefined, 'the key check comes first and is not a clock problem');
  });
});

describe('ensureCertificates', () => {
  const dirs: string[] = [];
  const freshDir = () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'netpol-guard-certs-')), 'certs');
    dirs.push(path.dirname(dir));
    return dir;
  };
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const names = servingNames();
  const fingerprint = (file: string) => x509(readFileSync(file, 'utf8')).fingerprint256;

  it('generates a CA and serving certificate on first run, keys private', async () => {
    const dir = freshDir();
    const result = await ensureCertificates({ dir, ...names, now: NOW });
    assert.equal(result.ca, 'generated');
    assert.equal(result.serving, 'generated');
    assert.deepEqual(result.paths, certificatePaths(dir));
    assert.deepEqual(readdirSync(dir).sort(), [CA_CERT_FILE, CA_KEY_FILE, SERVING_CERT_FILE, SERVING_KEY_FILE].sort(), 'no temp files left');
    assert.equal(fileMode(result.paths.caKey), 0o600);
    assert.equal(fileMode(result.paths.key), 0o600);
    assert.equal(fileMode(result.paths.cert), 0o644);
    const pair = { cert: readFileSync(result.paths.cert, 'utf8'), key: readFileSync(result.paths.key, 'utf8') };
    const ca = { cert: readFileSync(result.paths.caCert, 'utf8'), key: readFileSync(result.paths.caKey, 'utf8') };
    assert.deepEqual(checkServingCertificate(pair, ca, { ...names, now: NOW }), []);
  });

  it('reuses both on later runs while they are valid', async () => {
    const dir = freshDir();
    const first = await ensureCertificates({ dir, ...names, now: NOW });
    const before = [fingerprint(first.paths.caCert), fingerprint(first.paths.cert)];
    const second = await ensureCertificates({ dir, ...names, now: new Date(NOW.getTime() + 100 * DAY) });
    assert.equal(second.ca, 'reused');
    assert.equal(second.serving, 'reused');
    assert.deepEqual(second.reasons, []);
    assert.deepEqual([fingerprint(second.paths.caCert), fingerprint(second.paths.cert)], before);
  });

  it('renews only the serving certificate when it nears expiry, keeping the CA', async () => {
    const dir = freshDir();
    const first = await ensureCertificates({ dir, ...names, now: NOW });
    const caBefore = fingerprint(first.paths.caCert);
    const servingBefore = fingerprint(first.paths.cert);
    const later = await ensureCertificates({ dir, ...names, now: new Date(NOW.getTime() + 340 * DAY) });
    assert.equal(later.ca, 'reused');
    assert.equal(later.serving, 'generated');
    assert.match(later.reasons.join('\n'), /within 30 days/);
    assert.equal(fingerprint(later.paths.caCert), caBefore);
    assert.notEqual(fingerprint(later.paths.cert), servingBefore);
  });

  it('reissues the serving certificate when a required name is missing', async () => {
    const dir = freshDir();
    await ensureCertificates({ dir, ...servingNames({ includeLoopback: false }), now: NOW });
    const widened = await ensureCertificates({ dir, ...names, now: NOW });
    assert.equal(widened.ca, 'reused');
    assert.equal(widened.serving, 'generated');
    assert.match(widened.reasons.join('\n'), /does not name localhost/);
  });

  it('replaces a broken or missing CA and then the serving certificate with it', async () => {
    const dir = freshDir();
    const first = await ensureCertificates({ dir, ...names, now: NOW });
    unlinkSync(first.paths.caKey);
    const second = await ensureCertificates({ dir, ...names, now: NOW });
    assert.equal(second.ca, 'generated');
    assert.equal(second.serving, 'generated', 'the old serving certificate no longer chains to the new CA');
    assert.match(second.reasons.join('\n'), /not signed by the CA/);
    const leaf = x509(readFileSync(second.paths.cert, 'utf8'));
    assert.ok(leaf.verify(x509(readFileSync(second.paths.caCert, 'utf8')).publicKey));
  });

  it('replaces a corrupt serving certificate', async () => {
    const dir = freshDir();
    const first = await ensureCertificates({ dir, ...names, now: NOW });
    writeFileSync(first.paths.cert, 'garbage');
    const second = await ensureCertificates({ dir, ...names, now: NOW });
    assert.equal(second.serving, 'generated');
    assert.match(second.reasons.join('\n'), /does not parse/);
  });
});

describe('writeKeyPair', () => {
  it('writes the key 0600 and the certificate 0644, replacing existing files', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'netpol-guard-write-'));
    try {
      const pair = await generateCA({ now: NOW });
      const cert = path.join(dir, 'sub', 'a.crt');
      const key = path.join(dir, 'sub', 'a.key');
      writeKeyPair(cert, key, pair);
      writeFileSync(key, 'old', { mode: 0o600 });
      writeKeyPair(cert, key, pair);
      assert.equal(readFileSync(key, 'utf8'), pair.key);
      assert.equal(readFileSync(cert, 'utf8'), pair.cert);
      assert.equal(fileMode(key), 0o600);
      assert.equal(fileMode(cert), 0o644);
      assert.deepEqual(readdirSync(path.join(dir, 'sub')).sort(), ['a.crt', 'a.key']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
