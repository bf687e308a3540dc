// The two-person rule end to end, against a real kube-apiserver with the netpol-guard webhooks
// registered as manifests/webhooks.yaml registers them (the webhook's API access under the shipped
// RBAC) and one controller running as the shipped ServiceAccount: alice files a request in a prod
// namespace (profile prod: 2 approvals); `list --pending` shows the queue; bob, then dave approve
// through the status subresource (the webhook stamps who and when); the controller opens the
// NetworkPolicy with both approvers, alice as requester and an expiry counted from dave's
// approval; the policy expires, and the request (Expired) and the GrantRecord (approvals) say so.
// Deleting a request takes its access with it (no kube-controller-manager here: the controller
// does what garbage collection would).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startControlPlane, type ControlPlane } from './harness/controlPlane.js';
import { cliPath, startNetpolGuard, type CliResult, type JsonObject, type NetpolGuard, type SweeperProcess } from './harness/guard.js';
import { adminApis, readPolicy, type AdminApis } from './harness/kubeClient.js';
import { runToCompletion } from './harness/processes.js';
import {
  APPROVAL_PREFIX as PREFIX,
  APPROVAL_USERS,
  appendApproval,
  approvalConfig,
  createApprovalNamespace,
  ensureApprovalRoles,
  installApprovalCrds,
  readGrantRequest,
} from './harness/approvals.js';
import { assertExit, until } from './harness/waiting.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** With NETPOL_GUARD_E2E_TRANSCRIPT=FILE, the commands' real output is appended there (for the README walk-through). */
function transcript(title: string, r: CliResult): void {
  const file = process.env['NETPOL_GUARD_E2E_TRANSCRIPT'];
  if (file === undefined || file === '') return;
  fs.appendFileSync(file, `### ${title} (exit ${r.code})\n${r.stdout}${r.stderr === '' ? '' : `--- stderr\n${r.stderr}`}\n`);
}

