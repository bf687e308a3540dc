// The operator commands (grant, list, extend, revoke) end to end: the built CLI, run as the
// developer "alice", against a real kube-apiserver with the netpol-guard webhook registered as
// manifests/webhooks.yaml registers it. The webhook runs a stricter platform config than the
// CLI's built-in default (IPv4 ranges of at most /28), so a grant the local check allows can
// still be denied by the server, which is how the denial path is exercised.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startControlPlane, type ControlPlane } from './harness/controlPlane.js';
import { cliPath, type CliResult, type NetpolGuard, startNetpolGuard } from './harness/guard.js';
import { adminApis, mustReadPolicy, readPolicy, type AdminApis } from './harness/kubeClient.js';
import { runToCompletion } from './harness/processes.js';
import { createTenantNamespace, ensureNetworkPolicyEditorRole, uniqueName } from './harness/tenants.js';
import { assertExit } from './harness/waiting.js';

const PREFIX = 'netpol-guard.io';
const SERVER_CONFIG = `mode: enforce
annotationPrefix: ${PREFIX}
limits:
  minIPv4PrefixLength: 28
  maxTTL: 24h
`;
const RFC3339 = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/;

/** Runs `program args` with a clean environment (HOME in `home`, no KUBECONFIG), killed after 60 s. */
function run(program: string, args: string[], home: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, ...extraEnv };
  for (const key of ['KUBECONFIG', 'NETPOL_GUARD_CONFIG', 'NODE_TEST_CONTEXT']) delete env[key];
  return runToCompletion(program, args, { cwd: home, env, label: program === process.execPath ? 'netpol-guard' : path.basename(program) });
}

