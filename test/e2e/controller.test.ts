// The controller end to end: two `controller --leader-elect` processes against a real
// kube-apiserver, under the shipped RBAC, with the GrantRecord CRD of manifests/crds installed.
// Short leases (4s/3s/1s) keep the run short; the product defaults are 15s/10s/2s.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startControlPlane, type ControlPlane, type KubectlResult } from './harness/controlPlane.js';
import { cliPath, manifestsDir, startNetpolGuard, type JsonObject, type NetpolGuard, type SweeperProcess } from './harness/guard.js';
import { adminApis, eventsFor, mustReadPolicy, readPolicy, type AdminApis } from './harness/kubeClient.js';
import { grantAnnotations, narrowPolicy } from './harness/policies.js';
import { killGroupSync, runToCompletion } from './harness/processes.js';
import { createTenantNamespace, ensureNetworkPolicyEditorRole } from './harness/tenants.js';
import { until } from './harness/waiting.js';

const PREFIX = 'netpol-guard.io';
const CONFIG = `mode: enforce\nannotationPrefix: ${PREFIX}\n`;
const LEASE_SECONDS = 4;
const ELECTION = ['--leader-elect', '--lease-duration', `${LEASE_SECONDS}s`, '--renew-deadline', '3s', '--retry-period', '1s'];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function assertOk(r: KubectlResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

describe('controller: leader election and grant history', () => {
  let cp: ControlPlane | undefined;
  let guard: NetpolGuard | undefined;
  let apis: AdminApis | undefined;
  let ns = '';
  const controllers: SweeperProcess[] = [];

  before(async () => {
    cp = await startControlPlane({});
    await ensureNetworkPolicyEditorRole(cp);
    await cp.kubectlOk(['apply', '-f', path.join(manifestsDir(), 'crds', 'grantrecords.netpol-guard.io.yaml')]);
    await cp.kubectlOk(['wait', '--for=condition=established', '--timeout=30s', 'crd/grantrecords.netpol-guard.io']);
    guard = await startNetpolGuard(cp, { configYaml: CONFIG });
    apis = adminApis(cp);
    ns = await createTenantNamespace(cp, 'e2e-controller');
    const leaseNamespace = guard.sweeperIdentity.namespace;
    for (let i = 0; i < 2; i++) {
      controllers.push(await guard.startController([...ELECTION, '--lease-namespace', leaseNamespace]));
    }
  });

  after(async () => {
    for (const c of controllers) await c.stop().catch(() => undefined);
    await guard?.stop().catch((err: unknown) => process.stderr.write(`guard stop: ${String(err)}\n`));
    await cp?.stop();
  });

  const plane = (): ControlPlane => {
    assert.ok(cp, 'control plane did not start');
    return cp;
  };
  const ng = (): NetpolGuard => {
    assert.ok(guard, 'netpol-guard did not start');
    return guard;
  };
  const leading = (c: SweeperProcess): boolean => c.logs().some((l) => l['msg'] === 'leading: acting on the schedule');
  const expiredLines = (name: string): JsonObject[] =>
    controllers.flatMap((c) => c.logs().filter((l) => l['msg'] === 'grant expired' && l['name'] === name));
  const tails = (): string => controllers.map((c) => `--- ${c.logFile}\n${fs.readFileSync(c.logFile, 'utf8').split('\n').slice(-15).join('\n')}`).join('\n');
  const leaseHolder = async (): Promise<string> =>
    (await plane().kubectlOk(['get', 'lease', '-n', ng().sweeperIdentity.namespace, 'netpol-guard-controller', '-o', 'jsonpath={.spec.holderIdentity}'])).trim();
  const grantRecords = async (): Promise<JsonObject[]> =>
    (JSON.parse(await plane().kubectlOk(['get', 'grantrecords', '-o', 'json'])) as { items: JsonObject[] }).items;
  const recordOf = (records: JsonObject[], name: string): JsonObject | undefined =>
    records.find((r) => ((r['spec'] as JsonObject)['policy'] as JsonObject)['name'] === name && ((r['spec'] as JsonObject)['policy'] as JsonObject)['namespace'] === ns);
  const stateOf = (record: JsonObject | undefined): string | undefined => (record?.['status'] as JsonObject | undefined)?.['state'] as string | undefined;

  it('kubectl get lease shows one holder, and exactly one process leads', async () => {
    const leader = await until('a leader', 15_000, () => controllers.find(leading));
    const holder = await leaseHolder();
    assert.notEqual(holder, '');
    assert.equal(controllers.filter(leading).length, 1, tails());
    const announced = leader.logs().find((l) => l['msg'] === 'new leader observed' && l['self'] === true);
    assert.equal(announced?.['leader'], holder, 'the Lease names the process that leads');
  });

  it('records a grant that expires as Expired (with its lag) and one removed with kubectl delete as Deleted; history -o csv lists them', async () => {
    const r1 = await plane().kubectl(['apply', '-f', '-'], { asUser: 'alice', stdin: narrowPolicy(ns, 'expires', grantAnnotations(PREFIX, '4s', 'CHG-1')) });
    assertOk(r1, 'apply 4s grant');
    const r2 = await plane().kubectl(['apply', '-f', '-'], { asUser: 'alice', stdin: narrowPolicy(ns, 'removed', grantAnnotations(PREFIX, '1h', 'CHG-2')) });
    assertOk(r2, 'apply 1h grant');
    await until('both records opened', 15_000, async () => {
      const records = await grantRecords();
      return recordOf(records, 'expires') && recordOf(records, 'removed') ? true : undefined;
    });
    assertOk(await plane().kubectl(['delete', 'networkpolicy', '-n', ns, 'removed'], { asUser: 'alice' }), 'kubectl delete');

    const records = await until('both records closed', 20_000, async () => {
      const all = await grantRecords();
      return stateOf(recordOf(all, 'expires')) === 'Expired' && stateOf(recordOf(all, 'removed')) === 'Deleted' ? all : undefined;
    }).catch((err: Error) => assert.fail(`${err.message}\n${tails()}`));
    const expired = recordOf(records, 'expires')!;
    assert.equal((expired['spec'] as JsonObject)['requestedBy'], 'alice');
    assert.equal((expired['spec'] as JsonObject)['ticket'], 'CHG-1');
    const lag = (expired['status'] as JsonObject)['expiryLagSeconds'];
    assert.equal(typeof lag, 'number');
    assert.ok((lag as number) >= 0 && (lag as number) <= 2, `expiry lag ${String(lag)} s`);
    assert.match(String((recordOf(records, 'removed')!['status'] as JsonObject)['closedNote']), /audit log/);

    const history = await runToCompletion(process.execPath, [cliPath(), 'history', '-n', ns, '-o', 'csv', '--kubeconfig', ng().sweeperIdentity.kubeconfig], {
      cwd: ng().dir,
      env: { PATH: process.env['PATH'] ?? '', HOME: ng().dir },
      label: 'history -o csv',
    });
    assert.equal(history.code, 0, history.stderr);
    const lines = history.stdout.trimEnd().split('\r\n');
    assert.match(lines[0]!, /^namespace,policy,uid,ticket,/);
    assert.ok(lines.some((l) => l.startsWith(`${ns},expires,`) && l.includes(',Expired,')), history.stdout);
    assert.ok(lines.some((l) => l.startsWith(`${ns},removed,`) && l.includes(',Deleted,')), history.stdout);
  });

  it(`SIGKILL of the leader just before a grant expires: the standby deletes it within ${LEASE_SECONDS} s + 2 s of its expiry, exactly once`, async () => {
    assertOk(
      await plane().kubectl(['apply', '-f', '-'], { asUser: 'alice', stdin: narrowPolicy(ns, 'failover', grantAnnotations(PREFIX, '8s', 'CHG-3')) }),
      'apply 8s grant',
    );
    const created = await mustReadPolicy(apis!, ns, 'failover');
    const expiry = Date.parse(created.metadata!.annotations![`${PREFIX}/expires-at`]!);
    const leader = controllers.find(leading)!;
    const standby = controllers.find((c) => c !== leader)!;
    await sleep(Math.max(0, expiry - 1_000 - Date.now()));
    killGroupSync(leader.process.pid, 'SIGKILL');
    // The child is unref'd: poll (a timer keeps the test's event loop alive) rather than await its exit.
    await until('the leader to die', 5_000, () => (leader.process.hasExited() ? true : undefined));

    let goneAt: number | undefined;
    while (goneAt === undefined) {
      const now = Date.now();
      if ((await readPolicy(apis!, ns, 'failover')) === undefined) goneAt = now;
      else if (now > expiry + 15_000) assert.fail(`grant still present 15 s after its expiry:\n${tails()}`);
      else await sleep(100);
    }
    const lagMs = goneAt - expiry;
    process.stderr.write(`[e2e] after SIGKILL of the leader, the standby removed the grant ${lagMs} ms after its expiry\n`);
    assert.ok(lagMs >= 0, `deleted ${-lagMs} ms before its expiry`);
    assert.ok(lagMs <= LEASE_SECONDS * 1_000 + 2_000, `deleted ${lagMs} ms after its expiry`);
    assert.ok(leading(standby), 'the standby took over');
    await sleep(1_000);
    assert.equal(expiredLines('failover').length, 1, `exactly one deletion logged:\n${tails()}`);
    assert.equal((await eventsFor(apis!, ns, 'failover', 'Expired')).length, 1, 'exactly one Expired event');
    const record = await until('the failover record closed', 10_000, async () => {
      const r = recordOf(await grantRecords(), 'failover');
      return stateOf(r) === 'Expired' ? r : undefined;
    });
    assert.ok(record);
  });
});
