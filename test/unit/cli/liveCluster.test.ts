import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import YAML from 'yaml';
import { checkCommand } from '../../../src/cli/check.js';
import { explainCommand } from '../../../src/cli/explain.js';
import { grantCommand } from '../../../src/cli/grant.js';
import type { GrantApi } from '../../../src/operator/kube.js';
import { FakeClusterApi } from '../../helpers/fakeClusterApi.js';
import { captureIo } from '../operator/support.js';

/**
 * `grant --dry-run` (explain's report for the grant built from flags) and `--cluster` for `check`
 * and `grant` (the profile chosen from the live namespace's labels), against an HTTP fake of the
 * API server that answers GETs only and records every request.
 */

/** A production profile (namespaces labelled env=prod): grants live at most 2h there, 24h elsewhere. */
const CONFIG = `profiles:
  - name: production
    match: {namespaceSelector: {matchLabels: {env: prod}}}
    limits: {maxTTL: 2h}
`;

function grantArgs(namespace: string, ttl: string): string[] {
  return ['-n', namespace, '--to', 'app=db', '--from-cidr', '198.51.100.0/24', '--port', '5432/TCP', '--for', ttl, '--ticket', 'INC-20'];
}

/** The GrantApi stand-in: any write fails the test (the fake API server refuses writes as well). */
const READ_ONLY_API: GrantApi = {
  server: 'http://fake.invalid',
  list: async () => [],
  read: async () => undefined,
  create: async () => assert.fail('grant --dry-run must not create anything'),
  mergePatch: async () => assert.fail('unexpected patch'),
  deleteWithPreconditions: async () => assert.fail('unexpected delete'),
  readPodLabels: async () => assert.fail('no --to-pod in these tests'),
};

