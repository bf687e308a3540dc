// The operator side of approvals against the fake API server: `grant` in a profile that requires
// approval files a GrantRequest (and says who approves, and how), `--wait` follows it to its end
// with distinct exit codes, `list --pending` shows the queue, `revoke --request` takes its access.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { GrantRequest } from '../../../src/approval/grantRequest.js';
import { grantCommand } from '../../../src/cli/grant.js';
import { listCommand } from '../../../src/cli/list.js';
import { revokeCommand } from '../../../src/cli/revoke.js';
import { waitForRequest, WAIT_EXIT } from '../../../src/operator/fileRequest.js';
import type { RequestClient } from '../../../src/operator/requestClient.js';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { FakeGrantRequests } from '../../helpers/fakeGrantRequests.js';
import { captureIo, kubeconfigFile, NOW, statusBody } from '../operator/support.js';

const GRANT = ['--to', 'app=database', '--from-cidr', '198.51.100.0/28', '--port', '5432/TCP', '--for', '2h', '--ticket', 'INC-1234'];

describe('approvals: grant, --wait, list --pending, revoke --request', () => {
  let fake: FakeApiServer;
  let requests: FakeGrantRequests;
  let kubeconfig: string;
  let config: string;

  before(async () => {
    fake = await FakeApiServer.start();
    kubeconfig = kubeconfigFile(fake);
    config = `${kubeconfig}.approval.yaml`;
    fs.writeFileSync(config, "profiles:\n  - name: prod\n    match: {namespaces: ['prod-*']}\n    approval: {required: 2}\n");
  });
  after(async () => {
    await fake.stop();
  });
  beforeEach(() => {
    fake.reset();
    requests = new FakeGrantRequests();
    fake.serveExtra(requests.handler);
  });

  const run = (command: typeof grantCommand | typeof listCommand | typeof revokeCommand, args: string[], io = captureIo()) =>
    command.run([...args, '--kubeconfig', kubeconfig, '--config', config], io).then((code) => ({ code, io }));

  it('grant in a prod namespace files a GrantRequest for exactly the access, not a NetworkPolicy, and says how to approve', async () => {
    const { code, io } = await run(grantCommand, ['-n', 'prod-payments', ...GRANT, '--reason', 'replica lag']);
    assert.equal(code, 0, io.err);
    assert.equal(fake.requestsFor('create').length, 0, 'no NetworkPolicy was sent');
    const filed = requests.requests.get('prod-payments/grant-inc-1234-abcde');
    assert.ok(filed, 'the request is stored');
    assert.deepEqual(filed.spec?.policy, {
      podSelector: { matchLabels: { app: 'database' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/28' } }], ports: [{ port: 5432, protocol: 'TCP' }] }],
    });
    assert.equal(filed.spec?.duration, '2h');
    assert.equal(filed.spec?.ticket, 'INC-1234');
    assert.equal(filed.spec?.reason, 'replica lag');
    assert.match(io.out, /^requested prod-payments\/grant-inc-1234-abcde \(GrantRequest\): profile prod needs 2 approvals from people other than you; nothing is open until then\n/);
    assert.match(io.out, /\n {2}approve: {3}netpol-guard approve grant-inc-1234-abcde -n prod-payments\n/);
    assert.match(io.out, /\n {2}approvers: anyone bound to ClusterRole netpol-guard-approver in prod-payments \(you may not read the bindings/);
    assert.match(io.out, /\n {2}for: {7}2h, counted from the approval that makes it enough\n/);
  });

  it('names the approvers when the bindings are readable', async () => {
    requests.bindings = {
      namespaced: [{ metadata: { name: 'a' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'netpol-guard-approver' }, subjects: [{ kind: 'User', name: 'bob' }, { kind: 'Group', name: 'sre' }] }],
      cluster: [
        { metadata: { name: 'b' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'netpol-guard-approver' }, subjects: [{ kind: 'User', name: 'dave' }] },
        { metadata: { name: 'c' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', name: 'eve' }] },
      ],
    };
    const { code, io } = await run(grantCommand, ['-n', 'prod-payments', ...GRANT]);
    assert.equal(code, 0, io.err);
    assert.match(io.out, /\n {2}approvers: Group sre, User bob, User dave\n/);
  });

  it('outside the prod profile grant creates the NetworkPolicy as before', async () => {
    const { code, io } = await run(grantCommand, ['-n', 'payments', ...GRANT]);
    assert.equal(code, 0, io.err);
    assert.equal(fake.requestsFor('create').length, 1);
    assert.equal(requests.requests.size, 0);
  });

  it('recognises the webhook\'s approval-required denial (a profile the local config does not know) and files instead', async () => {
    fake.failNext('create', { status: 403, body: statusBody(403, 'Forbidden', 'admission webhook "validate.netpol-guard.io" denied the request: [approval-required] metadata: profile prod requires 2 distinct approver(s)') });
    const { code, io } = await run(grantCommand, ['-n', 'payments', ...GRANT]);
    assert.equal(code, 0, io.err);
    assert.match(io.err, /the webhook requires approval in payments \(approval-required\); filing a GrantRequest instead/);
    assert.ok(requests.requests.has('payments/grant-inc-1234-abcde'));
    assert.match(io.out, /the webhook's profile needs approval/);
  });

  it('the local check still judges the access: a too-wide request is refused and nothing is filed', async () => {
    const wide = GRANT.map((a) => (a === '198.51.100.0/28' ? '0.0.0.0/0' : a));
    const { code, io } = await run(grantCommand, ['-n', 'prod-payments', ...wide]);
    assert.equal(code, 1);
    assert.match(io.err, /\[ipblock-all-addresses\]/);
    assert.equal(requests.requests.size, 0);
  });

  for (const [end, status, exit, pattern] of [
    ['active', { phase: 'Active', policyName: 'grant-inc-1234-abcde', approvedAt: '2026-03-01T04:05:00Z', expiresAt: '2026-03-01T06:05:00Z', approvals: [{ by: 'bob', at: '2026-03-01T04:02:00Z' }, { by: 'dave', at: '2026-03-01T04:05:00Z' }] }, 0, /^active prod-payments\/grant-inc-1234-abcde after 0s\n {2}approved: bob, dave \(at 2026-03-01T04:05:00Z\)\n {2}expires: {2}2026-03-01T06:05:00Z \(in 3h51m\)\n$/m],
    ['denied', { phase: 'Denied', denial: { by: 'carol', at: '2026-03-01T04:03:00Z', reason: 'use the replica' } }, WAIT_EXIT.denied, /denied after 0s by carol at 2026-03-01T04:03:00Z: use the replica/],
    ['lapsed', { phase: 'Lapsed', message: '1 of 2 approvals within 1h' }, WAIT_EXIT.lapsed, /lapsed after 0s: 1 of 2 approvals within 1h; nothing was opened/],
    ['withdrawn', { phase: 'Withdrawn' }, WAIT_EXIT.ended, /ended Withdrawn/],
  ] as const) {
    it(`--wait ends ${end} with exit ${exit}`, async () => {
      requests.onRead = (request) => {
        request.status = structuredClone(status) as GrantRequest['status'];
      };
      const { code, io } = await run(grantCommand, ['-n', 'prod-payments', ...GRANT, '--wait']);
      assert.equal(code, exit, `${io.out}\n${io.err}`);
      assert.match(end === 'active' ? io.out : io.err, pattern);
    });
  }

  it('--wait shows progress with the time elapsed while it waits', async () => {
    let reads = 0;
    let clock = NOW.getTime();
    const pending = (count: number): GrantRequest => ({
      metadata: { namespace: 'prod-x', name: 'r' },
      spec: { policy: { podSelector: {} }, duration: '1h', ticket: 'T-1', requestedBy: 'alice' },
      status: { phase: 'Pending', requiredApprovals: 2, approvals: count === 0 ? [] : [{ by: 'bob', at: '2026-03-01T04:00:05Z' }] },
    });
    const client: RequestClient = {
      server: 'fake',
      list: async () => [],
      create: async (_ns, r) => r,
      namespaceLabels: async () => ({}),
      approvers: async () => undefined,
      read: async () => {
        reads++;
        clock += 5_000;
        if (reads <= 2) return pending(0);
        if (reads <= 4) return pending(1);
        return { ...pending(1), status: { phase: 'Active', policyName: 'r', approvedAt: '2026-03-01T04:00:20Z', expiresAt: '2026-03-01T05:00:20Z', approvals: [] } };
      },
    };
    const io = captureIo({ now: () => new Date(clock) });
    assert.equal(await waitForRequest(client, 'prod-x', 'r', io, (t) => io.stderr(`${t}\n`), 1), 0);
    const progress = io.err.trim().split('\n');
    assert.deepEqual(progress.map((l) => l.replace(/, 2026-\S+\)$/, ')')), ['waiting for approval: 0/2 approvals (5s elapsed)', 'waiting for approval: 1/2 approvals (15s elapsed)']);
    assert.match(io.out, /^active prod-x\/r after 25s\n/);
  });

  it('list --pending shows Pending and Approved requests, oldest first, with age, requester, ticket and approvals k/n', async () => {
    const base = (name: string, created: string, status: GrantRequest['status']): GrantRequest => ({
      apiVersion: 'netpol-guard.io/v1alpha1',
      kind: 'GrantRequest',
      metadata: { namespace: 'prod-payments', name, uid: `u-${name}`, creationTimestamp: created as unknown as Date },
      spec: { policy: { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'] }, duration: '30m', ticket: `INC-${name.length}`, requestedBy: 'alice' },
      status,
    });
    requests.put(base('newer', '2026-03-01T02:04:00Z', { phase: 'Pending', approvals: [{ by: 'bob', at: '2026-03-01T03:55:00Z' }, { by: 'alice', at: '2026-03-01T03:56:00Z' }] }));
    requests.put(base('older', '2026-03-01T00:14:00Z', { phase: 'Approved', approvals: [{ by: 'bob', at: '2026-03-01T02:10:00Z' }, { by: 'dave', at: '2026-03-01T02:20:00Z' }] }));
    requests.put(base('done', '2026-03-01T01:00:00Z', { phase: 'Active', policyName: 'done' }));
    requests.put(base('no', '2026-03-01T01:00:00Z', { phase: 'Denied' }));
    const { code, io } = await run(listCommand, ['--pending', '-n', 'prod-payments']);
    assert.equal(code, 0, io.err);
    const lines = io.out.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME +PHASE +AGE +REQUESTER +TICKET +APPROVALS +APPROVED-BY +FOR +ACCESS$/);
    assert.match(lines[1]!, /^older +Approved +2h +alice +INC-5 +2\/2 +bob,dave +30m +/);
    assert.match(lines[2]!, /^newer +Pending +10m +alice +INC-5 +1\/2 +bob +30m +/, 'the requester\'s own approval never counts');
    assert.equal(lines.length, 3, io.out);
    const empty = await run(listCommand, ['--pending', '-n', 'prod-other']);
    assert.equal(empty.code, 0);
    assert.match(empty.io.err, /No grant requests waiting in namespace prod-other/);
  });

  it('revoke --request revokes the policy the request opened (another name), through the stamped revoke flow', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'prod-payments', name: 'db-debug-7c1e2d3f4a', expiresAt: new Date(NOW.getTime() + 3_600_000), ticket: 'INC-1' }));
    requests.put({ metadata: { namespace: 'prod-payments', name: 'db-debug' }, spec: { policy: { podSelector: {} }, duration: '1h', ticket: 'INC-1' }, status: { phase: 'Active', policyName: 'db-debug-7c1e2d3f4a' } });
    const { code, io } = await run(revokeCommand, ['--request', 'db-debug', '-n', 'prod-payments']);
    assert.equal(code, 0, io.err);
    assert.deepEqual(fake.requestsFor('delete').map((r) => r.path), ['/apis/networking.k8s.io/v1/namespaces/prod-payments/networkpolicies/db-debug-7c1e2d3f4a']);
    assert.match(io.out, /^revoked prod-payments\/db-debug-7c1e2d3f4a\n/);
    assert.match(io.out, /\n {2}request: {2}prod-payments\/db-debug \(the controller closes it Revoked\)\n/);
  });

  it('revoke NAME of a request whose policy has another name finds it; a Pending one has nothing open and says how to withdraw', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'prod-payments', name: 'db-debug-7c1e2d3f4a', expiresAt: new Date(NOW.getTime() + 3_600_000) }));
    requests.put({ metadata: { namespace: 'prod-payments', name: 'db-debug' }, spec: { policy: { podSelector: {} }, duration: '1h', ticket: 'INC-1' }, status: { phase: 'Active', policyName: 'db-debug-7c1e2d3f4a' } });
    const detected = await run(revokeCommand, ['db-debug', '-n', 'prod-payments']);
    assert.equal(detected.code, 0, detected.io.err);
    assert.equal(fake.requestsFor('delete').length, 1);

    requests.put({ metadata: { namespace: 'prod-payments', name: 'waiting' }, spec: { policy: { podSelector: {} }, duration: '1h', ticket: 'INC-2' }, status: { phase: 'Pending' } });
    for (const args of [['--request', 'waiting'], ['waiting']]) {
      const { code, io } = await run(revokeCommand, [...args, '-n', 'prod-payments']);
      assert.equal(code, 1, io.out);
      assert.match(io.err, /prod-payments\/waiting is Pending: nothing is open yet\. To withdraw it, delete it: kubectl delete grantrequests\.netpol-guard\.io waiting -n prod-payments/);
    }
    const missing = await run(revokeCommand, ['--request', 'nope', '-n', 'prod-payments']);
    assert.equal(missing.code, 1);
    assert.match(missing.io.err, /no GrantRequest prod-payments\/nope/);
    const both = await run(revokeCommand, ['x', '--request', 'y', '-n', 'prod-payments']);
    assert.equal(both.code, 2);
  });
});
