// `netpol-guard explain` end to end: the built CLI against a real kube-apiserver holding real Pod
// objects (no kubelet: they stay Pending, labels intact). The isolation case is reported and
// denied, then admitted once a default-deny exists; a pod whose status says Succeeded drops out
// through the field selector the real server applies to the metadata-only list.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { startControlPlane, type ControlPlane } from './harness/controlPlane.js';
import { cliPath, type CliResult } from './harness/guard.js';
import { createPods } from './harness/pods.js';
import { runToCompletion } from './harness/processes.js';
import { uniqueName } from './harness/tenants.js';

interface ExplainJson {
  allowed: boolean;
  summary: string;
  directions: { direction: string; targets: { name: string }[]; newlyIsolated: { name: string }[]; peers: { pods: { namespace: string; name: string }[] } }[];
  findings: { ruleId: string }[];
}

describe('explain end to end', () => {
  let cp: ControlPlane | undefined;
  let home = '';
  let ns = '';
  let other = '';

  before(async () => {
    cp = await startControlPlane();
    home = fs.mkdtempSync(path.join(cp.tmpDir, 'effect-home-'));
    ns = uniqueName('e2e-effect');
    other = uniqueName('e2e-effect-web');
    await createPods(cp, ns, [
      { name: 'db-0', labels: { app: 'db' } },
      { name: 'db-1', labels: { app: 'db' } },
      { name: 'db-2', labels: { app: 'db' } },
      { name: 'api-0', labels: { app: 'api' } },
    ]);
    await createPods(cp, other, [{ name: 'web-0', labels: { app: 'web' } }]);
    await cp.kubectlOk(['label', 'namespace', other, 'team=front']);
    fs.writeFileSync(
      path.join(home, 'grant.yaml'),
      YAML.stringify({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'debug-db', namespace: ns, annotations: { 'netpol-guard.io/ttl': '2h', 'netpol-guard.io/ticket': 'INC-20' } },
        spec: {
          podSelector: { matchLabels: { app: 'db' } },
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'front' } }, podSelector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
        },
      }),
    );
  });

  after(async () => {
    await cp?.stop();
  });

  const explain = async (): Promise<{ result: CliResult; doc: ExplainJson }> => {
    assert.ok(cp, 'control plane did not start');
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
    for (const key of ['KUBECONFIG', 'NETPOL_GUARD_CONFIG', 'NODE_TEST_CONTEXT']) delete env[key];
    const result = await runToCompletion(process.execPath, [cliPath(), 'explain', '-f', path.join(home, 'grant.yaml'), '--kubeconfig', cp.kubeconfigAdmin, '-o', 'json'], {
      cwd: home,
      env,
      label: 'netpol-guard',
    });
    assert.equal(result.stderr, '', result.stderr);
    return { result, doc: JSON.parse(result.stdout) as ExplainJson };
  };

  it('reports the Pending targets as newly isolated and denies, with the peer pod of the other namespace', async () => {
    const { result, doc } = await explain();
    assert.equal(result.code, 1);
    assert.equal(doc.allowed, false);
    const ingress = doc.directions[0]!;
    assert.deepEqual(ingress.targets.map((t) => t.name).sort(), ['db-0', 'db-1', 'db-2']);
    assert.deepEqual(ingress.newlyIsolated.map((t) => t.name).sort(), ['db-0', 'db-1', 'db-2']);
    assert.deepEqual(ingress.peers.pods, [{ namespace: other, name: 'web-0' }]);
    assert.deepEqual(doc.findings.map((f) => f.ruleId), ['isolates-pods']);
    assert.equal(doc.summary, 'opens 3 pods ← 1 pod in 1 namespace on TCP/5432; 3 pods newly isolated');
  });

  it('admits it once a default-deny exists, and a Succeeded pod no longer counts', async () => {
    assert.ok(cp);
    await cp.kubectlOk(['apply', '-f', '-'], {
      stdin: YAML.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny', namespace: ns }, spec: { podSelector: {}, policyTypes: ['Ingress'] } }),
    });
    await cp.kubectlOk(['patch', 'pod', 'db-2', '-n', ns, '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Succeeded"}}']);
    const { result, doc } = await explain();
    assert.equal(result.code, 0);
    assert.equal(doc.allowed, true);
    const ingress = doc.directions[0]!;
    assert.deepEqual(ingress.targets.map((t) => t.name).sort(), ['db-0', 'db-1']);
    assert.deepEqual(ingress.newlyIsolated, []);
    assert.deepEqual(doc.findings, []);
    assert.equal(doc.summary, 'opens 2 pods ← 1 pod in 1 namespace on TCP/5432; 0 pods newly isolated');
  });
});
