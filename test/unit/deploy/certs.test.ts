import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1Deployment, V1MutatingWebhookConfiguration, V1Secret, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import {
  KUBECTL_SKIP,
  MANIFESTS_DIR,
  asKubeObjects,
  baseObjects,
  componentDir,
  findObject,
  kustomize,
  readYaml,
  repoPath,
  type Kustomization,
} from './support.js';

const CLI = repoPath('dist', 'cli', 'main.js');
const SERVICE_NAMES = ['netpol-guard', 'netpol-guard.netpol-guard', 'netpol-guard.netpol-guard.svc', 'netpol-guard.netpol-guard.svc.cluster.local'];

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runCerts(cwd: string, args: string[]): Run {
  const result = spawnSync(process.execPath, [CLI, 'certs', ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function runOk(cwd: string, args: string[]): Run {
  const run = runCerts(cwd, args);
  assert.equal(run.status, 0, `certs ${args.join(' ')} failed:\n${run.stderr}`);
  return run;
}

const x509 = (file: string) => new X509Certificate(readFileSync(file));

/** The PEM certificates inside a base64 caBundle, each parsed. */
function bundleCertificates(bundle: string): X509Certificate[] {
  const pem = Buffer.from(bundle, 'base64').toString('utf8');
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
  assert.equal(blocks.join(''), pem, 'caBundle holds PEM certificates and nothing else');
  return blocks.map((block) => new X509Certificate(block));
}

function patchBundles(outDir: string): string[] {
  const docs = asKubeObjects(path.join(outDir, 'webhook-ca-patch.yaml')) as unknown as {
    webhooks: { clientConfig: { caBundle: string } }[];
  }[];
  return docs.flatMap((d) => d.webhooks.map((w) => w.clientConfig.caBundle));
}

describe('netpol-guard certs (built CLI)', () => {
  let work = '';
  let out = '';
  let firstRun: Run;

  before(() => {
    assert.ok(existsSync(CLI), `${CLI} is missing: build first (npm run build; npm test does)`);
    work = mkdtempSync(path.join(tmpdir(), 'netpol-guard-certs-'));
    out = path.join(work, 'certs');
    firstRun = runOk(work, ['--service', 'netpol-guard', '--namespace', 'netpol-guard', '--out', 'certs/', '--ip', '127.0.0.1', '--apply-to', MANIFESTS_DIR]);
  });
  after(() => {
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  it('writes the CA, the serving pair, the Secret, the caBundle patch and the overlay; keys and Secret 0600', () => {
    assert.deepEqual(readdirSync(out).sort(), ['ca.crt', 'ca.key', 'kustomization.yaml', 'secret.yaml', 'tls.crt', 'tls.key', 'webhook-ca-patch.yaml']);
    for (const secretFile of ['ca.key', 'tls.key', 'secret.yaml']) {
      assert.equal(statSync(path.join(out, secretFile)).mode & 0o777, 0o600, secretFile);
    }
    assert.equal(statSync(out).mode & 0o077, 0, 'the directory is private to its owner');
    assert.match(firstRun.stdout, /kubectl apply -k certs/);
    assert.doesNotMatch(firstRun.stdout + firstRun.stderr, /PRIVATE KEY/);
  });

  it('the serving certificate names the Service (all four forms) and the extra IP, and the CA signs it', () => {
    const ca = x509(path.join(out, 'ca.crt'));
    const leaf = x509(path.join(out, 'tls.crt'));
    assert.equal(ca.ca, true);
    assert.equal(leaf.ca, false);
    assert.ok(leaf.checkIssued(ca), 'issuer is the CA');
    assert.ok(leaf.verify(ca.publicKey), 'signature verifies with the CA key');
    for (const name of SERVICE_NAMES) assert.equal(leaf.checkHost(name, { wildcards: false }), name, name);
    assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(leaf.checkIP('::1'), undefined, 'no SAN beyond those asked for');
    assert.equal(leaf.checkHost('localhost'), undefined);
    assert.ok(leaf.keyUsage === undefined || leaf.keyUsage.includes('1.3.6.1.5.5.7.3.1'), 'server auth');
  });

  it('secret.yaml is the kubernetes.io/tls Secret the Deployment mounts, its data the files base64-encoded', () => {
    const [secret, ...rest] = asKubeObjects(path.join(out, 'secret.yaml')) as unknown as V1Secret[];
    assert.equal(rest.length, 0);
    assert.ok(secret);
    assert.equal(secret.kind, 'Secret');
    assert.equal(secret.type, 'kubernetes.io/tls');
    assert.equal(secret.metadata?.namespace, 'netpol-guard');
    const deployment = findObject<V1Deployment>(baseObjects(), 'Deployment', 'netpol-guard');
    // The one Secret the pod cannot start without (the webhook URLs' Secret is optional).
    const required = deployment.spec!.template.spec!.volumes!.filter((v) => v.secret?.optional !== true).map((v) => v.secret?.secretName).filter((n) => n !== undefined);
    assert.deepEqual(required, [secret.metadata?.name]);
    assert.deepEqual(Object.keys(secret.data ?? {}).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    for (const [key, value] of Object.entries(secret.data ?? {})) {
      assert.match(value, /^[A-Za-z0-9+/]+={0,2}$/, `${key} is one line of base64`);
      assert.equal(Buffer.from(value, 'base64').toString('utf8'), readFileSync(path.join(out, key), 'utf8'), key);
    }
  });

  it('the caBundle patch sets both webhooks\' caBundle to the CA, and --print-ca-bundle prints the same', () => {
    const bundles = patchBundles(out);
    assert.equal(bundles.length, 2);
    const ca = x509(path.join(out, 'ca.crt'));
    for (const bundle of bundles) assert.deepEqual(bundleCertificates(bundle).map((c) => c.fingerprint256), [ca.fingerprint256]);
    const printed = runOk(work, ['--out', 'certs/', '--ip', '127.0.0.1', '--print-ca-bundle']);
    assert.equal(printed.stdout.trim(), bundles[0]);
    assert.match(printed.stderr, /CA: kept/);
  });

  it('re-running keeps the CA (caBundle unchanged) and issues a new serving certificate', () => {
    const caBefore = readFileSync(path.join(out, 'ca.crt'), 'utf8');
    const caKeyBefore = readFileSync(path.join(out, 'ca.key'), 'utf8');
    const serialBefore = x509(path.join(out, 'tls.crt')).serialNumber;
    const keyBefore = readFileSync(path.join(out, 'tls.key'), 'utf8');
    const bundleBefore = patchBundles(out);
    runOk(work, ['--out', 'certs/', '--ip', '127.0.0.1']);
    assert.equal(readFileSync(path.join(out, 'ca.crt'), 'utf8'), caBefore);
    assert.equal(readFileSync(path.join(out, 'ca.key'), 'utf8'), caKeyBefore);
    const leaf = x509(path.join(out, 'tls.crt'));
    assert.notEqual(leaf.serialNumber, serialBefore);
    assert.notEqual(readFileSync(path.join(out, 'tls.key'), 'utf8'), keyBefore, 'a fresh key, not only a new certificate');
    assert.ok(leaf.verify(new X509Certificate(caBefore).publicKey));
    assert.deepEqual(patchBundles(out), bundleBefore);
    // Without --apply-to the overlay from the first run is left as it was.
    assert.equal((readYaml(path.join(out, 'kustomization.yaml')) as Kustomization).resources?.length, 2);
  });

  it('--rotate-ca makes a new CA trusted alongside the old one; the next plain run drops the old one', () => {
    const oldCa = x509(path.join(out, 'ca.crt'));
    runOk(work, ['--out', 'certs/', '--rotate-ca']);
    const newCa = x509(path.join(out, 'ca.crt'));
    assert.notEqual(newCa.fingerprint256, oldCa.fingerprint256);
    assert.ok(x509(path.join(out, 'tls.crt')).verify(newCa.publicKey), 'serving cert signed by the new CA');
    for (const bundle of patchBundles(out)) {
      assert.deepEqual(bundleCertificates(bundle).map((c) => c.fingerprint256), [newCa.fingerprint256, oldCa.fingerprint256]);
    }
    assert.equal(x509(path.join(out, 'ca-previous.crt')).fingerprint256, oldCa.fingerprint256);

    runOk(work, ['--out', 'certs/']);
    assert.equal(x509(path.join(out, 'ca.crt')).fingerprint256, newCa.fingerprint256);
    for (const bundle of patchBundles(out)) {
      assert.deepEqual(bundleCertificates(bundle).map((c) => c.fingerprint256), [newCa.fingerprint256]);
    }
    assert.ok(!existsSync(path.join(out, 'ca-previous.crt')));
  });

  it('refuses bad input with exit 2, naming the flag, and writes nothing', () => {
    const empty = mkdtempSync(path.join(work, 'bad-'));
    const cases: [string[], RegExp][] = [
      [['--ip', '1.2.3'], /--ip "1\.2\.3"/],
      [['--service', 'Not_A_Name'], /--service/],
      [['--days', '0'], /--days/],
      [['--component', componentDir('sweeper-cronjob')], /--component needs --apply-to/],
      [['--apply-to', empty], /--apply-to .* kustomization\.yaml/],
      [['--out', path.join(MANIFESTS_DIR, 'certs'), '--apply-to', MANIFESTS_DIR], /inside --apply-to/],
      [['--no-such-flag'], /no-such-flag/],
    ];
    for (const [args, message] of cases) {
      const run = runCerts(empty, ['--out', 'out', ...args]);
      assert.equal(run.status, 2, args.join(' '));
      assert.match(run.stderr, message);
      assert.ok(!existsSync(path.join(empty, 'out')), `${args.join(' ')} wrote files`);
    }
    assert.ok(!existsSync(path.join(MANIFESTS_DIR, 'certs')));
  });

  it('the overlay renders with kubectl: Secret added, caBundle merged into the base webhooks, component and image applied', { skip: KUBECTL_SKIP }, () => {
    const overlayDir = path.join(work, 'overlay');
    runOk(work, ['--out', 'overlay', '--apply-to', MANIFESTS_DIR, '--component', componentDir('sweeper-cronjob'), '--image', 'registry.invalid:5000/team/netpol-guard:9.9.9']);
    const rendered = kustomize(overlayDir);
    findObject(rendered, 'Secret', 'netpol-guard-tls');
    findObject(rendered, 'CronJob', 'netpol-guard-sweeper');
    const ca = x509(path.join(overlayDir, 'ca.crt'));
    const base = baseObjects();
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      const renderedConfig = findObject<V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration>(rendered, kind, 'netpol-guard');
      const baseConfig = findObject<V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration>(base, kind, 'netpol-guard');
      assert.equal(renderedConfig.webhooks?.length, 1, `${kind}: the patch must merge into the base webhook by name, not add one`);
      const [hook] = renderedConfig.webhooks!;
      assert.deepEqual(bundleCertificates(hook!.clientConfig.caBundle!).map((c) => c.fingerprint256), [ca.fingerprint256]);
      const { caBundle: _ignored, ...clientConfig } = hook!.clientConfig;
      assert.deepEqual({ ...hook, clientConfig }, baseConfig.webhooks![0], `${kind}: nothing but caBundle changed`);
    }
    const deployment = findObject<V1Deployment>(rendered, 'Deployment', 'netpol-guard');
    assert.deepEqual(deployment.spec!.template.spec!.containers.map((c) => c.image), ['registry.invalid:5000/team/netpol-guard:9.9.9']);
  });
});

describe('netpol-guard certs: CA lifecycle edge cases (built CLI)', () => {
  let work = '';
  before(() => {
    work = mkdtempSync(path.join(tmpdir(), 'netpol-guard-certs-ca-'));
  });
  after(() => {
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  it('caps the serving certificate at the CA\'s expiry, and replaces a CA near expiry while still trusting it', () => {
    const out = path.join(work, 'short');
    const first = runOk(work, ['--out', 'short', '--ca-days', '20']);
    assert.match(first.stdout, /capped at \d+ days by the CA's expiry/);
    const shortCa = x509(path.join(out, 'ca.crt'));
    assert.ok(new Date(x509(path.join(out, 'tls.crt')).validTo) <= new Date(shortCa.validTo));

    const second = runOk(work, ['--out', 'short']);
    assert.match(second.stdout, /CA: new \(CA: expires .* within 30 days\)/);
    const renewed = x509(path.join(out, 'ca.crt'));
    assert.notEqual(renewed.fingerprint256, shortCa.fingerprint256);
    for (const bundle of patchBundles(out)) {
      assert.deepEqual(bundleCertificates(bundle).map((c) => c.fingerprint256), [renewed.fingerprint256, shortCa.fingerprint256]);
    }
  });

  it('refuses to replace a half-present or mismatched CA unless --rotate-ca says so', () => {
    const out = path.join(work, 'broken');
    runOk(work, ['--out', 'broken']);
    const caPem = readFileSync(path.join(out, 'ca.crt'), 'utf8');
    const caKey = readFileSync(path.join(out, 'ca.key'), 'utf8');

    rmSync(path.join(out, 'ca.key'));
    const missing = runCerts(work, ['--out', 'broken']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /ca\.crt exists .* without its pair/);
    assert.equal(readFileSync(path.join(out, 'ca.crt'), 'utf8'), caPem, 'the CA certificate is left alone');

    writeFileSync(path.join(out, 'ca.key'), readFileSync(path.join(out, 'tls.key')));
    const mismatched = runCerts(work, ['--out', 'broken']);
    assert.equal(mismatched.status, 2);
    assert.match(mismatched.stderr, /ca\.key does not belong to ca\.crt/);

    writeFileSync(path.join(out, 'ca.key'), caKey);
    runOk(work, ['--out', 'broken']);
    assert.equal(readFileSync(path.join(out, 'ca.crt'), 'utf8'), caPem);
    const rotated = runOk(work, ['--out', 'broken', '--rotate-ca']);
    assert.match(rotated.stdout, /CA: new \(--rotate-ca\)/);
  });
});
