// What a grant opens, judged at admission: `serve --cluster-view required` under the shipped RBAC
// (its view lists and watches every Pod as metadata only, and every NetworkPolicy) against a real
// kube-apiserver holding real Pods (no kubelet: they stay Pending, labels intact), with the real
// kubectl as alice. A grant isolating pods is denied, then admitted once a baseline exists; a typo'd
// selector is admitted with kubectl showing the warning; a grant over 50 target pods is denied; and
// `explain -o json` says what the webhook's audit line says it opened.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { httpRequest, startControlPlane, type ControlPlane } from './harness/controlPlane.js';
import { cliPath, manifestsDir, startNetpolGuard, type JsonObject, type NetpolGuard } from './harness/guard.js';
import { createPods } from './harness/pods.js';
import { defaultDenyPolicy } from './harness/policies.js';
import { runToCompletion } from './harness/processes.js';
import { createTenantNamespace, ensureNetworkPolicyEditorRole } from './harness/tenants.js';

// Admin (system:masters) lays baselines down as break-glass: a baseline selects pods nothing
// selected before, so it isolates them too, which is the point of it and exactly what the rule
// catches; break-glass admits it with every finding as a warning, audited.
const CONFIG = `mode: enforce
limits: {maxTTL: 24h}
breakGlassGroups: [system:masters]
clusterView: {maxStaleness: 5s}
`;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface ExplainJson {
  allowed: boolean;
  summary: string;
  directions: { direction: string; targets: { name: string }[]; newlyIsolated: { name: string }[] }[];
  findings: { ruleId: string }[];
}

/** An ingress grant to `selector` pods from 198.51.100.0/24 on TCP 5432. */
function dbGrant(namespace: string, name: string, selector: Record<string, string>, ticket: string): string {
  return YAML.stringify({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace, annotations: { 'netpol-guard.io/ttl': '2h', 'netpol-guard.io/ticket': ticket } },
    spec: {
      podSelector: { matchLabels: selector },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
    },
  });
}

