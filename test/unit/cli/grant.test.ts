import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import YAML from 'yaml';
import { grantCommand } from '../../../src/cli/grant.js';
import type { GrantApi } from '../../../src/operator/kube.js';
import { FakeApiServer } from '../../helpers/fakeApiServer.js';
import { captureIo, kubeconfigFile, statusBody } from '../operator/support.js';

const GOOD = ['-n', 'payments', '--to', 'app=database', '--from-cidr', '198.51.100.0/24', '--port', '5432/TCP', '--for', '2h', '--ticket', 'INC-1234'];

/** GOOD with one flag replaced (value undefined: flag dropped). */
function withFlag(flag: string, value: string | undefined): string[] {
  const out: string[] = [];
  for (let i = 0; i < GOOD.length; i += 2) {
    if (GOOD[i] === flag) {
      if (value !== undefined) out.push(flag, value);
    } else {
      out.push(GOOD[i]!, GOOD[i + 1]!);
    }
  }
  return out;
}

describe('grant against the fake API server', () => {
  let fake: FakeApiServer;
  let kubeconfig: string;

  before(async () => {
    fake = await FakeApiServer.start();
    kubeconfig = kubeconfigFile(fake);
  });
  after(async () => {
    await fake.stop();
  });
  beforeEach(() => {
    fake.reset();
  });

  for (const [label, argv, rule] of [
    ['--from-cidr 0.0.0.0/0', withFlag('--from-cidr', '0.0.0.0/0'), 'ipblock-all-addresses'],
    ['--for 48h', withFlag('--for', '48h'), 'expiry-too-far'],
    ['no --ticket', withFlag('--ticket', undefined), 'ticket-missing'],
    ['no --port', withFlag('--port', undefined), 'port-any'],
    ['no --for', withFlag('--for', undefined), 'expiry-missing'],
    ['no source', withFlag('--from-cidr', undefined), 'peer-any'],
  ] as const) {
    it(`refuses ${label} with the engine's finding and sends nothing`, async () => {
      const io = captureIo();
      const code = await grantCommand.run([...argv, '--kubeconfig', kubeconfig], io);
      assert.equal(code, 1, io.err);
      assert.match(io.err, /^netpol-guard grant: refused: payments\/grant-[a-z0-9-]+ would be denied under the built-in config; nothing was sent\n/);
      assert.match(io.err, new RegExp(`\\n  \\[${rule}\\] `));
      assert.match(io.err, /\nchange: --/);
      assert.equal(io.out, '');
      assert.equal(fake.requests.length, 0, JSON.stringify(fake.requests.map((r) => `${r.method} ${r.path}`)));
    });
  }

  it('refuses by the --config given (a stricter platform config)', async () => {
    const fs = await import('node:fs');
    const file = `${kubeconfig}.strict.yaml`;
    fs.writeFileSync(file, 'limits:\n  minIPv4PrefixLength: 28\n');
    const io = captureIo();
    assert.equal(await grantCommand.run([...GOOD, '--kubeconfig', kubeconfig, '--config', file], io), 1);
    assert.match(io.err, /under config .*strict\.yaml/);
    assert.match(io.err, /\[ipblock-too-wide\] spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr 198\.51\.100\.0\/24 is a \/24, wider than the allowed IPv4 \/28/);
    assert.equal(fake.requests.length, 0);
    const bad = captureIo({ env: { NETPOL_GUARD_CONFIG: `${file}.missing` } });
    assert.equal(await grantCommand.run([...GOOD, '--kubeconfig', kubeconfig], bad), 2);
    assert.match(bad.err, /invalid config/);
  });

  it('prints the manifest for -o yaml (also with --dry-run, as kubectl) and -o json, and sends nothing', async () => {
    const io = captureIo();
    assert.equal(await grantCommand.run([...GOOD, '-o', 'yaml', '--kubeconfig', kubeconfig], io), 0, io.err);
    const manifest = YAML.parse(io.out) as V1NetworkPolicy;
    assert.equal(manifest.metadata?.name, 'grant-inc-1234-abcde');
    assert.deepEqual(manifest.spec?.podSelector, { matchLabels: { app: 'database' } });
    const dryRunYaml = captureIo();
    assert.equal(await grantCommand.run([...GOOD, '--dry-run', '-o', 'yaml', '--kubeconfig', kubeconfig], dryRunYaml), 0, dryRunYaml.err);
    assert.deepEqual(YAML.parse(dryRunYaml.out), manifest);
    const json = captureIo();
    assert.equal(await grantCommand.run([...GOOD, '-o', 'json'], json), 0, json.err);
    assert.deepEqual(JSON.parse(json.out), manifest);
    assert.equal(fake.requests.length, 0);
  });

  it('does not print the manifest of a denied grant', async () => {
    const io = captureIo();
    assert.equal(await grantCommand.run([...withFlag('--for', '48h'), '-o', 'yaml'], io), 1);
    assert.equal(io.out, '');
  });

  it('creates the grant and prints name, expiry and the revoke command', async () => {
    // Stand in for the mutating webhook: stamp expires-at the way it would.
    fake.beforeNext('create', (request) => {
      const body = request.body as V1NetworkPolicy;
      body.metadata!.annotations!['netpol-guard.io/expires-at'] = '2026-03-01T04:14:00Z';
    });
    const io = captureIo();
    assert.equal(await grantCommand.run([...GOOD, '--kubeconfig', kubeconfig], io), 0, io.err);
    const stored = fake.getPolicy('payments', 'grant-inc-1234-abcde');
    assert.ok(stored, 'the grant was not created');
    assert.deepEqual((stored.spec as unknown as { ingress: unknown }).ingress, [
      { from: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ protocol: 'TCP', port: 5432 }] },
    ]);
    assert.equal(stored.metadata?.labels?.['netpol-guard.io/temporary'], 'true');
    assert.equal(stored.metadata?.annotations?.['netpol-guard.io/ttl'], '2h');
    assert.equal(
      io.out,
      [
        'granted payments/grant-inc-1234-abcde',
        '  access:   ingress to app=database from 198.51.100.0/24 on 5432/TCP',
        '  ticket:   INC-1234',
        '  expires:  2026-03-01T04:14:00Z (in 2h)',
        '  revoke:   netpol-guard revoke grant-inc-1234-abcde -n payments',
        '',
      ].join('\n'),
    );
    assert.deepEqual(fake.requests.map((r) => r.route), ['create']);
  });

  it('says so when no webhook stamped an expiry', async () => {
    const io = captureIo();
    assert.equal(await grantCommand.run([...GOOD, '--name', 'db-hotfix', '--kubeconfig', kubeconfig], io), 0, io.err);
    assert.match(io.out, /^granted payments\/db-hotfix\n/);
    assert.match(io.out, /expires: +about in 2h \(ttl 2h\); no netpol-guard.io\/expires-at was stamped/);
  });

  it('takes the namespace from the kubeconfig context when -n is not given', async () => {
    const io = captureIo();
    assert.equal(await grantCommand.run([...GOOD.slice(2), '--kubeconfig', kubeconfig], io), 0, io.err);
    assert.ok(fake.hasPolicy('default', 'grant-inc-1234-abcde'));
  });

  it('sends a locally denied grant with --skip-local-check, warning first', async () => {
    const io = captureIo();
    assert.equal(await grantCommand.run([...withFlag('--ticket', undefined), '--skip-local-check', '--kubeconfig', kubeconfig], io), 0, io.err);
    assert.match(io.err, /warning: the local check \(the built-in config\) denies this grant; sending it anyway/);
    assert.match(io.err, /\[ticket-missing\]/);
    assert.ok(fake.hasPolicy('payments', 'grant-abcde'));
  });

  it('prints the webhook denial as it came back', async () => {
    const message =
      'admission webhook "validate.netpol-guard.io" denied the request: netpol-guard denied NetworkPolicy payments/grant-inc-1234-abcde: 1 problem(s)\n' +
      '[ipblock-too-wide] spec.ingress[0].from[0].ipBlock.cidr 198.51.100.0/24 is a /24, wider than the allowed IPv4 /28; use a prefix of /28 or longer that covers only the source';
    fake.failNext('create', { status: 403, body: statusBody(403, 'Forbidden', message) });
    const io = captureIo();
    assert.equal(await grantCommand.run([...GOOD, '--kubeconfig', kubeconfig], io), 1);
    assert.equal(
      io.err,
      'netpol-guard grant: denied by admission webhook "validate.netpol-guard.io":\n' +
        '  netpol-guard denied NetworkPolicy payments/grant-inc-1234-abcde: 1 problem(s)\n' +
        '  [ipblock-too-wide] spec.ingress[0].from[0].ipBlock.cidr 198.51.100.0/24 is a /24, wider than the allowed IPv4 /28; use a prefix of /28 or longer that covers only the source\n',
    );
  });

  it('names verb, resource and namespace when RBAC forbids the create', async () => {
    fake.failNext('create', {
      status: 403,
      body: statusBody(403, 'Forbidden', 'networkpolicies.networking.k8s.io is forbidden: User "carol" cannot create resource "networkpolicies" in API group "networking.k8s.io" in the namespace "payments"'),
    });
    const io = captureIo();
    assert.equal(await grantCommand.run([...GOOD, '--kubeconfig', kubeconfig], io), 1);
    assert.match(io.err, /^netpol-guard grant: forbidden: user "carol" may not create networkpolicies.networking.k8s.io in namespace "payments"\n/);
    assert.equal(fake.requestsFor('create').length, 1, 'a refused create is not retried');
  });

  it('reports a name clash and validation errors', async () => {
    const first = captureIo();
    assert.equal(await grantCommand.run([...GOOD, '--name', 'dup', '--kubeconfig', kubeconfig], first), 0, first.err);
    const second = captureIo();
    assert.equal(await grantCommand.run([...GOOD, '--name', 'dup', '--kubeconfig', kubeconfig], second), 1);
    assert.match(second.err, /"dup" already exists\n  choose another --name/);
    fake.failNext('create', {
      status: 422,
      body: statusBody(422, 'Invalid', 'invalid', { causes: [{ field: 'metadata.name', message: 'Invalid value: "x"' }] }),
    });
    const invalid = captureIo();
    assert.equal(await grantCommand.run([...GOOD, '--kubeconfig', kubeconfig], invalid), 1);
    assert.match(invalid.err, /rejected the object as invalid\n  metadata.name: Invalid value: "x"\n/);
  });

  it('names the server and the cause when no API server answers', async () => {
    const gone = await FakeApiServer.start();
    const file = kubeconfigFile(gone);
    const url = gone.url;
    await gone.stop();
    const io = captureIo();
    assert.equal(await grantCommand.run([...GOOD, '--kubeconfig', file], io), 2);
    assert.match(io.err, new RegExp(`cannot reach the Kubernetes API server at ${url.replace(/\./g, '\\.')} to create networkpolicies/grant-inc-1234-abcde in namespace "payments": .*ECONNREFUSED`));
  });

  it('rejects bad usage with exit 2 before reading any config or cluster', async () => {
    const io = captureIo();
    assert.equal(await grantCommand.run(['--port', '80:TCP', '--kubeconfig', '/nonexistent'], io), 2);
    assert.match(io.err, /--port "80:TCP" is not a port/);
    assert.match(io.err, /Run 'netpol-guard grant --help'/);
    const missing = captureIo();
    assert.equal(await grantCommand.run([...GOOD, '--kubeconfig', '/nonexistent/kubeconfig'], missing), 2);
    assert.match(missing.err, /cannot load the kubeconfig \/nonexistent\/kubeconfig/);
    const help = captureIo();
    assert.equal(await grantCommand.run(['--help'], help), 0);
    assert.match(help.out, /--egress/);
    assert.match(help.out, /--to-cidr CIDR/);
  });
});

