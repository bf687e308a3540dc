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

  /** The built CLI with a clean environment (no KUBECONFIG, no config from the caller). */
  const cli = async (args: string[]): Promise<CliResult> => {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
    for (const key of ['KUBECONFIG', 'NETPOL_GUARD_CONFIG', 'NODE_TEST_CONTEXT']) delete env[key];
    return runToCompletion(process.execPath, [cliPath(), ...args], { cwd: home, env, label: 'netpol-guard' });
  };

  const explain = async (): Promise<{ result: CliResult; doc: ExplainJson }> => {
    assert.ok(cp, 'control plane did not start');
    const result = await cli(['explain', '-f', path.join(home, 'grant.yaml'), '--kubeconfig', cp.kubeconfigAdmin, '-o', 'json']);
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

  describe('--cluster and grant --dry-run (issue #16, #20)', () => {
    let prod = '';
    let config = '';
    const grantFile = (namespace: string): string => {
      const file = path.join(home, `grant-${namespace}.yaml`);
      fs.writeFileSync(
        file,
        YAML.stringify({
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'vendor-db', namespace, annotations: { 'netpol-guard.io/ttl': '4h', 'netpol-guard.io/ticket': 'INC-16' } },
          spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ protocol: 'TCP', port: 5432 }] }] },
        }),
      );
      return file;
    };

    before(async () => {
      assert.ok(cp);
      prod = uniqueName('e2e-effect-prod');
      await createPods(cp, prod, [
        { name: 'ledger-db-0', labels: { app: 'db' } },
        { name: 'ledger-db-1', labels: { app: 'db' } },
        { name: 'ledger-api-0', labels: { app: 'api' } },
      ]);
      await cp.kubectlOk(['label', 'namespace', prod, 'env=prod']);
      config = path.join(home, 'config.yaml');
      fs.writeFileSync(config, 'profiles:\n  - name: production\n    match: {namespaceSelector: {matchLabels: {env: prod}}}\n    limits: {maxTTL: 2h}\n');
    });

    it('check --cluster: the namespace labelled env=prod gets the production verdict, the other the default one', async () => {
      assert.ok(cp);
      const result = await cli(['check', '--cluster', '--kubeconfig', cp.kubeconfigAdmin, '--config', config, '--format', 'json', grantFile(prod), grantFile(ns)]);
      assert.equal(result.stderr, '', result.stderr);
      assert.equal(result.code, 1);
      const doc = JSON.parse(result.stdout) as { policies: { namespace: string; verdict: string; profile: string; findings: { ruleId: string }[] }[] };
      const byNamespace = new Map(doc.policies.map((p) => [p.namespace, p]));
      assert.deepEqual([byNamespace.get(prod)!.verdict, byNamespace.get(prod)!.profile], ['denied', 'production']);
      assert.deepEqual(byNamespace.get(prod)!.findings.map((f) => f.ruleId), ['expiry-too-far']);
      assert.deepEqual([byNamespace.get(ns)!.verdict, byNamespace.get(ns)!.profile], ['allowed', 'default']);
      // Offline the label-matched profile cannot be decided: judged by the default, with a note.
      const offline = await cli(['check', '--config', config, grantFile(prod)]);
      assert.equal(offline.code, 0, offline.stdout + offline.stderr);
      assert.match(offline.stdout, /note: a profile matches on namespace labels and none are known/);
    });

    it('check --cluster as a user without RBAC on namespaces: exit 2, naming the user, verb and namespace', async () => {
      assert.ok(cp);
      const result = await cli(['check', '--cluster', '--kubeconfig', cp.kubeconfigFor('alice'), '--config', config, grantFile(prod)]);
      assert.equal(result.code, 2, result.stdout + result.stderr);
      assert.match(result.stderr, new RegExp(`--cluster: cannot read the labels of namespace "${prod}": forbidden: user "alice" may not get namespaces`));
      assert.equal(result.stdout, '');
    });

    it('grant --dry-run reports the real Pending pods it would isolate, under the production profile, and creates nothing', async () => {
      assert.ok(cp);
      const flags = ['grant', '-n', prod, '--to', 'app=db', '--from-cidr', '198.51.100.0/24', '--port', '5432/TCP', '--for', '4h', '--ticket', 'INC-20', '--name', 'vendor-db', '--config', config];
      const args = [...flags, '--kubeconfig', cp.kubeconfigAdmin, '--dry-run'];
      const text = await cli(args);
      assert.equal(text.stderr, '', text.stderr);
      assert.equal(text.code, 1);
      const lines = text.stdout.split('\n');
      assert.equal(lines[0], `NetworkPolicy ${prod}/vendor-db: DENIED (profile production)`);
      assert.equal(lines[1], 'opens 2 pods ← 256 addresses on TCP/5432; 2 pods newly isolated');
      assert.ok(lines.includes('  targets (2): ledger-db-0, ledger-db-1'), text.stdout);
      assert.ok(lines.includes('  newly isolated (2): ledger-db-0, ledger-db-1'), text.stdout);
      const json = await cli([...args, '-o', 'json']);
      const doc = JSON.parse(json.stdout) as ExplainJson & { profile: string };
      assert.equal(doc.profile, 'production');
      assert.deepEqual(doc.findings.map((f) => f.ruleId).sort(), ['expiry-too-far', 'isolates-pods']);
      // The same report as explain gives for the manifest grant would send (printed offline: the
      // local check cannot see the labels, so it warns and judges by the default profile).
      const manifest = await cli([...flags, '-o', 'yaml']);
      assert.equal(manifest.code, 0, manifest.stderr);
      assert.match(manifest.stderr, /without --namespace-labels or --cluster the local check uses profile default/);
      const file = path.join(home, 'built-grant.yaml');
      fs.writeFileSync(file, manifest.stdout);
      const explained = await cli(['explain', '-f', file, '--config', config, '--kubeconfig', cp.kubeconfigAdmin, '-o', 'json']);
      assert.equal(explained.code, json.code);
      // Each run judges at its own now: the expiry in the message is the only thing that differs.
      const untimed = (text: string): string => text.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/g, '<time>');
      assert.equal(untimed(explained.stdout), untimed(json.stdout));
      const stored = await cp.kubectlOk(['get', 'networkpolicies', '-n', prod, '-o', 'name']);
      assert.equal(stored.trim(), '', 'grant --dry-run created a NetworkPolicy');
    });
  });
});