describe('grant --dry-run and --cluster, check --cluster, against a fake API server', () => {
  let fake: FakeClusterApi;
  let dir: string;
  let kubeconfig: string;
  let configFile: string;
  const io = (): ReturnType<typeof captureIo> => captureIo({ connect: () => READ_ONLY_API });

  before(async () => {
    fake = await FakeClusterApi.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netpol-guard-live-'));
    kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, fake.kubeConfig().exportConfig(), { mode: 0o600 });
    configFile = path.join(dir, 'config.yaml');
    fs.writeFileSync(configFile, CONFIG);
    fake.putNamespace('shop', { env: 'prod' });
    fake.putNamespace('lab', { env: 'staging' });
    fake.putNamespace('web');
    for (const ns of ['shop', 'lab']) for (const name of ['db-0', 'db-1']) fake.putPod({ namespace: ns, name, labels: { app: 'db' }, phase: 'Running' });
    fake.putPod({ namespace: 'web', name: 'web-0', labels: { app: 'web' } });
    fake.putPolicy({ metadata: { name: 'default-deny', namespace: 'lab' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } });
  });
  after(async () => {
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    fake.requests.length = 0;
  });

  /** Every request the fake saw was a GET; returns their paths. */
  const onlyReads = (): string[] => {
    assert.deepEqual(fake.requests.filter((r) => r.method !== 'GET'), [], 'a request other than GET reached the API server');
    return fake.requests.map((r) => r.path);
  };

  describe('grant --dry-run', () => {
    it('prints exactly what explain prints for the manifest grant would send, in every format, and sends nothing', async () => {
      const manifest = io();
      assert.equal(await grantCommand.run([...grantArgs('lab', '4h'), '-o', 'yaml', '--config', configFile], manifest), 0, manifest.err);
      const file = path.join(dir, 'built.yaml');
      fs.writeFileSync(file, manifest.out);
      for (const format of ['text', 'json', 'dot']) {
        const dryRun = io();
        const status = await grantCommand.run([...grantArgs('lab', '4h'), '--dry-run', '-o', format, '--config', configFile, '--kubeconfig', kubeconfig], dryRun);
        const explained = io();
        const explainStatus = await explainCommand.run(['-f', file, '-o', format, '--config', configFile, '--kubeconfig', kubeconfig], explained);
        assert.equal(dryRun.err, '', format);
        assert.equal(status, 0, `${format}: admitted (lab has a default-deny, so nothing is newly isolated)`);
        assert.equal(status, explainStatus);
        assert.equal(dryRun.out, explained.out, `${format}: grant --dry-run and explain differ`);
      }
      const paths = onlyReads();
      assert.ok(paths.includes('/api/v1/pods') && paths.includes('/apis/networking.k8s.io/v1/namespaces/lab/networkpolicies'));
      const dot = io();
      await grantCommand.run([...grantArgs('lab', '1h'), '--dry-run', '-o', 'dot', '--kubeconfig', kubeconfig], dot);
      assert.match(dot.out, /^digraph "lab\/grant-inc-20-abcde" \{\n/);
      assert.match(dot.out, /cidr_0_0 -> targets_0 \[label="TCP\/5432"\];/);
    });

    it('reports the pods the grant would isolate and exits 1, naming the rule, without creating it', async () => {
      const out = io();
      assert.equal(await grantCommand.run([...grantArgs('shop', '1h'), '--dry-run', '--config', configFile, '--kubeconfig', kubeconfig], out), 1);
      assert.equal(out.err, '');
      const lines = out.out.split('\n');
      assert.equal(lines[0], 'NetworkPolicy shop/grant-inc-20-abcde: DENIED (profile production)');
      assert.equal(lines[1], 'opens 2 pods ← 256 addresses on TCP/5432; 2 pods newly isolated');
      assert.ok(lines.includes('  newly isolated (2): db-0, db-1'), out.out);
      assert.ok(lines.some((l) => l.startsWith('  deny: [isolates-pods] spec.podSelector newly isolates 2 pod(s)')));
      onlyReads();
    });

    it('judges by the profile of the live namespace: the same flags, two verdicts', async () => {
      fake.putPolicy({ metadata: { name: 'default-deny', namespace: 'shop' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } });
      try {
        const prod = io();
        assert.equal(await grantCommand.run([...grantArgs('shop', '4h'), '--dry-run', '-o', 'json', '--config', configFile, '--kubeconfig', kubeconfig], prod), 1);
        const prodDoc = JSON.parse(prod.out) as { allowed: boolean; profile: string; findings: { ruleId: string }[] };
        assert.deepEqual([prodDoc.allowed, prodDoc.profile, prodDoc.findings.map((f) => f.ruleId)], [false, 'production', ['expiry-too-far']]);
        const staging = io();
        assert.equal(await grantCommand.run([...grantArgs('lab', '4h'), '--dry-run', '-o', 'json', '--config', configFile, '--kubeconfig', kubeconfig], staging), 0);
        const stagingDoc = JSON.parse(staging.out) as { allowed: boolean; profile: string };
        assert.deepEqual([stagingDoc.allowed, stagingDoc.profile], [true, 'default']);
      } finally {
        fake.removePolicy('shop', 'default-deny');
      }
    });

    it('says what failed: no kubeconfig, a namespace that does not exist, a forbidden list; exit 2', async () => {
      const missing = io();
      assert.equal(await grantCommand.run([...grantArgs('shop', '1h'), '--dry-run', '--kubeconfig', path.join(dir, 'nope')], missing), 2);
      assert.match(missing.err, /cannot load the kubeconfig .*nope/);
      const noNamespace = io();
      assert.equal(await grantCommand.run([...grantArgs('ghost', '1h'), '--dry-run', '--kubeconfig', kubeconfig], noNamespace), 2);
      assert.match(noNamespace.err, /^netpol-guard grant: namespace "ghost" not found in the cluster at http:\/\/127\.0\.0\.1:\d+\n$/);
      fake.forbid('/api/v1/pods', 'pods is forbidden: User "carol" cannot list resource "pods" in API group "" at the cluster scope');
      try {
        const forbidden = io();
        assert.equal(await grantCommand.run([...grantArgs('shop', '1h'), '--dry-run', '--kubeconfig', kubeconfig], forbidden), 2);
        assert.match(forbidden.err, /cannot read the cluster at http:\/\/127\.0\.0\.1:\d+: HTTP 403 Forbidden: pods is forbidden: User "carol" cannot list resource "pods"/);
        assert.equal(forbidden.out, '');
      } finally {
        fake.unforbid('/api/v1/pods');
      }
      onlyReads();
    });
  });

  describe('grant --cluster', () => {
    it('checks under the profile of the live namespace, reading only that namespace', async () => {
      const prod = io();
      assert.equal(await grantCommand.run([...grantArgs('shop', '4h'), '--cluster', '-o', 'yaml', '--config', configFile, '--kubeconfig', kubeconfig], prod), 1);
      assert.match(prod.err, /refused: shop\/grant-inc-20-abcde would be denied under config .*config\.yaml; nothing was sent\n {2}\[expiry-too-far\]/);
      assert.equal(prod.out, '');
      assert.deepEqual(onlyReads(), ['/api/v1/namespaces/shop']);
      fake.requests.length = 0;
      const staging = io();
      assert.equal(await grantCommand.run([...grantArgs('lab', '4h'), '--cluster', '-o', 'yaml', '--config', configFile, '--kubeconfig', kubeconfig], staging), 0, staging.err);
      assert.equal((YAML.parse(staging.out) as { metadata: { namespace: string } }).metadata.namespace, 'lab');
      assert.deepEqual(onlyReads(), ['/api/v1/namespaces/lab']);
    });

    it('without --cluster or labels, warns that the profile could not be decided', async () => {
      const out = io();
      assert.equal(await grantCommand.run([...grantArgs('shop', '4h'), '-o', 'yaml', '--config', configFile], out), 0, out.err);
      assert.match(out.err, /without --namespace-labels or --cluster the local check uses profile default/);
      assert.deepEqual(fake.requests, []);
    });

    it('names the namespace that is missing, and the RBAC refusal', async () => {
      const missing = io();
      assert.equal(await grantCommand.run([...grantArgs('ghost', '1h'), '--cluster', '-o', 'yaml', '--kubeconfig', kubeconfig], missing), 2);
      assert.match(missing.err, /^netpol-guard grant: --cluster: namespace "ghost" not found in the cluster at http:\/\/127\.0\.0\.1:\d+\n$/);
      fake.forbid('/api/v1/namespaces/shop', 'namespaces "shop" is forbidden: User "carol" cannot get resource "namespaces" in API group "" in the namespace "shop"');
      try {
        const forbidden = io();
        assert.equal(await grantCommand.run([...grantArgs('shop', '1h'), '--cluster', '-o', 'yaml', '--kubeconfig', kubeconfig], forbidden), 2);
        assert.match(forbidden.err, /--cluster: cannot read the labels of namespace "shop": forbidden: user "carol" may not get namespaces in namespace "shop"\n/);
        assert.equal(forbidden.out, '');
      } finally {
        fake.unforbid('/api/v1/namespaces/shop');
      }
    });
  });

  describe('check --cluster', () => {
    const manifest = (namespace: string, name: string): string =>
      YAML.stringify({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name, namespace, annotations: { 'netpol-guard.io/ttl': '4h', 'netpol-guard.io/ticket': 'INC-16' } },
        spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ protocol: 'TCP', port: 5432 }] }] },
      });
    let file: string;
    before(() => {
      file = path.join(dir, 'policies.yaml');
      fs.writeFileSync(file, `${manifest('shop', 'a')}---\n${manifest('lab', 'b')}---\n${manifest('shop', 'c')}`);
    });

    it('judges each policy by the profile of its live namespace, one GET per namespace', async () => {
      const out = io();
      const status = await checkCommand.run(['--cluster', '--config', configFile, '--kubeconfig', kubeconfig, '--format', 'json', '--now', '2026-03-01T02:14:00Z', file], out);
      assert.equal(out.err, '');
      assert.equal(status, 1);
      const doc = JSON.parse(out.out) as { policies: { name: string; verdict: string; profile?: string }[] };
      assert.deepEqual(
        doc.policies.map((p) => [p.name, p.verdict, p.profile]),
        [
          ['a', 'denied', 'production'],
          ['b', 'allowed', 'default'],
          ['c', 'denied', 'production'],
        ],
      );
      assert.deepEqual(onlyReads(), ['/api/v1/namespaces/shop', '/api/v1/namespaces/lab']);
    });

    it('is offline without --cluster: --kubeconfig alone is a usage error, and nothing is read', async () => {
      const out = io();
      assert.equal(await checkCommand.run(['--kubeconfig', kubeconfig, file], out), 2);
      assert.match(out.err, /--kubeconfig is read only with --cluster; check is offline otherwise/);
      const both = io();
      assert.equal(await checkCommand.run(['--cluster', '--namespace-labels', 'env=prod', file], both), 2);
      assert.match(both.err, /either --cluster .* or --namespace-labels, not both/);
      const offline = io();
      assert.equal(await checkCommand.run(['--config', configFile, '--now', '2026-03-01T02:14:00Z', file], offline), 0);
      assert.match(offline.out, /note: a profile matches on namespace labels and none are known for shop/);
      assert.deepEqual(fake.requests, []);
    });

    it('exits 2 naming what failed: the kubeconfig, a missing namespace, a forbidden read', async () => {
      const noConfig = io();
      assert.equal(await checkCommand.run(['--cluster', '--kubeconfig', path.join(dir, 'nope'), file], noConfig), 2);
      assert.match(noConfig.err, /^netpol-guard check: --cluster: cannot load Kubernetes client configuration from .*nope/);
      const ghostFile = path.join(dir, 'ghost.yaml');
      fs.writeFileSync(ghostFile, manifest('ghost', 'g'));
      const missing = io();
      assert.equal(await checkCommand.run(['--cluster', '--kubeconfig', kubeconfig, ghostFile], missing), 2);
      assert.match(missing.err, /--cluster: namespace "ghost" not found in the cluster at http:\/\/127\.0\.0\.1:\d+/);
      assert.equal(missing.out, '', 'no verdict is printed when the profile could not be chosen');
      fake.forbid('/api/v1/namespaces/lab', 'namespaces "lab" is forbidden: User "ci" cannot get resource "namespaces" in API group "" in the namespace "lab"');
      try {
        const forbidden = io();
        assert.equal(await checkCommand.run(['--cluster', '--kubeconfig', kubeconfig, file], forbidden), 2);
        assert.match(forbidden.err, /--cluster: cannot read the labels of namespace "lab": forbidden: user "ci" may not get namespaces in namespace "lab"\n {2}API server: namespaces "lab" is forbidden/);
      } finally {
        fake.unforbid('/api/v1/namespaces/lab');
      }
    });
  });
});
