// Who changed a grant, against a real kube-apiserver with the netpol-guard webhooks registered as
// manifests/webhooks.yaml registers them, the GrantRecord CRD installed and one controller running:
// alice grants, bob extends, alice revokes, each with their own static token, so the names in the
// GrantRecord can only have come from the API server's userInfo via the mutator's stamps. A grant
// deleted with plain kubectl is Deleted, one that expires is Expired with its lag, and
// `history -o csv` lists all three.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { startControlPlane, type ControlPlane } from './harness/controlPlane.js';
import { cliPath, manifestsDir, startNetpolGuard, type CliResult, type JsonObject, type NetpolGuard, type SweeperProcess } from './harness/guard.js';
import { adminApis, mustReadPolicy, readPolicy, type AdminApis } from './harness/kubeClient.js';
import { grantAnnotations, narrowPolicy } from './harness/policies.js';
import { runToCompletion } from './harness/processes.js';
import { createTenantNamespace, ensureNetworkPolicyEditorRole, NETWORKPOLICY_EDITOR_ROLE, waitForAccess } from './harness/tenants.js';
import { assertExit, until } from './harness/waiting.js';

const PREFIX = 'netpol-guard.io';
const CONFIG = `mode: enforce\nannotationPrefix: ${PREFIX}\nlimits:\n  minIPv4PrefixLength: 28\n  maxTTL: 24h\n`;

