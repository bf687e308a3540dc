// The webhook's cluster view end to end: `serve --cluster-view required` under the shipped RBAC
// (the ServiceAccount's token) against a real kube-apiserver with the GrantRecord CRD and a
// leader-elected controller. Profiles (the same
// manifest, two verdicts), a namespace quota of 2, and a grant the controller deleted at expiry
// re-created from the same manifest (grant-recreated).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { httpRequest, startControlPlane, type ControlPlane, type KubectlResult } from './harness/controlPlane.js';
import { manifestsDir, startNetpolGuard, type JsonObject, type NetpolGuard, type SweeperProcess } from './harness/guard.js';
import YAML from 'yaml';
import { grantAnnotations, narrowPolicy } from './harness/policies.js';
import { createTenantNamespace, ensureNetworkPolicyEditorRole } from './harness/tenants.js';

const PREFIX = 'netpol-guard.io';
const CONFIG = `mode: enforce
annotationPrefix: ${PREFIX}
limits: {maxTTL: 24h}
quotas: {maxLiveGrantsPerNamespace: 2}
clusterView: {maxStaleness: 3s}
profiles:
  - name: production
    match: {namespaces: ['prod-*']}
    limits: {maxTTL: 2h}
`;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('cluster view: profiles, quotas and the re-creation guard', () => {
  let cp: ControlPlane | undefined;
  let guard: NetpolGuard | undefined;
  let controller: SweeperProcess | undefined;

  before(async () => {
    cp = await startControlPlane({});
    await ensureNetworkPolicyEditorRole(cp);
    await cp.kubectlOk(['apply', '-f', path.join(manifestsDir(), 'crds', 'grantrecords.netpol-guard.io.yaml')]);
    await cp.kubectlOk(['wait', '--for=condition=established', '--timeout=30s', 'crd/grantrecords.netpol-guard.io']);
    // startNetpolGuard waits for /readyz, which is false until the view has synced.
    guard = await startNetpolGuard(cp, { configYaml: CONFIG, clusterView: true });
    controller = await guard.startController(['--leader-elect', '--lease-duration', '4s', '--renew-deadline', '3s', '--retry-period', '1s', '--lease-namespace', guard.sweeperIdentity.namespace]);
  });

  after(async () => {
    await controller?.stop().catch(() => undefined);
    await guard?.stop().catch((err: unknown) => process.stderr.write(`guard stop: ${String(err)}\n`));
    await cp?.stop();
  });

  const plane = (): ControlPlane => {
    assert.ok(cp, 'control plane did not start');
    return cp;
  };
  const apply = (ns: string, name: string, ttl: string, ticket: string): Promise<KubectlResult> =>
    plane().kubectl(['apply', '-f', '-'], { asUser: 'alice', stdin: narrowPolicy(ns, name, grantAnnotations(PREFIX, ttl, ticket)) });

  it('the same 4h grant is denied in prod-* (maxTTL 2h) and admitted in staging (24h), naming the profile', async () => {
    const prod = await createTenantNamespace(plane(), 'prod');
    const staging = await createTenantNamespace(plane(), 'staging');
    const denied = await apply(prod, 'four-hours', '4h', 'INC-1');
    assert.notEqual(denied.code, 0, denied.stdout);
    assert.match(denied.stderr, new RegExp(`netpol-guard denied NetworkPolicy ${prod}/four-hours \\(profile production\\): 1 problem\\(s\\)`));
    assert.match(denied.stderr, /\[expiry-too-far\]/);
    const admitted = await apply(staging, 'four-hours', '4h', 'INC-1');
    assert.equal(admitted.code, 0, admitted.stderr);
  });

  it('a third grant in a namespace with a quota of 2 is denied, listing the two open ones', async () => {
    const ns = await createTenantNamespace(plane(), 'quota');
    for (const [name, ticket] of [['first', 'INC-11'], ['second', 'INC-12']] as const) {
      const r = await apply(ns, name, '1h', ticket);
      assert.equal(r.code, 0, r.stderr);
    }
    await sleep(1_000); // the view follows the watch; one second is far more than it trails by
    const third = await apply(ns, 'third', '1h', 'INC-13');
    assert.notEqual(third.code, 0, third.stdout);
    assert.match(third.stderr, /\[quota-namespace-exceeded\] metadata\.namespace \S+ already has 2 live grant\(s\) and profile default allows 2: /);
    assert.match(third.stderr, /first \(ticket INC-11, expires in \d+m\d*s?\)/);
    assert.match(third.stderr, /second \(ticket INC-12, expires in \d+m\d*s?\)/);
  });

  it('a grant the controller deleted at its expiry, re-created from the same manifest, is denied as grant-recreated', async () => {
    const ns = await createTenantNamespace(plane(), 'gitops');
    const first = await apply(ns, 'from-git', '4s', 'CHG-7');
    assert.equal(first.code, 0, first.stderr);
    const deadline = Date.now() + 30_000;
    let closed: JsonObject | undefined;
    while (closed === undefined) {
      if (Date.now() > deadline) assert.fail(`the controller did not record the expiry:\n${controller?.logs().slice(-10).map((l) => JSON.stringify(l)).join('\n')}`);
      await sleep(250);
      const list = await plane().kubectl(['get', 'grantrecords', '-o', 'json']);
      const items = (JSON.parse(list.stdout) as { items: JsonObject[] }).items;
      closed = items.find((r) => {
        const spec = r['spec'] as JsonObject;
        const policy = spec['policy'] as JsonObject;
        return policy['namespace'] === ns && policy['name'] === 'from-git' && (r['status'] as JsonObject)['state'] === 'Expired';
      });
    }
    await sleep(1_000);
    const again = await apply(ns, 'from-git', '4s', 'CHG-7');
    assert.notEqual(again.code, 0, again.stdout);
    assert.match(again.stderr, new RegExp(`\\[grant-recreated\\] metadata\\.name re-creates grant ${ns}/from-git \\(ticket CHG-7\\), matched by name, which ended Expired at `));
    assert.match(again.stderr, /remove it from Git \(or your deploy tool\), or request a new grant under a new ticket and name/);
  });

  it('kube-apiserver restarted: /readyz turns false and the rules fail closed while the view is stale, then both recover', async () => {
    const webhook = guard!.webhook;
    const ca = fs.readFileSync(webhook.caFile);
    const readyz = async (): Promise<{ status: number; stale?: boolean }> => {
      const r = await httpRequest(`${webhook.baseUrl}/readyz`, { ca, timeoutMs: 2_000 });
      const body = JSON.parse(r.body) as { clusterView?: { stale: boolean } };
      return { status: r.status, ...(body.clusterView && { stale: body.clusterView.stale }) };
    };
    const validate = async (): Promise<{ allowed: boolean; message?: string }> => {
      const object = YAML.parse(narrowPolicy('staging-x', 'while-down', grantAnnotations(PREFIX, '1h', 'INC-99'))) as Record<string, unknown>;
      const review = {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: 'e2e-stale',
          kind: { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' },
          resource: { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' },
          namespace: 'staging-x',
          operation: 'CREATE',
          userInfo: { username: 'alice', groups: [] },
          object,
        },
      };
      const r = await httpRequest(`${webhook.baseUrl}/validate`, { ca, method: 'POST', body: JSON.stringify(review), timeoutMs: 2_000 });
      const response = (JSON.parse(r.body) as { response: { allowed: boolean; status?: { message?: string } } }).response;
      return { allowed: response.allowed, ...(response.status?.message !== undefined && { message: response.status.message }) };
    };
    assert.deepEqual(await readyz(), { status: 200, stale: false });

    let sawStale = false;
    let staleVerdict: { allowed: boolean; message?: string } | undefined;
    const restart = plane().restartApiServer(12_000);
    const probing = (async () => {
      while (!sawStale) {
        const state = await readyz().catch(() => undefined);
        if (state?.status === 503 && state.stale === true) {
          sawStale = true;
          staleVerdict = await validate();
        }
        await sleep(200);
      }
    })();
    await restart;
    await Promise.race([probing, sleep(1_000)]);
    assert.ok(sawStale, 'the webhook never reported a stale view while kube-apiserver was down');
    assert.equal(staleVerdict?.allowed, false, 'a grant judged while the view is stale is refused');
    assert.match(staleVerdict?.message ?? '', /\[grant-recreated\] not checked: netpol-guard's cluster view is stale/);

    const deadline = Date.now() + 60_000;
    for (;;) {
      const state = await readyz().catch(() => undefined);
      if (state?.status === 200 && state.stale === false) break;
      if (Date.now() > deadline) assert.fail(`the view did not recover within 60 s after kube-apiserver came back (last: ${JSON.stringify(state)})`);
      await sleep(250);
    }
    assert.equal((await validate()).allowed, true, 'judged normally again once the view is current');
  });
});
