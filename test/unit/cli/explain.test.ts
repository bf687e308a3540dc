import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { explainCommand } from '../../../src/cli/explain.js';
import { FakeClusterApi } from '../../helpers/fakeClusterApi.js';
import { captureIo } from '../operator/support.js';

const GRANT = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: debug-db
  namespace: shop
  annotations: {netpol-guard.io/ttl: 2h, netpol-guard.io/ticket: INC-7}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{ipBlock: {cidr: 198.51.100.0/24}}]
    ports: [{protocol: TCP, port: 5432}]
`;

describe('netpol-guard explain against a fake API server', () => {
  let fake: FakeClusterApi;
  let dir: string;
  let kubeconfig: string;
  before(async () => {
    fake = await FakeClusterApi.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netpol-guard-explain-'));
    kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, fake.kubeConfig().exportConfig(), { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'grant.yaml'), GRANT);
    fake.putNamespace('shop', { team: 'pay' });
    fake.putNamespace('web');
    for (const name of ['db-0', 'db-1', 'db-2']) fake.putPod({ namespace: 'shop', name, labels: { app: 'db' }, phase: 'Running' });
    fake.putPod({ namespace: 'shop', name: 'db-old', labels: { app: 'db' }, phase: 'Succeeded' });
    fake.putPod({ namespace: 'web', name: 'web-0', labels: { app: 'web' } });
  });
  after(async () => {
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('text: denies a grant that isolates the pods, with targets, today/after and the finding', async () => {
    const io = captureIo();
    const status = await explainCommand.run(['-f', path.join(dir, 'grant.yaml'), '--kubeconfig', kubeconfig], io);
    assert.equal(io.err, '');
    assert.equal(status, 1);
    const lines = io.out.split('\n');
    assert.equal(lines[0], 'NetworkPolicy shop/debug-db: DENIED');
    assert.equal(lines[1], 'opens 3 pods ← 256 addresses on TCP/5432; 3 pods newly isolated');
    assert.ok(lines.includes('  targets (3): db-0, db-1, db-2'), io.out);
    assert.ok(lines.includes('  newly isolated (3): db-0, db-1, db-2'));
    assert.ok(lines.includes('    today: all ingress'));
    assert.ok(lines.includes('    after: only 198.51.100.0/24 on TCP/5432'));
    assert.ok(lines.some((l) => l.startsWith('  deny: [isolates-pods] spec.podSelector newly isolates 3 pod(s) for ingress (db-0, db-1, db-2)')));
    // The metadata-only reads, and the namespace's policies.
    const pods = fake.requests.find((r) => r.path === '/api/v1/pods');
    assert.equal(pods?.accept, 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1');
    assert.ok(fake.requests.some((r) => r.path === '/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies'));
  });

  it('json: admitted after a baseline policy; the delta counts target × address × port', async () => {
    fake.putPolicy({ metadata: { name: 'default-deny', namespace: 'shop' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } });
    const io = captureIo();
    const status = await explainCommand.run(['-f', path.join(dir, 'grant.yaml'), '--kubeconfig', kubeconfig, '-o', 'json'], io);
    assert.equal(status, 0, io.err);
    const doc = JSON.parse(io.out) as {
      allowed: boolean;
      summary: string;
      directions: { direction: string; targets: { name: string }[]; newlyIsolated: unknown[]; delta: { addressConnections: string } }[];
      findings: unknown[];
    };
    assert.equal(doc.allowed, true);
    assert.equal(doc.summary, 'opens 3 pods ← 256 addresses on TCP/5432; 0 pods newly isolated');
    assert.deepEqual(doc.directions.map((d) => d.direction), ['ingress']);
    assert.deepEqual(doc.directions[0]!.targets.map((t) => t.name), ['db-0', 'db-1', 'db-2']);
    assert.deepEqual(doc.directions[0]!.newlyIsolated, []);
    assert.equal(doc.directions[0]!.delta.addressConnections, String(3 * 256));
    assert.deepEqual(doc.findings, []);
  });

  it('dot: a graph of the targets and the ipBlock, and a live policy by name', async () => {
    fake.putPolicy({
      metadata: { name: 'web-to-db', namespace: 'shop' },
      spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 5432 }] }] },
    } as never);
    const io = captureIo();
    const status = await explainCommand.run(['web-to-db', '-n', 'shop', '--kubeconfig', kubeconfig, '-o', 'dot'], io);
    assert.equal(io.err, '');
    assert.equal(status, 1, 'the live policy lacks ticket and expiry: the webhook would deny it');
    assert.match(io.out, /^digraph "shop\/web-to-db" \{/);
    assert.match(io.out, /pod_0_0 \[shape=ellipse, label="web\/web-0"\];/);
    assert.match(io.out, /pod_0_0 -> targets_0 \[label="TCP\/5432"\];/);
  });

  it('usage errors: neither or both of -f and NAME, an unknown output', async () => {
    for (const argv of [[], ['x', '-f', 'y'], ['-f', 'y', '-o', 'yaml']]) {
      const io = captureIo();
      assert.equal(await explainCommand.run([...argv, '--kubeconfig', kubeconfig], io), 2, argv.join(' '));
    }
    const missing = captureIo();
    assert.equal(await explainCommand.run(['nope', '-n', 'shop', '--kubeconfig', kubeconfig], missing), 2);
    assert.match(missing.err, /NetworkPolicy shop\/nope not found/);
  });
});