describe('history: who opened, changed and revoked a grant', () => {
  let cp: ControlPlane | undefined;
  let guard: NetpolGuard | undefined;
  let apis: AdminApis | undefined;
  let controller: SweeperProcess | undefined;
  let home = '';
  let ns = '';

  before(async () => {
    cp = await startControlPlane({ users: [{ name: 'bob', groups: ['developers'] }] });
    await ensureNetworkPolicyEditorRole(cp);
    await cp.kubectlOk(['apply', '-f', path.join(manifestsDir(), 'crds', 'grantrecords.netpol-guard.io.yaml')]);
    await cp.kubectlOk(['wait', '--for=condition=established', '--timeout=30s', 'crd/grantrecords.netpol-guard.io']);
    guard = await startNetpolGuard(cp, { configYaml: CONFIG });
    apis = adminApis(cp);
    ns = await createTenantNamespace(cp, 'e2e-history');
    // bob is on the same team: he may manage the namespace's NetworkPolicies too.
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'bob-networkpolicy-editor', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NETWORKPOLICY_EDITOR_ROLE },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'bob' }],
    };
    await cp.kubectlOk(['apply', '-f', '-'], { stdin: YAML.stringify(binding) });
    await waitForAccess(cp, { asUser: 'bob' }, { verb: 'patch', resource: 'networkpolicies', group: 'networking.k8s.io', namespace: ns });
    home = fs.mkdtempSync(path.join(cp.tmpDir, 'history-home-'));
    controller = await guard.startController();
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
  const ng = (): NetpolGuard => {
    assert.ok(guard, 'netpol-guard did not start');
    return guard;
  };
  const tail = (): string => (controller ? `--- ${controller.logFile}\n${fs.readFileSync(controller.logFile, 'utf8').split('\n').slice(-20).join('\n')}` : '');
  /** The built CLI as `user` (their own static token), with a clean environment. */
  const cliAs = (user: string, args: string[]): Promise<CliResult> => {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
    for (const key of ['KUBECONFIG', 'NETPOL_GUARD_CONFIG', 'NODE_TEST_CONTEXT']) delete env[key];
    return runToCompletion(process.execPath, [cliPath(), ...args, '--kubeconfig', plane().kubeconfigFor(user)], { cwd: home, env, label: `netpol-guard as ${user}` });
  };
  const grantRecords = async (): Promise<JsonObject[]> => (JSON.parse(await plane().kubectlOk(['get', 'gr', '-o', 'json'])) as { items: JsonObject[] }).items;
  const recordOf = (records: JsonObject[], name: string): JsonObject | undefined =>
    records.find((r) => {
      const policy = (r['spec'] as JsonObject)['policy'] as JsonObject;
      return policy['name'] === name && policy['namespace'] === ns;
    });
  const status = (record: JsonObject | undefined): JsonObject => (record?.['status'] ?? {}) as JsonObject;

  it('grant (alice) → extend (bob) → revoke (alice): opened by alice, changed by bob, revoked by alice; Deleted and Expired beside it; history -o csv lists all three', async () => {
    // alice opens a grant.
    const granted = await cliAs('alice', ['grant', '-n', ns, '--to', 'app=database', '--from-cidr', '198.51.100.16/28', '--port', '5432/TCP', '--for', '2h', '--ticket', 'inc-4711', '--name', 'db-hotfix']);
    assertExit(granted, 0, 'grant as alice');
    await until('the record of db-hotfix', 15_000, async () => recordOf(await grantRecords(), 'db-hotfix'));

    // bob extends it: the mutator stamps him from userInfo, whatever the object says.
    const extended = await cliAs('bob', ['extend', 'db-hotfix', '-n', ns, '--for', '3h']);
    assertExit(extended, 0, 'extend as bob');
    const afterExtend = await mustReadPolicy(apis!, ns, 'db-hotfix');
    const annotations = afterExtend.metadata?.annotations ?? {};
    assert.equal(annotations[`${PREFIX}/changed-by`], 'bob');
    assert.match(annotations[`${PREFIX}/changed-at`] ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    assert.equal(annotations[`${PREFIX}/requested-by`], 'alice');
    await until('the extension recorded', 15_000, async () => {
      const changes = status(recordOf(await grantRecords(), 'db-hotfix'))['changes'] as JsonObject[] | undefined;
      return changes?.some((c) => c['field'] === 'expiry') ? true : undefined;
    });

    // A forged changed-by written with kubectl is put back by the mutator.
    const forged = await plane().kubectl(['annotate', '--overwrite', 'networkpolicy', '-n', ns, 'db-hotfix', `${PREFIX}/changed-by=the-ceo`, `${PREFIX}/revoked-at=2020-01-01T00:00:00Z`], { asUser: 'alice' });
    assert.equal(forged.code, 0, forged.stderr);
    const afterForgery = (await mustReadPolicy(apis!, ns, 'db-hotfix')).metadata?.annotations ?? {};
    assert.equal(afterForgery[`${PREFIX}/changed-by`], 'bob');
    assert.equal(afterForgery[`${PREFIX}/revoked-at`], undefined);

    // alice revokes it.
    const revoked = await cliAs('alice', ['revoke', 'db-hotfix', '-n', ns]);
    assertExit(revoked, 0, 'revoke as alice');
    assert.equal(revoked.stderr, '', 'stamped: no warning');
    assert.match(revoked.stdout, /\n {2}by: {7}alice \(stamped \S+\)\n$/);
    assert.equal(await readPolicy(apis!, ns, 'db-hotfix'), undefined);

    // Beside it: one removed with plain kubectl (as alice), one that expires.
    assert.equal((await plane().kubectl(['apply', '-f', '-'], { asUser: 'alice', stdin: narrowPolicy(ns, 'removed', grantAnnotations(PREFIX, '1h', 'CHG-2')) })).code, 0);
    assert.equal((await plane().kubectl(['apply', '-f', '-'], { asUser: 'alice', stdin: narrowPolicy(ns, 'expires', grantAnnotations(PREFIX, '3s', 'CHG-1')) })).code, 0);
    await until('both records opened', 15_000, async () => {
      const records = await grantRecords();
      return recordOf(records, 'removed') && recordOf(records, 'expires') ? true : undefined;
    });
    const deleted = await plane().kubectl(['delete', 'networkpolicy', '-n', ns, 'removed'], { asUser: 'alice' });
    assert.equal(deleted.code, 0, deleted.stderr);

    const records = await until('all three records closed', 30_000, async () => {
      const all = await grantRecords();
      const states = ['db-hotfix', 'removed', 'expires'].map((n) => status(recordOf(all, n))['state']);
      return states.join(',') === 'Revoked,Deleted,Expired' ? all : undefined;
    }).catch((err: Error) => assert.fail(`${err.message}\n${tail()}`));

    const hotfix = recordOf(records, 'db-hotfix')!;
    assert.equal((hotfix['spec'] as JsonObject)['requestedBy'], 'alice', 'opened by alice');
    const changes = status(hotfix)['changes'] as JsonObject[];
    const expiryChange = changes.find((c) => c['field'] === 'expiry');
    assert.equal(expiryChange?.['by'], 'bob', `changed by bob: ${JSON.stringify(changes)}`);
    assert.ok(changes.every((c) => c['by'] !== 'the-ceo'), JSON.stringify(changes));
    assert.equal(status(hotfix)['closedBy'], 'alice', 'revoked by alice');

    const removed = recordOf(records, 'removed')!;
    assert.equal(status(removed)['closedBy'], undefined);
    assert.match(String(status(removed)['closedNote']), /audit log/);
    const lag = status(recordOf(records, 'expires'))['expiryLagSeconds'];
    assert.equal(typeof lag, 'number');
    assert.ok((lag as number) >= 0 && (lag as number) <= 3, `expiry lag ${String(lag)} s`);

    const history = await runToCompletion(process.execPath, [cliPath(), 'history', '-n', ns, '-o', 'csv', '--kubeconfig', ng().sweeperIdentity.kubeconfig], {
      cwd: ng().dir,
      env: { PATH: process.env['PATH'] ?? '', HOME: ng().dir },
      label: 'history -o csv',
    });
    assertExit(history, 0, 'history -o csv');
    const lines = history.stdout.trimEnd().split('\r\n');
    assert.match(lines[0]!, /^namespace,policy,uid,ticket,/);
    const row = (name: string) => lines.find((l) => l.startsWith(`${ns},${name},`));
    assert.match(row('db-hotfix') ?? '', /,Revoked,/, history.stdout);
    assert.match(row('db-hotfix') ?? '', /,alice,/, history.stdout);
    assert.match(row('db-hotfix') ?? '', /\(by bob\)/, history.stdout);
    assert.match(row('removed') ?? '', /,Deleted,/, history.stdout);
    assert.match(row('expires') ?? '', /,Expired,/, history.stdout);
    assert.equal(lines.length, 4, history.stdout);
  });

  it('without a stamp (the namespace exempt from the webhook is the same as no webhook) revoke warns, deletes, and the record says Deleted', async () => {
    // Written straight with an expiry, no webhook involved: the stamp UPDATE comes back unstamped
    // only where the mutator does not run, which the exemption of kube-system reproduces.
    const exempt = 'kube-system';
    const manifest = YAML.parse(narrowPolicy(exempt, 'unstamped', grantAnnotations(PREFIX, '1h', 'CHG-9'))) as JsonObject;
    const meta = manifest['metadata'] as JsonObject;
    meta['labels'] = { [`${PREFIX}/temporary`]: 'true' };
    meta['annotations'] = { ...(meta['annotations'] as JsonObject), [`${PREFIX}/expires-at`]: new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z') };
    await plane().kubectlOk(['apply', '-f', '-'], { stdin: YAML.stringify(manifest) });
    const recordOfUnstamped = async (): Promise<JsonObject | undefined> =>
      (await grantRecords()).find((x) => ((x['spec'] as JsonObject)['policy'] as JsonObject)['name'] === 'unstamped');
    await until('the record of unstamped', 15_000, recordOfUnstamped).catch((err: Error) => assert.fail(`${err.message}\n${tail()}`));
    const revoked = await runToCompletion(process.execPath, [cliPath(), 'revoke', 'unstamped', '-n', exempt, '--kubeconfig', plane().kubeconfigFor('admin')], {
      cwd: home,
      env: { PATH: process.env['PATH'] ?? '', HOME: home },
      label: 'revoke unstamped',
    });
    assertExit(revoked, 0, 'revoke in an exempt namespace');
    assert.match(revoked.stderr, /warning: the revocation of kube-system\/unstamped could not be stamped/);
    assert.equal(await readPolicy(apis!, exempt, 'unstamped'), undefined);
    const record = await until('the unstamped record closed', 15_000, async () => {
      const r = await recordOfUnstamped();
      return status(r)['state'] !== 'Open' ? r : undefined;
    }).catch((err: Error) => assert.fail(`${err.message}\n${tail()}`));
    assert.equal(status(record)['state'], 'Deleted', 'no stamp, so not Revoked');
    assert.equal(status(record)['closedBy'], undefined);
  });
});