describe('approvals: request → two approvals → access → expiry', () => {
  let cp: ControlPlane | undefined;
  let guard: NetpolGuard | undefined;
  let apis: AdminApis | undefined;
  let controller: SweeperProcess | undefined;
  let home = '';
  let ns = '';

  before(async () => {
    cp = await startControlPlane({ users: APPROVAL_USERS });
    await installApprovalCrds(cp);
    await ensureApprovalRoles(cp);
    guard = await startNetpolGuard(cp, { configYaml: approvalConfig({ required: 2 }), clusterView: true });
    apis = adminApis(cp);
    ns = await createApprovalNamespace(cp);
    home = fs.mkdtempSync(path.join(cp.tmpDir, 'approvals-home-'));
    fs.writeFileSync(path.join(home, 'config.yaml'), approvalConfig({ required: 2 }));
    controller = await guard.startController(['--resync', '10s']);
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
  const tail = (): string => (controller ? `--- ${controller.logFile}\n${fs.readFileSync(controller.logFile, 'utf8').split('\n').slice(-30).join('\n')}` : '');
  /** The built CLI as `user` (their own static token), with the platform config. */
  const cliAs = (user: string, args: string[]): Promise<CliResult> => {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, NETPOL_GUARD_CONFIG: path.join(home, 'config.yaml') };
    for (const key of ['KUBECONFIG', 'NODE_TEST_CONTEXT']) delete env[key];
    return runToCompletion(process.execPath, [cliPath(), ...args, '--kubeconfig', plane().kubeconfigFor(user)], { cwd: home, env, label: `netpol-guard as ${user}` });
  };
  const request = async (name: string): Promise<{ spec: JsonObject; status: JsonObject; metadata: JsonObject }> => {
    const r = await readGrantRequest(plane(), ns, name);
    return { spec: r['spec'] as JsonObject, status: (r['status'] ?? {}) as JsonObject, metadata: r['metadata'] as JsonObject };
  };
  const phase = async (name: string): Promise<string | undefined> => (await request(name)).status['phase'] as string | undefined;
  const grantRecords = async (): Promise<JsonObject[]> => (JSON.parse(await plane().kubectlOk(['get', 'gr', '-o', 'json'])) as { items: JsonObject[] }).items;

  it('alice requests (grant --wait), bob and dave approve, the policy opens with both and expires 25s after dave\'s approval', async () => {
    // alice runs grant as she would anywhere; in a prod namespace it files a request and waits.
    const waiting = cliAs('alice', ['grant', '-n', ns, '--to', 'app=backend', '--from-pods', 'app=frontend', '--port', '8080/TCP', '--for', '25s', '--ticket', 'INC-4242', '--name', 'checkout-db', '--reason', 'checkout cannot reach the backend', '--wait']);
    await until('the request filed', 15_000, async () => {
      const r = await plane().kubectl(['get', 'grantrequests.netpol-guard.io', 'checkout-db', '-n', ns, '-o', 'name']);
      return r.code === 0 ? true : undefined;
    });
    assert.equal((await request('checkout-db')).spec['requestedBy'], 'alice', 'stamped by the webhook');
    await until('Pending with 2 required', 15_000, async () => ((await request('checkout-db')).status['requiredApprovals'] === 2 ? true : undefined)).catch((err: Error) =>
      assert.fail(`${err.message}\n${tail()}`),
    );

    const pending = await cliAs('alice', ['list', '--pending', '-n', ns]);
    const firstQueue = pending;
    assertExit(pending, 0, 'list --pending');
    assert.match(pending.stdout, /checkout-db\s+Pending\s+\S+\s+alice\s+INC-4242\s+0\/2/, pending.stdout);

    const bobApproves = await cliAs('bob', ['approve', 'checkout-db', '-n', ns, '--comment', 'checked INC-4242']);
    assertExit(bobApproves, 0, 'approve as bob');
    transcript('approve (bob)', bobApproves);
    await sleep(3_000);
    assert.equal(await phase('checkout-db'), 'Pending', 'one approval of two opens nothing');
    assert.equal(await readPolicy(apis!, ns, 'checkout-db'), undefined);
    const half = await cliAs('alice', ['list', '--pending', '-n', ns]);
    assert.match(half.stdout, /checkout-db\s+Pending\s+\S+\s+alice\s+INC-4242\s+1\/2/, half.stdout);
    transcript('list --pending after bob approved', half);

    const daveApproves = await cliAs('dave', ['approve', 'checkout-db', '-n', ns]);
    assertExit(daveApproves, 0, 'approve as dave');
    transcript('approve (dave)', daveApproves);
    const active = await until('the request Active', 20_000, async () => ((await phase('checkout-db')) === 'Active' ? request('checkout-db') : undefined)).catch((err: Error) =>
      assert.fail(`${err.message}\n${tail()}`),
    );
    const approvals = active.status['approvals'] as { by: string; at: string }[];
    assert.deepEqual(approvals.map((a) => a.by), ['bob', 'dave']);
    const daveAt = Date.parse(approvals[1]!.at);
    assert.equal(active.status['approvedAt'], approvals[1]!.at, 'approved when dave approved');
    assert.equal(Date.parse(String(active.status['expiresAt'])), daveAt + 25_000, 'the clock starts at the second approval');
    assert.ok(daveAt - Date.parse(approvals[0]!.at) >= 2_000, 'and not at the first');

    const policy = await readPolicy(apis!, ns, String(active.status['policyName']));
    assert.ok(policy, 'the NetworkPolicy exists');
    const annotations = policy.metadata?.annotations ?? {};
    assert.equal(annotations[`${PREFIX}/approved-by`], 'bob,dave');
    assert.equal(annotations[`${PREFIX}/requested-by`], 'alice', 'the requester, not the controller');
    assert.equal(annotations[`${PREFIX}/grant-request`], 'checkout-db');
    const waited = await waiting;
    assertExit(waited, 0, 'grant --wait');
    assert.match(waited.stdout, /^requested [a-z0-9-]+\/checkout-db \(GrantRequest\): profile prod needs 2 approvals/);
    assert.match(waited.stdout, /\n {2}approve: {3}netpol-guard approve checkout-db -n /);
    assert.match(waited.stdout, /\nactive [a-z0-9-]+\/checkout-db after \d+s\n {2}approved: bob, dave/);
    assert.match(waited.stderr, /waiting for approval: 0\/2 approvals \(\d+s elapsed/);
    transcript('grant --wait (alice)', waited);
    transcript('list --pending before the approvals', firstQueue);
    assert.equal(Date.parse(annotations[`${PREFIX}/expires-at`] ?? ''), daveAt + 25_000);
    assert.equal(policy.metadata?.ownerReferences?.[0]?.uid, active.metadata['uid']);

    const record = await until('the GrantRecord with the approvals', 15_000, async () =>
      (await grantRecords()).find((r) => ((r['spec'] as JsonObject)['policy'] as JsonObject)['uid'] === policy.metadata?.uid),
    );
    assert.deepEqual((record['spec'] as JsonObject)['approvals'], approvals.map((a) => ({ by: a.by, at: a.at })));
    assert.equal((record['spec'] as JsonObject)['grantRequest'], 'checkout-db');

    // Expiry: the sweeper deletes it, the request says Expired, the record Expired.
    const expired = await until('the request Expired', 45_000, async () => ((await phase('checkout-db')) === 'Expired' ? request('checkout-db') : undefined)).catch((err: Error) =>
      assert.fail(`${err.message}\n${tail()}`),
    );
    assert.ok(Date.parse(String(expired.status['closedAt'])) >= daveAt + 25_000);
    assert.equal(await readPolicy(apis!, ns, 'checkout-db'), undefined);
    const closed = await until('the record Expired', 15_000, async () => {
      const r = (await grantRecords()).find((x) => ((x['spec'] as JsonObject)['policy'] as JsonObject)['uid'] === policy.metadata?.uid);
      return (r?.['status'] as JsonObject | undefined)?.['state'] === 'Expired' ? r : undefined;
    });
    assert.deepEqual(((closed['spec'] as JsonObject)['approvals'] as JsonObject[]).map((a) => a['by']), ['bob', 'dave']);
    transcript('the policy the controller created (annotations)', { code: 0, stdout: `${JSON.stringify(annotations, null, 2)}\n`, stderr: '' });
    const history = await runToCompletion(process.execPath, [cliPath(), 'history', '-n', ns, '-o', 'wide', '--kubeconfig', plane().kubeconfigFor('admin')], { cwd: home, env: { PATH: process.env['PATH'] ?? '', HOME: home }, label: 'history' });
    assertExit(history, 0, 'history');
    transcript('history -n NS -o wide (an auditor)', history);
    transcript('kubectl get gr -o yaml (spec.approvals)', { code: 0, stdout: `${JSON.stringify((closed['spec'] as JsonObject)['approvals'], null, 2)}\n`, stderr: '' });
    const queue = await cliAs('alice', ['list', '--pending', '-n', ns]);
    assert.doesNotMatch(queue.stdout, /checkout-db/, 'an expired request leaves the queue');
    transcript('kubectl get grantrequests (after the expiry)', { code: 0, stdout: await plane().kubectlOk(['get', 'grantrequests.netpol-guard.io', '-n', ns]), stderr: '' });
  });

  it('revoke --request (alice) closes the access early: the request ends Revoked', async () => {
    const filed = await cliAs('alice', ['grant', '-n', ns, '--to', 'app=backend', '--from-pods', 'app=frontend', '--port', '9090/TCP', '--for', '1h', '--ticket', 'INC-4244', '--name', 'metrics-debug']);
    assertExit(filed, 0, 'grant (files a request)');
    assert.equal((await appendApproval(plane(), 'bob', ns, 'metrics-debug')).code, 0);
    assert.equal((await appendApproval(plane(), 'dave', ns, 'metrics-debug')).code, 0);
    await until('metrics-debug Active', 20_000, async () => ((await phase('metrics-debug')) === 'Active' ? true : undefined)).catch((err: Error) => assert.fail(`${err.message}\n${tail()}`));
    const revoked = await cliAs('alice', ['revoke', '--request', 'metrics-debug', '-n', ns]);
    assertExit(revoked, 0, 'revoke --request');
    assert.match(revoked.stdout, /\n {2}request: {2}\S+\/metrics-debug \(the controller closes it Revoked\)/);
    transcript('revoke --request (alice)', revoked);
    const closed = await until('metrics-debug Revoked', 20_000, async () => ((await phase('metrics-debug')) === 'Revoked' ? request('metrics-debug') : undefined)).catch((err: Error) =>
      assert.fail(`${err.message}\n${tail()}`),
    );
    assert.match(String(closed.status['message']), /revoked by alice|deleted outside/);
    assert.equal(await readPolicy(apis!, ns, 'metrics-debug'), undefined);
  });

  it('a denial (dave) ends the request Denied: grant --wait exits 3 with who and why; nothing opens', async () => {
    const waiting = cliAs('alice', ['grant', '-n', ns, '--to', 'app=backend', '--from-pods', 'app=frontend', '--port', '7070/TCP', '--for', '1h', '--ticket', 'INC-4245', '--name', 'admin-port', '--wait']);
    await until('admin-port Pending', 15_000, async () => ((await plane().kubectl(['get', 'grantrequests.netpol-guard.io', 'admin-port', '-n', ns, '-o', 'name'])).code === 0 && (await phase('admin-port')) === 'Pending' ? true : undefined)).catch((err: Error) =>
      assert.fail(`${err.message}\n${tail()}`),
    );
    const denied = await cliAs('dave', ['deny', 'admin-port', '-n', ns, '--reason', 'the admin port is never opened; use the read API']);
    assertExit(denied, 0, 'deny as dave');
    const waited = await waiting;
    assertExit(waited, 3, 'grant --wait on a denied request');
    assert.match(waited.stderr, /denied after \d+s by dave at \S+: the admin port is never opened; use the read API/);
    transcript('grant --wait, denied by dave (exit 3)', waited);
    assert.equal(await phase('admin-port'), 'Denied');
    assert.equal(await readPolicy(apis!, ns, 'admin-port'), undefined);
  });

  it('deleting an Active request removes its access (the controller does what garbage collection would)', async () => {
    const filed = await plane().kubectl(['create', '-f', '-'], {
      asUser: 'alice',
      stdin: JSON.stringify({
        apiVersion: 'netpol-guard.io/v1alpha1',
        kind: 'GrantRequest',
        metadata: { name: 'cache-debug', namespace: ns },
        spec: {
          policy: { podSelector: { matchLabels: { app: 'cache' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 6379 }] }] },
          duration: '1h',
          ticket: 'INC-4243',
        },
      }),
    });
    assert.equal(filed.code, 0, filed.stderr);
    assert.equal((await appendApproval(plane(), 'bob', ns, 'cache-debug')).code, 0);
    assert.equal((await appendApproval(plane(), 'dave', ns, 'cache-debug')).code, 0);
    await until('cache-debug Active', 20_000, async () => ((await phase('cache-debug')) === 'Active' ? true : undefined)).catch((err: Error) => assert.fail(`${err.message}\n${tail()}`));
    const policy = await readPolicy(apis!, ns, 'cache-debug');
    assert.ok(policy);
    const deleted = await plane().kubectl(['delete', 'grantrequests.netpol-guard.io', 'cache-debug', '-n', ns], { asUser: 'alice' });
    assert.equal(deleted.code, 0, deleted.stderr);
    await until('the policy gone', 20_000, async () => ((await readPolicy(apis!, ns, 'cache-debug')) === undefined ? true : undefined)).catch((err: Error) =>
      assert.fail(`${err.message}\n${tail()}`),
    );
    const record = await until('the record closed', 15_000, async () => {
      const r = (await grantRecords()).find((x) => ((x['spec'] as JsonObject)['policy'] as JsonObject)['uid'] === policy.metadata?.uid);
      return (r?.['status'] as JsonObject | undefined)?.['state'] !== 'Open' ? r : undefined;
    });
    assert.equal((record['status'] as JsonObject)['state'], 'Revoked');
    assert.match(String((record['status'] as JsonObject)['closedNote']), /GrantRequest cache-debug was deleted/);
  });
});
