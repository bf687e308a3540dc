/**
 * `netpol-guard doctor` against the `npm run cluster` setup (the shipped webhook registrations with
 * service → url, the shipped RBAC, `controller --leader-elect`, and the config as the ConfigMap the
 * base makes): all good first; then a wrong caBundle, an expired certificate, a broken config and a
 * stopped controller are each named, with exit 1.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generateCA, generateServingCert } from '../../src/tls/certs.js';
import { startControlPlane, type ControlPlane } from './harness/controlPlane.js';
import { cliPath, startNetpolGuard, type NetpolGuard, type SweeperProcess } from './harness/guard.js';
import { runToCompletion } from './harness/processes.js';

const CONFIG = 'mode: enforce\n';
const ELECTION = ['--leader-elect', '--lease-namespace', 'netpol-guard', '--lease-duration', '4s', '--renew-deadline', '3s', '--retry-period', '1s'];

interface Report {
  exitCode: number;
  checks: { id: string; status: 'ok' | 'problem' | 'unknown'; detail: string; fix?: string }[];
}

describe('netpol-guard doctor against a local cluster', () => {
  let cp: ControlPlane | undefined;
  let guard: NetpolGuard | undefined;
  let controller: SweeperProcess | undefined;

  const plane = (): ControlPlane => cp ?? assert.fail('no control plane');

  async function doctor(format: 'text' | 'json'): Promise<{ code: number; stdout: string; stderr: string }> {
    const args = [cliPath(), 'doctor', '--kubeconfig', plane().kubeconfigAdmin, ...(format === 'json' ? ['-o', 'json'] : [])];
    return runToCompletion(process.execPath, args, { label: 'netpol-guard doctor', cwd: process.cwd(), env: { PATH: process.env.PATH }, timeoutMs: 60_000 });
  }
  async function report(): Promise<Report> {
    const r = await doctor('json');
    return { ...(JSON.parse(r.stdout) as Report), exitCode: r.code };
  }
  const failing = (r: Report) => r.checks.filter((c) => c.status !== 'ok').map((c) => `${c.status} ${c.id}`);

  before(async () => {
    cp = await startControlPlane();
    guard = await startNetpolGuard(cp, { configYaml: CONFIG });
    // The base's configMapGenerator makes this ConfigMap from manifests/config.yaml.
    await cp.kubectlOk(['-n', 'netpol-guard', 'create', 'configmap', 'netpol-guard-config', '--from-file', `config.yaml=${guard.configFile}`]);
    controller = await guard.startController(ELECTION);
    const deadline = Date.now() + 30_000;
    while (!(await cp.kubectl(['-n', 'netpol-guard', 'get', 'lease', 'netpol-guard-controller'])).stdout.includes('netpol-guard-controller')) {
      if (Date.now() > deadline) assert.fail('the controller never took the Lease');
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  after(async () => {
    await controller?.stop();
    await guard?.stop();
    await cp?.stop();
  });

  it('all good: every check ✓, exit 0', async () => {
    const r = await doctor('text');
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^✓ caBundle validate\.netpol-guard\.io: the caBundle verifies the certificate served at 127\.0\.0\.1:\d+/m);
    assert.match(r.stdout, /^✓ controller lease: Lease netpol-guard\/netpol-guard-controller held by /m);
    assert.match(r.stdout, /^✓ rbac: /m);
    assert.match(r.stdout, /all 12 checks passed/);
  });

  it('a wrong caBundle is named, exit 1', async () => {
    const other = await generateCA({ commonName: 'not-the-webhook-ca' });
    const original = JSON.parse(await plane().kubectlOk(['get', 'validatingwebhookconfiguration', 'netpol-guard', '-o', 'json'])) as { webhooks: { clientConfig: { caBundle: string } }[] };
    const patch = [{ op: 'replace', path: '/webhooks/0/clientConfig/caBundle', value: Buffer.from(other.cert).toString('base64') }];
    await plane().kubectlOk(['patch', 'validatingwebhookconfiguration', 'netpol-guard', '--type', 'json', '-p', JSON.stringify(patch)]);
    try {
      const r = await report();
      assert.equal(r.exitCode, 1);
      assert.deepEqual(failing(r), ['problem caBundle validate.netpol-guard.io']);
    } finally {
      const restore = [{ op: 'replace', path: '/webhooks/0/clientConfig/caBundle', value: original.webhooks[0]!.clientConfig.caBundle }];
      await plane().kubectlOk(['patch', 'validatingwebhookconfiguration', 'netpol-guard', '--type', 'json', '-p', JSON.stringify(restore)]);
    }
    assert.equal((await report()).exitCode, 0, 'restored');
  });

  it('an expired certificate is named, exit 1', async () => {
    // serve refuses an expired pair, so a stand-in server serves one; the validating webhook points at it.
    const ca = await generateCA({ commonName: 'expired-test-ca' });
    const expired = await generateServingCert({ ca, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], now: new Date(Date.now() - 3 * 86_400_000), validityDays: 1 });
    const server = createServer({ cert: expired.cert, key: expired.key }, (_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/validate`;
    const original = JSON.parse(await plane().kubectlOk(['get', 'validatingwebhookconfiguration', 'netpol-guard', '-o', 'json'])) as { webhooks: { clientConfig: unknown }[] };
    const point = (clientConfig: unknown) => plane().kubectlOk(['patch', 'validatingwebhookconfiguration', 'netpol-guard', '--type', 'json', '-p', JSON.stringify([{ op: 'replace', path: '/webhooks/0/clientConfig', value: clientConfig }])]);
    await point({ url, caBundle: Buffer.from(ca.cert).toString('base64') });
    try {
      const r = await report();
      assert.equal(r.exitCode, 1);
      const port = (server.address() as AddressInfo).port;
      assert.deepEqual(failing(r), ['problem caBundle validate.netpol-guard.io', `problem certificate 127.0.0.1:${port}`]);
      assert.match(r.checks.find((c) => c.id === `certificate 127.0.0.1:${port}`)!.detail, /expired at/);
    } finally {
      await point(original.webhooks[0]!.clientConfig);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a broken config is named, exit 1', async () => {
    const broken = { data: { 'config.yaml': 'mode: enforce\nmaxTtl: forever\n' } };
    await plane().kubectlOk(['-n', 'netpol-guard', 'patch', 'configmap', 'netpol-guard-config', '--type', 'merge', '-p', JSON.stringify(broken)]);
    const r = await report();
    assert.equal(r.exitCode, 1);
    assert.deepEqual(failing(r), ['problem config']);
    assert.match(r.checks.find((c) => c.id === 'config')!.detail, /maxTtl/);
    await plane().kubectlOk(['-n', 'netpol-guard', 'patch', 'configmap', 'netpol-guard-config', '--type', 'merge', '-p', JSON.stringify({ data: { 'config.yaml': CONFIG } })]);
  });

  it('a stopped controller is named once its Lease runs out, exit 1', async () => {
    await controller!.stop();
    controller = undefined;
    // The lease is 4 s; past it, whether released or abandoned, nobody holds it.
    await new Promise((r) => setTimeout(r, 5_000));
    const r = await report();
    assert.equal(r.exitCode, 1, JSON.stringify(r.checks));
    assert.deepEqual(failing(r), ['problem controller lease']);
  });
});