describe('effect rules at admission, with real Pods in the webhook\'s view', () => {
  let cp: ControlPlane | undefined;
  let guard: NetpolGuard | undefined;
  let shop = '';
  let batch = '';
  let home = '';

  const plane = (): ControlPlane => {
    assert.ok(cp, 'control plane did not start');
    return cp;
  };
  const webhook = () => {
    assert.ok(guard, 'netpol-guard did not start');
    return guard.webhook;
  };

  /** The view's informers as /readyz reports them. */
  const viewInformers = async (): Promise<Record<string, number>> => {
    const r = await httpRequest(`${webhook().baseUrl}/readyz`, { ca: fs.readFileSync(webhook().caFile), timeoutMs: 2_000 });
    const body = JSON.parse(r.body) as { clusterView?: { informers: { name: string; cached: number }[] } };
    return Object.fromEntries((body.clusterView?.informers ?? []).map((i) => [i.name, i.cached]));
  };
  /** Waits until the webhook's view holds at least `want` objects in an informer (it follows watches). */
  const viewHolds = async (informer: string, want: number): Promise<void> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const held = await viewInformers();
      if ((held[informer] ?? -1) >= want) return;
      if (Date.now() > deadline) assert.fail(`the webhook's view holds ${JSON.stringify(held)}, not ${want} ${informer}`);
      await sleep(100);
    }
  };
  /** Applies `manifest` as admin and waits until the webhook's view holds one more policy. */
  const layAsAdmin = async (manifest: string) => {
    const before = (await viewInformers())['policies'] ?? 0;
    const laid = await plane().kubectl(['apply', '-f', '-'], { stdin: manifest });
    assert.equal(laid.code, 0, laid.stderr);
    await viewHolds('policies', before + 1);
    return laid;
  };
  const applyAsAlice = (manifest: string) => plane().kubectl(['apply', '-f', '-'], { asUser: 'alice', stdin: manifest });
  /** The webhook's audit line admitting `namespace/name` (pino writes it asynchronously: polled). */
  const auditLineOf = async (namespace: string, name: string): Promise<JsonObject> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const line = webhook()
        .decisions()
        .filter((d) => d['endpoint'] === 'validate' && d['namespace'] === namespace && d['name'] === name && d['verdict'] === 'allowed')
        .at(-1);
      if (line !== undefined) return line;
      if (Date.now() > deadline) assert.fail(`no audit line admitting ${namespace}/${name}`);
      await sleep(100);
    }
  };

  before(async () => {
    cp = await startControlPlane();
    await ensureNetworkPolicyEditorRole(cp);
    await cp.kubectlOk(['apply', '-f', path.join(manifestsDir(), 'crds', 'grantrecords.netpol-guard.io.yaml')]);
    await cp.kubectlOk(['wait', '--for=condition=established', '--timeout=30s', 'crd/grantrecords.netpol-guard.io']);
    guard = await startNetpolGuard(cp, { configYaml: CONFIG, clusterView: true });
    home = fs.mkdtempSync(path.join(cp.tmpDir, 'effect-admission-home-'));
    shop = await createTenantNamespace(cp, 'shop');
    batch = await createTenantNamespace(cp, 'batch');
    await createPods(cp, shop, [
      { name: 'orders-db-0', labels: { app: 'orders-db' } },
      { name: 'orders-db-1', labels: { app: 'orders-db' } },
      { name: 'orders-db-2', labels: { app: 'orders-db' } },
      { name: 'orders-api-0', labels: { app: 'orders-api' } },
    ]);
    await createPods(
      cp,
      batch,
      Array.from({ length: 51 }, (_, i) => ({ name: `worker-${i}`, labels: { app: 'worker' } })),
    );
    await viewHolds('pods', 55);
  });

  after(async () => {
    await guard?.stop().catch((err: unknown) => process.stderr.write(`guard stop: ${String(err)}\n`));
    await cp?.stop();
  });

  it('the view runs with pods and every policy, under the shipped RBAC', async () => {
    const held = await viewInformers();
    assert.ok(held['pods']! >= 55, JSON.stringify(held));
    assert.ok('policies' in held && 'grants' in held, JSON.stringify(held));
  });

  it('a grant that would isolate the database pods is denied as isolates-pods, naming them', async () => {
    const denied = await applyAsAlice(dbGrant(shop, 'debug-orders-db', { app: 'orders-db' }, 'INC-20'));
    assert.notEqual(denied.code, 0, denied.stdout);
    assert.match(denied.stderr, new RegExp(`netpol-guard denied NetworkPolicy ${shop}/debug-orders-db: 1 problem\\(s\\)`));
    assert.match(denied.stderr, /\[isolates-pods\] spec\.podSelector newly isolates 3 pod\(s\) for ingress \(orders-db-0, orders-db-1, orders-db-2\): today they accept all ingress, after this policy only 198\.51\.100\.0\/24 on TCP\/5432/);
  });

  it('admitted once a baseline selects those pods; the audit line carries what it opens, and explain -o json agrees', async () => {
    const baseline = YAML.stringify({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'orders-db-baseline', namespace: shop },
      spec: {
        podSelector: { matchLabels: { app: 'orders-db' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'orders-api' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
      },
    });
    const laid = await layAsAdmin(baseline);
    assert.match(laid.stderr, /break-glass admission by admin/, 'the baseline itself isolates: admitted as break-glass, audited');

    const manifest = dbGrant(shop, 'debug-orders-db', { app: 'orders-db' }, 'INC-20');
    const admitted = await applyAsAlice(manifest);
    assert.equal(admitted.code, 0, admitted.stderr);
    const summary = 'opens 3 pods ← 256 addresses on TCP/5432; 0 pods newly isolated';
    const line = await auditLineOf(shop, 'debug-orders-db');
    assert.equal(line['effect'], summary);
    assert.deepEqual(line['rules'], []);

    // explain, with the admin's kubeconfig, on the live policy and on the file: the webhook's words.
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
    for (const key of ['KUBECONFIG', 'NETPOL_GUARD_CONFIG', 'NODE_TEST_CONTEXT']) delete env[key];
    const file = path.join(home, 'grant.yaml');
    fs.writeFileSync(file, manifest);
    for (const target of [['debug-orders-db', '-n', shop], ['-f', file]]) {
      const r = await runToCompletion(process.execPath, [cliPath(), 'explain', ...target, '--kubeconfig', plane().kubeconfigAdmin, '-o', 'json'], { cwd: home, env, label: 'netpol-guard explain' });
      assert.equal(r.stderr, '', r.stderr);
      assert.equal(r.code, 0, r.stdout);
      const doc = JSON.parse(r.stdout) as ExplainJson;
      assert.equal(doc.allowed, true);
      assert.equal(doc.summary, line['effect'], `explain ${target.join(' ')} and the audit line disagree`);
      assert.deepEqual(doc.directions[0]!.targets.map((t) => t.name).sort(), ['orders-db-0', 'orders-db-1', 'orders-db-2']);
      assert.deepEqual(doc.directions[0]!.newlyIsolated, []);
    }

    // The admission response itself: the same summary as the `effect` audit annotation.
    const object = YAML.parse(manifest) as JsonObject;
    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'e2e-effect',
        kind: { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' },
        resource: { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' },
        namespace: shop,
        name: 'debug-orders-db',
        operation: 'CREATE',
        userInfo: { username: 'alice', groups: ['developers'] },
        object: { ...object, metadata: { ...(object['metadata'] as JsonObject), annotations: { 'netpol-guard.io/expires-at': new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'), 'netpol-guard.io/ticket': 'INC-20' } } },
      },
    };
    const r = await httpRequest(`${webhook().baseUrl}/validate`, { ca: fs.readFileSync(webhook().caFile), method: 'POST', body: JSON.stringify(review), timeoutMs: 5_000 });
    const response = (JSON.parse(r.body) as { response: { allowed: boolean; auditAnnotations?: Record<string, string> } }).response;
    assert.equal(response.allowed, true);
    assert.equal(response.auditAnnotations?.['effect'], summary);
  });

  it('a typo in the target selector is admitted, and kubectl shows the target-selects-nothing warning', async () => {
    const r = await applyAsAlice(dbGrant(shop, 'debug-typo', { app: 'orders-dbb' }, 'INC-21'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^Warning: \[target-selects-nothing\] spec\.podSelector /m);
    assert.equal((await auditLineOf(shop, 'debug-typo'))['effect'], 'opens 0 pods ← 256 addresses on TCP/5432; 0 pods newly isolated');
  });

  it('a grant targeting 51 pods is denied as blast-radius-targets (limits.maxTargetPods 50)', async () => {
    // A default-deny first (it grants nothing, so it is not judged): the grant then isolates no one
    // and the target count is its only problem.
    await layAsAdmin(defaultDenyPolicy(batch, 'default-deny'));
    const denied = await applyAsAlice(dbGrant(batch, 'debug-workers', { app: 'worker' }, 'INC-22'));
    assert.notEqual(denied.code, 0, denied.stdout);
    assert.match(denied.stderr, new RegExp(`netpol-guard denied NetworkPolicy ${batch}/debug-workers: 1 problem\\(s\\)`));
    assert.match(denied.stderr, /\[blast-radius-targets\] spec\.podSelector /);
    assert.match(denied.stderr, /51/);
  });

  it('a config reload with clusterView.pods: false rebuilds the view without pods; the effect rules are then skipped', async () => {
    fs.writeFileSync(webhook().configFile, CONFIG.replace('clusterView: {maxStaleness: 5s}', 'clusterView: {maxStaleness: 5s, pods: false}'));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const held = await viewInformers();
      if (!('pods' in held) && !('policies' in held)) break;
      if (Date.now() > deadline) assert.fail(`the view was not rebuilt without pods: ${JSON.stringify(held)}`);
      await sleep(200);
    }
    const rebuilt = fs.readFileSync(webhook().logFile, 'utf8');
    assert.match(rebuilt, /"changes":\["clusterView\.pods"\].*cluster view rebuilt/);
    const r = await applyAsAlice(dbGrant(shop, 'debug-typo-2', { app: 'orders-dbb' }, 'INC-23'));
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /target-selects-nothing/);
    assert.equal((await auditLineOf(shop, 'debug-typo-2'))['effect'], undefined, 'no effect without pods in the view');
  });
});
