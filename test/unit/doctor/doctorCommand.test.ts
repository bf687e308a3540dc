/**
 * `netpol-guard doctor` end to end in one process: the real command, the real client and a real
 * TLS handshake, against an HTTP fake of the API server and an HTTPS server standing in for the
 * webhook (clientConfig.url, as `npm run cluster` registers it).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { doctorCommand } from '../../../src/cli/doctor.js';
import { SHIPPED_PERMISSIONS, describePermission } from '../../../src/doctor/shipped.js';
import type { CheckResult } from '../../../src/doctor/types.js';
import { generateCA, generateServingCert, servingNames, type KeyPairPem } from '../../../src/tls/certs.js';
import { captureIo } from '../operator/support.js';
import { DoctorFakeApi, healthyLease, shippedConfigMap, shippedWebhookConfigurations } from './support.js';

const ADMISSION = '/apis/admissionregistration.k8s.io/v1';

describe('netpol-guard doctor (command)', () => {
  let fake: DoctorFakeApi;
  let webhook: Server;
  let ca: KeyPairPem;
  let otherCa: KeyPairPem;
  let baseUrl = '';
  let dir = '';
  let kubeconfig = '';

  before(async () => {
    ca = await generateCA({ commonName: 'doctor-test-ca' });
    otherCa = await generateCA({ commonName: 'doctor-other-ca' });
    const serving = await generateServingCert({ ca, ...servingNames() });
    webhook = createServer({ cert: serving.cert, key: serving.key }, (_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    baseUrl = `https://127.0.0.1:${(webhook.address() as AddressInfo).port}`;
    fake = await new DoctorFakeApi().start();
    dir = mkdtempSync(path.join(tmpdir(), 'netpol-guard-doctor-'));
    kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, fake.kubeconfigText());
  });
  after(async () => {
    await fake.stop();
    await new Promise<void>((resolve) => webhook.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** The installation as `npm run cluster` makes it: shipped registrations with service → url. */
  function install(caPem: string): void {
    const { mutating, validating } = shippedWebhookConfigurations(Buffer.from(caPem).toString('base64'));
    for (const config of [mutating, validating]) {
      for (const w of config.webhooks ?? []) w.clientConfig = { url: `${baseUrl}${w.clientConfig.service!.path}`, caBundle: w.clientConfig.caBundle };
    }
    fake.objects.clear();
    fake.objects.set(`${ADMISSION}/mutatingwebhookconfigurations/netpol-guard`, mutating);
    fake.objects.set(`${ADMISSION}/validatingwebhookconfigurations/netpol-guard`, validating);
    fake.objects.set('/apis/coordination.k8s.io/v1/namespaces/netpol-guard/leases/netpol-guard-controller', healthyLease(new Date()));
    fake.objects.set('/api/v1/namespaces/netpol-guard/configmaps/netpol-guard-config', shippedConfigMap());
    const shipped = new Set(SHIPPED_PERMISSIONS.map((p) => `${p.verb} ${p.group}/${p.resource} ${p.scope === 'install' ? 'netpol-guard' : ''}`));
    // A subresource goes in its own field of the SubjectAccessReview, as the API server expects.
    fake.allow = (r) => r.user === 'system:serviceaccount:netpol-guard:netpol-guard' && !r.resource.includes('/') && shipped.has(`${r.verb} ${r.group}/${r.resource}${r.subresource !== undefined ? `/${r.subresource}` : ''} ${r.namespace ?? ''}`);
  }
  beforeEach(() => install(ca.cert));

  async function doctor(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const io = captureIo({ now: () => new Date() });
    const code = await doctorCommand.run(['--kubeconfig', kubeconfig, ...args], io);
    return { code, out: io.out, err: io.err };
  }

  it('all good: every line ✓, exit 0, and no Secret read', async () => {
    const { code, out } = await doctor();
    assert.equal(code, 0, out);
    const lines = out.trimEnd().split('\n');
    assert.ok(lines.slice(0, -1).every((l) => l.startsWith('✓ ')), out);
    assert.match(out, /✓ caBundle validate\.netpol-guard\.io: the caBundle verifies the certificate served at 127\.0\.0\.1:\d+ for 127\.0\.0\.1/);
    assert.match(out, /✓ rbac: ServiceAccount netpol-guard\/netpol-guard has exactly the shipped permissions checked \(\d+ SubjectAccessReviews\)/);
    assert.ok(!fake.paths.some((p) => p.includes('secrets')), 'no Secret read');
    assert.ok(fake.paths.filter((p) => p.endsWith('/subjectaccessreviews')).length >= SHIPPED_PERMISSIONS.length);
  });

  it('a caBundle of another CA: ✗ naming the caBundle, exit 1', async () => {
    install(otherCa.cert);
    const { code, out } = await doctor();
    assert.equal(code, 1);
    assert.match(out, /^✗ caBundle mutate\.netpol-guard\.io: the caBundle does not verify the certificate served at 127\.0\.0\.1:\d+/m);
    assert.match(out, /^ {4}fix: set caBundle to the CA that signed the serving certificate/m);
  });

  it('a stale Lease and a broken config are each named; -o json says the same', async () => {
    fake.objects.set('/apis/coordination.k8s.io/v1/namespaces/netpol-guard/leases/netpol-guard-controller', healthyLease(new Date(Date.now() - 60_000)));
    fake.objects.set('/api/v1/namespaces/netpol-guard/configmaps/netpol-guard-config', { metadata: { name: 'netpol-guard-config' }, data: { 'config.yaml': 'mode: sometimes\n' } });
    const { code, out } = await doctor('-o', 'json');
    assert.equal(code, 1);
    const report = JSON.parse(out) as { exitCode: number; checks: CheckResult[] };
    assert.equal(report.exitCode, 1);
    const bad = report.checks.filter((c) => c.status !== 'ok').map((c) => c.id);
    assert.deepEqual(bad, ['controller lease', 'config']);
    assert.match(report.checks.find((c) => c.id === 'config')!.detail, /mode/);
  });

  it('the webhook down: could not check (exit 2) when nothing else is wrong', async () => {
    const { mutating, validating } = shippedWebhookConfigurations(Buffer.from(ca.cert).toString('base64'));
    for (const config of [mutating, validating]) for (const w of config.webhooks ?? []) w.clientConfig = { url: 'https://127.0.0.1:1/x', caBundle: w.clientConfig.caBundle };
    fake.objects.set(`${ADMISSION}/mutatingwebhookconfigurations/netpol-guard`, mutating);
    fake.objects.set(`${ADMISSION}/validatingwebhookconfigurations/netpol-guard`, validating);
    const { code, out } = await doctor();
    assert.equal(code, 2, out);
    assert.match(out, /^\? caBundle mutate\.netpol-guard\.io: could not check the served certificate: 127\.0\.0\.1:1: /m);
  });

  it('an extra permission (reading Secrets) is a problem', async () => {
    const previous = fake.allow;
    fake.allow = (r) => previous(r) || (r.resource === 'secrets' && r.verb === 'get');
    const { code, out } = await doctor();
    assert.equal(code, 1);
    assert.match(out, /✗ rbac: .*more than shipped: get secrets \(namespace netpol-guard\)/);
    assert.equal(describePermission(SHIPPED_PERMISSIONS[0]!, 'x'), 'get networking.k8s.io/networkpolicies (all namespaces)');
  });

  it('a Service webhook: its ready EndpointSlice address is dialled with the Service DNS name', async () => {
    const port = Number(new URL(baseUrl).port);
    const { mutating, validating } = shippedWebhookConfigurations(Buffer.from(ca.cert).toString('base64'));
    fake.objects.set(`${ADMISSION}/mutatingwebhookconfigurations/netpol-guard`, mutating);
    fake.objects.set(`${ADMISSION}/validatingwebhookconfigurations/netpol-guard`, validating);
    fake.objects.set('/api/v1/namespaces/netpol-guard/services/netpol-guard', {
      metadata: { name: 'netpol-guard', namespace: 'netpol-guard' },
      spec: { ports: [{ name: 'https', port: 443, targetPort: 'https' }] },
    });
    const slices = (ready: boolean) => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSliceList',
      metadata: {},
      items: [
        {
          metadata: { name: 'netpol-guard-abcde', labels: { 'kubernetes.io/service-name': 'netpol-guard' } },
          addressType: 'IPv4',
          ports: [{ name: 'https', port, protocol: 'TCP' }],
          endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready } }],
        },
      ],
    });
    fake.objects.set('/apis/discovery.k8s.io/v1/namespaces/netpol-guard/endpointslices', slices(true));
    const good = await doctor();
    assert.equal(good.code, 0, good.out);
    assert.match(good.out, new RegExp(`✓ endpoints validate\\.netpol-guard\\.io: Service netpol-guard/netpol-guard has 1 ready endpoint\\(s\\): 127\\.0\\.0\\.1:${port}`));
    assert.match(good.out, /✓ caBundle validate\.netpol-guard\.io: the caBundle verifies the certificate served at 127\.0\.0\.1:\d+ for netpol-guard\.netpol-guard\.svc/);

    fake.objects.set('/apis/discovery.k8s.io/v1/namespaces/netpol-guard/endpointslices', slices(false));
    const none = await doctor();
    assert.equal(none.code, 1);
    assert.match(none.out, /✗ endpoints mutate\.netpol-guard\.io: Service netpol-guard\/netpol-guard has no ready endpoint \(1 not ready\)/);
    assert.match(none.out, /\? caBundle mutate\.netpol-guard\.io: could not check the served certificate: no ready endpoint to dial/);

    fake.objects.delete('/api/v1/namespaces/netpol-guard/services/netpol-guard');
    const gone = await doctor();
    assert.equal(gone.code, 1);
    assert.match(gone.out, /✗ endpoints mutate\.netpol-guard\.io: Service netpol-guard\/netpol-guard does not exist/);
  });

  it('usage errors exit 2', async () => {
    assert.equal((await doctor('-o', 'yaml')).code, 2);
    assert.equal((await doctor('-n', 'Not_A_Namespace')).code, 2);
  });
});