describe('grant --to-pod', () => {
  /** The fake API server has no pods; a recording client stands in for the cluster. */
  function podClient(labels: Record<string, string> | undefined): { api: GrantApi; created: V1NetworkPolicy[]; podReads: string[] } {
    const created: V1NetworkPolicy[] = [];
    const podReads: string[] = [];
    const api: GrantApi = {
      server: 'https://cluster.invalid',
      list: async () => [],
      read: async () => undefined,
      create: async (_ns, policy) => {
        created.push(policy);
        return policy;
      },
      mergePatch: async () => assert.fail('unexpected patch'),
      deleteWithPreconditions: async () => assert.fail('unexpected delete'),
      readPodLabels: async (ns, name) => {
        podReads.push(`${ns}/${name}`);
        return labels;
      },
    };
    return { api, created, podReads };
  }

  let kubeconfig: string;
  let fake: FakeApiServer;
  before(async () => {
    fake = await FakeApiServer.start();
    kubeconfig = kubeconfigFile(fake);
  });
  after(async () => {
    await fake.stop();
  });

  it('selects the pods carrying the named pod\'s stable labels', async () => {
    const client = podClient({ app: 'database', role: 'primary', 'pod-template-hash': '6f7c9' });
    const io = captureIo({ connect: () => client.api });
    const argv = ['-n', 'payments', '--to-pod', 'database-6f7c9-x2x', '--from-cidr', '198.51.100.0/24', '--port', '5432', '--for', '1h', '--ticket', 'INC-1', '--kubeconfig', kubeconfig];
    assert.equal(await grantCommand.run(argv, io), 0, io.err);
    assert.deepEqual(client.podReads, ['payments/database-6f7c9-x2x']);
    assert.deepEqual(client.created[0]?.spec?.podSelector, { matchLabels: { app: 'database', role: 'primary' } });
    assert.match(io.err, /--to-pod database-6f7c9-x2x: selecting pods labelled app=database,role=primary \(left out per-replica labels pod-template-hash\)/);
  });

  it('fails with exit 2 when the pod does not exist or has nothing to select by', async () => {
    for (const [labels, message] of [
      [undefined, /--from-pod: pod "api-0" not found in namespace "payments"/],
      [{ 'controller-revision-hash': 'x' }, /pod "api-0" has no labels to select it by; use --from k=v instead/],
    ] as const) {
      const client = podClient(labels);
      const io = captureIo({ connect: () => client.api });
      const argv = ['--egress', '-n', 'payments', '--from-pod', 'api-0', '--to-cidr', '203.0.113.0/24', '--port', '443', '--for', '1h', '--ticket', 'INC-1', '--kubeconfig', kubeconfig];
      assert.equal(await grantCommand.run(argv, io), 2);
      assert.match(io.err, message);
      assert.equal(client.created.length, 0);
    }
  });
});