describe('operator commands end to end', () => {
  let cp: ControlPlane | undefined;
  let guard: NetpolGuard | undefined;
  let apis: AdminApis | undefined;
  let home = '';
  let aliceKubeconfig = '';
  let ns = '';

  before(async () => {
    cp = await startControlPlane();
    await ensureNetworkPolicyEditorRole(cp);
    guard = await startNetpolGuard(cp, { configYaml: SERVER_CONFIG });
    apis = adminApis(cp);
    home = fs.mkdtempSync(path.join(cp.tmpDir, 'operator-home-'));
    aliceKubeconfig = cp.kubeconfigFor('alice');
    ns = await createTenantNamespace(cp, 'e2e-operator');
  });

  after(async () => {
    await guard?.stop().catch((err: unknown) => process.stderr.write(`guard stop: ${String(err)}\n`));
    await cp?.stop();
  });

  const plane = (): ControlPlane => {
    assert.ok(cp, 'control plane did not start');
    return cp;
  };
  const api = (): AdminApis => {
    assert.ok(apis, 'client not set up');
    return apis;
  };
  /** The built CLI as alice. */
  const cli = (args: string[]): Promise<CliResult> => run(process.execPath, [cliPath(), ...args, '--kubeconfig', aliceKubeconfig], home);

  it('grant → list shows it → extend → revoke → list no longer shows it', async () => {
    const grant = await cli(['grant', '-n', ns, '--to', 'app=database', '--from-cidr', '198.51.100.16/28', '--port', '5432/TCP', '--for', '2h', '--ticket', 'inc-4711', '--name', 'db-hotfix']);
    assertExit(grant, 0, 'grant');
    assert.match(grant.stdout, new RegExp(`^granted ${ns}/db-hotfix\\n`));
    assert.match(grant.stdout, /\n {2}access: {3}ingress to app=database from 198\.51\.100\.16\/28 on 5432\/TCP\n/);
    assert.match(grant.stdout, /\n {2}ticket: {3}INC-4711\n/);
    // The mutating webhook stamped an absolute expiry; the receipt reads it back from the stored object.
    const expiresLine = /\n {2}expires: {2}(\S+) \(in (\S+)\)\n/.exec(grant.stdout);
    assert.ok(expiresLine, grant.stdout);
    assert.match(expiresLine[1]!, RFC3339);
    assert.equal(expiresLine[2], '2h');
    assert.match(grant.stdout, new RegExp(`\\n {2}revoke: {3}netpol-guard revoke db-hotfix -n ${ns}\\n$`));

    const stored = await mustReadPolicy(api(), ns, 'db-hotfix');
    const annotations = stored.metadata?.annotations ?? {};
    assert.equal(annotations[`${PREFIX}/expires-at`], expiresLine[1]);
    assert.equal(annotations[`${PREFIX}/requested-by`], 'alice');
    assert.equal(annotations[`${PREFIX}/ticket`], 'INC-4711');
    assert.equal(stored.metadata?.labels?.[`${PREFIX}/temporary`], 'true');

    const listed = await cli(['list', '-n', ns]);
    assertExit(listed, 0, 'list');
    const row = listed.stdout.split('\n').find((l) => l.includes('db-hotfix'));
    assert.ok(row, listed.stdout);
    assert.match(row, new RegExp(`^${ns} +db-hotfix +INC-4711 +alice +in 2h +ingress to app=database from 198\\.51\\.100\\.16/28 on 5432/TCP$`));

    const before = Date.now();
    const extended = await cli(['extend', 'db-hotfix', '-n', ns, '--for', '1h']);
    assertExit(extended, 0, 'extend');
    const newExpiry = /\n {2}expires: {2}(\S+) \(in 1h\)\n/.exec(extended.stdout);
    assert.ok(newExpiry, extended.stdout);
    assert.match(extended.stdout, new RegExp(`\\n {2}was: {6}${expiresLine[1]} \\(in 2h\\)\\n`));
    const afterExtend = await mustReadPolicy(api(), ns, 'db-hotfix');
    assert.equal(afterExtend.metadata?.annotations?.[`${PREFIX}/expires-at`], newExpiry[1]);
    assert.equal(afterExtend.metadata?.annotations?.[`${PREFIX}/ttl`], '1h');
    const expiryMs = Date.parse(newExpiry[1]!);
    assert.ok(expiryMs >= Math.floor(before / 1000) * 1000 + 3_600_000 && expiryMs <= Date.now() + 3_600_000, `expiry ${newExpiry[1]} is not now + 1h`);

    const wide = await cli(['list', '-n', ns, '-o', 'wide']);
    assertExit(wide, 0, 'list -o wide');
    assert.match(wide.stdout, new RegExp(`db-hotfix +INC-4711 +alice +in 1h +${newExpiry[1]} `));

    const revoked = await cli(['revoke', 'db-hotfix', '-n', ns]);
    assertExit(revoked, 0, 'revoke');
    assert.match(revoked.stdout, new RegExp(`^revoked ${ns}/db-hotfix\\n`));
    assert.equal(await readPolicy(api(), ns, 'db-hotfix'), undefined, 'the grant is still there after revoke');

    const empty = await cli(['list', '-n', ns]);
    assertExit(empty, 0, 'list after revoke');
    assert.doesNotMatch(empty.stdout, /db-hotfix/);
    assert.equal(empty.stderr, `No temporary grants in namespace ${ns}.\n`);

    const again = await cli(['revoke', 'db-hotfix', '-n', ns]);
    assertExit(again, 0, 'revoke again');
    assert.match(again.stdout, /already gone/);
  });

  it('prints the rule ids when the webhook denies a grant the local check allowed', async () => {
    const denied = await cli(['grant', '-n', ns, '--to', 'app=database', '--from-cidr', '198.51.100.0/24', '--port', '5432', '--for', '1h', '--ticket', 'INC-1', '--name', 'too-wide']);
    assertExit(denied, 1, 'grant denied by the webhook');
    assert.match(denied.stderr, /^netpol-guard grant: denied by admission webhook "validate\.netpol-guard\.io":\n/);
    assert.match(denied.stderr, new RegExp(`\\n {2}netpol-guard denied NetworkPolicy ${ns}/too-wide: 1 problem\\(s\\)\\n`));
    assert.match(denied.stderr, /\n {2}\[ipblock-too-wide\] spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr 198\.51\.100\.0\/24 is a \/24, wider than the allowed IPv4 \/28;/);
    assert.equal(await readPolicy(api(), ns, 'too-wide'), undefined);

    // The same verdict locally, when the CLI is given the platform's config.
    const configFile = path.join(home, 'platform.yaml');
    fs.writeFileSync(configFile, SERVER_CONFIG);
    const local = await cli(['grant', '-n', ns, '--to', 'app=database', '--from-cidr', '198.51.100.0/24', '--port', '5432', '--for', '1h', '--ticket', 'INC-1', '--config', configFile]);
    assertExit(local, 1, 'grant refused locally');
    assert.match(local.stderr, /refused: .* would be denied under config .*platform\.yaml; nothing was sent\n {2}\[ipblock-too-wide\]/);

    const skipped = await cli(['grant', '-n', ns, '--to', 'app=database', '--from-cidr', '198.51.100.16/28', '--port', '5432', '--for', '1h', '--skip-local-check', '--name', 'no-ticket']);
    assertExit(skipped, 1, 'grant without ticket past the local check');
    assert.match(skipped.stderr, /warning: the local check .* denies this grant; sending it anyway/);
    assert.match(skipped.stderr, /denied by admission webhook "validate\.netpol-guard\.io":\n(.*\n)* {2}\[ticket-missing\] /);
  });

  it('says which verb, resource and namespace RBAC refuses', async () => {
    const foreign = uniqueName('e2e-operator-foreign');
    await plane().kubectlOk(['create', 'namespace', foreign]);
    const r = await cli(['grant', '-n', foreign, '--to', 'app=database', '--from-cidr', '198.51.100.16/28', '--port', '5432', '--for', '1h', '--ticket', 'INC-2']);
    assertExit(r, 1, 'grant in a namespace alice may not write');
    assert.match(r.stderr, new RegExp(`^netpol-guard grant: forbidden: user "alice" may not create networkpolicies\\.networking\\.k8s\\.io in namespace "${foreign}"\\n`));
    const list = await cli(['list', '-A']);
    assertExit(list, 1, 'list across namespaces');
    assert.match(list.stderr, /forbidden: user "alice" may not list networkpolicies\.networking\.k8s\.io across all namespaces/);
  });

  it('reports an unreachable API server with its URL', async () => {
    const kubeconfig = fs.readFileSync(aliceKubeconfig, 'utf8').replace(plane().server, 'https://127.0.0.1:1');
    const file = path.join(home, 'unreachable.yaml');
    fs.writeFileSync(file, kubeconfig);
    const r = await run(process.execPath, [cliPath(), 'list', '-n', ns, '--kubeconfig', file], home);
    assertExit(r, 2, 'list against a closed port');
    assert.match(r.stderr, /cannot reach the Kubernetes API server at https:\/\/127\.0\.0\.1:1 to list networkpolicies in namespace ".*": .*ECONNREFUSED/);
  });

  it('works as a kubectl plugin (kubectl netpol-guard …)', async () => {
    const pluginDir = path.join(home, 'plugins');
    fs.mkdirSync(pluginDir, { recursive: true });
    const plugin = path.join(pluginDir, 'kubectl-netpol_guard');
    const entry = path.join(path.dirname(cliPath()), 'kubectlPlugin.js');
    fs.writeFileSync(plugin, `#!/bin/sh\nexec "${process.execPath}" "${entry}" "$@"\n`, { mode: 0o755 });
    const kubectl = path.join(plane().binDir, 'kubectl');
    const env = { PATH: `${pluginDir}:${process.env['PATH'] ?? ''}` };

    const plugins = await run(kubectl, ['plugin', 'list'], home, env);
    assert.match(plugins.stdout, /kubectl-netpol_guard/, plugins.stderr);

    const grant = await run(
      kubectl,
      ['netpol-guard', 'grant', '-n', ns, '--to', 'app=cache', '--from-pods', 'app=api', '--port', '6379', '--for', '30m', '--ticket', 'INC-3', '--name', 'via-kubectl', '--kubeconfig', aliceKubeconfig],
      home,
      env,
    );
    assertExit(grant, 0, 'kubectl netpol-guard grant');
    assert.match(grant.stdout, new RegExp(`\\n {2}revoke: {3}kubectl netpol-guard revoke via-kubectl -n ${ns}\\n$`));
    const revoke = await run(kubectl, ['netpol-guard', 'revoke', 'via-kubectl', '-n', ns, '--kubeconfig', aliceKubeconfig], home, env);
    assertExit(revoke, 0, 'kubectl netpol-guard revoke');
    assert.equal(await readPolicy(api(), ns, 'via-kubectl'), undefined);
  });

  it('exits 2 naming the webhook when it is down (failurePolicy Fail)', async () => {
    assert.ok(guard);
    await guard.webhook.kill();
    try {
      const r = await cli(['grant', '-n', ns, '--to', 'app=database', '--from-cidr', '198.51.100.16/28', '--port', '5432', '--for', '1h', '--ticket', 'INC-5']);
      assertExit(r, 2, 'grant while the webhook is down');
      assert.match(r.stderr, /the API server could not call admission webhook "(mutate|validate)\.netpol-guard\.io", so it refused to create networkpolicies/);
    } finally {
      await guard.webhook.start();
      await guard.waitUntilWebhooksCalled();
    }
  });
});
