import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { defaultConfig } from '../../../src/config/load.js';
import { annotationKeys } from '../../../src/lifecycle/annotations.js';
import { buildGrantPolicy, defaultGrantName, podSelectorFromLabels, type GrantSpec } from '../../../src/operator/buildGrant.js';
import { parseGrantFlags } from '../../../src/operator/grantFlags.js';
import { checkLocally, grantFlagFor, grantFlagsToChange } from '../../../src/operator/localCheck.js';
import { isDnsLabel } from '../../../src/operator/selectors.js';
import { evaluatePolicy } from '../../../src/policy/evaluate.js';
import { RULE_IDS } from '../../../src/policy/ruleIds.js';
import { checkNetworkPolicyShape } from '../../../src/policy/shape.js';

const NOW = new Date('2026-03-01T02:14:00Z');
const KEYS = annotationKeys();
const CONFIG = defaultConfig();

function spec(overrides: Partial<GrantSpec> = {}): GrantSpec {
  return {
    direction: 'ingress',
    namespace: 'payments',
    name: undefined,
    podSelector: { app: 'database' },
    cidrs: ['198.51.100.0/24'],
    peerPods: undefined,
    peerNamespaces: undefined,
    ports: [{ protocol: 'TCP', port: 5432 }],
    ttl: '2h',
    ticket: 'INC-1234',
    ...overrides,
  };
}

describe('buildGrantPolicy', () => {
  it('builds the issue example: one ingress rule, ttl and ticket annotations, the temporary label', () => {
    const policy = buildGrantPolicy(spec(), KEYS, 'ab12c');
    assert.deepEqual(policy, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {
        name: 'grant-inc-1234-ab12c',
        namespace: 'payments',
        labels: { 'netpol-guard.io/temporary': 'true' },
        annotations: { 'netpol-guard.io/ttl': '2h', 'netpol-guard.io/ticket': 'INC-1234' },
      },
      spec: {
        podSelector: { matchLabels: { app: 'database' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
      },
    });
  });

  it('puts the peers of an egress grant under `to` and ANDs pod and namespace selectors into one peer', () => {
    const policy = buildGrantPolicy(
      spec({ direction: 'egress', cidrs: [], peerPods: { app: 'cache' }, peerNamespaces: { 'kubernetes.io/metadata.name': 'infra' }, name: 'cache-access' }),
      KEYS,
      'x',
    );
    assert.equal(policy.metadata?.name, 'cache-access');
    assert.deepEqual(policy.spec?.policyTypes, ['Egress']);
    assert.equal(policy.spec?.ingress, undefined);
    assert.deepEqual(policy.spec?.egress, [
      {
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'infra' } }, podSelector: { matchLabels: { app: 'cache' } } }],
        ports: [{ protocol: 'TCP', port: 5432 }],
      },
    ]);
  });

  it('normalizes a hand-typed ticket and leaves absent parts absent for the engine to judge', () => {
    const policy = buildGrantPolicy(spec({ ticket: ' inc-77 ', ttl: undefined, ports: [], cidrs: [], podSelector: undefined }), KEYS, 'q');
    assert.deepEqual(policy.metadata?.annotations, { 'netpol-guard.io/ticket': 'INC-77' });
    assert.deepEqual(policy.spec?.podSelector, {});
    assert.deepEqual(policy.spec?.ingress, [{}]);
    const ids = evaluatePolicy({ operation: 'CREATE', policy, namespace: 'payments', user: { username: '', groups: [] }, config: CONFIG, now: NOW })
      .findings.map((f) => f.ruleId)
      .sort();
    assert.deepEqual(ids, ['expiry-missing', 'peer-any', 'port-any', 'target-all-pods']);
  });

  it('writes annotations under a configured prefix', () => {
    const policy = buildGrantPolicy(spec(), annotationKeys('guard.example.com'), 'z');
    assert.deepEqual(Object.keys(policy.metadata?.annotations ?? {}), ['guard.example.com/ttl', 'guard.example.com/ticket']);
    assert.deepEqual(policy.metadata?.labels, { 'guard.example.com/temporary': 'true' });
  });
});

describe('defaultGrantName', () => {
  it('is grant-<ticket>-<suffix>, lower-cased and cut to a DNS label', () => {
    assert.equal(defaultGrantName('INC-1234', 'ab12c'), 'grant-inc-1234-ab12c');
    assert.equal(defaultGrantName('CHG_99 / db', 'k'), 'grant-chg-99-db-k');
    assert.equal(defaultGrantName(undefined, 'k3'), 'grant-k3');
    assert.equal(defaultGrantName('***', 'k3'), 'grant-k3');
    const long = defaultGrantName(`OPS-${'9'.repeat(80)}`, 'abcde');
    assert.ok(long.length <= 63 && isDnsLabel(long), long);
    assert.throws(() => defaultGrantName('INC-1', 'UPPER'), /suffix/);
  });

  it('is a valid DNS label for any ticket text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.stringMatching(/^[a-z0-9]{1,10}$/), (ticket, suffix) => {
        const name = defaultGrantName(ticket, suffix);
        return name.length <= 63 && isDnsLabel(name) && name.endsWith(`-${suffix}`);
      }),
    );
  });
});

describe('podSelectorFromLabels', () => {
  it('drops the labels controllers stamp on each replica', () => {
    assert.deepEqual(podSelectorFromLabels({ app: 'db', 'pod-template-hash': '7d9f', 'statefulset.kubernetes.io/pod-name': 'db-0', tier: 'primary' }), {
      selector: { app: 'db', tier: 'primary' },
      dropped: ['pod-template-hash', 'statefulset.kubernetes.io/pod-name'],
    });
  });
});

describe('local check of generated grants', () => {
  // Sizes keep a whole grant within the default totals: three CIDRs of at most a /18 (IPv4) or /50
  // (IPv6) stay within one /16 or /48, four entries of at most 25 ports within 100 ports, and no
  // CIDR reaches the default forbidden ranges (169.254.169.254, fd00:ec2::254).
  const label = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/);
  const selector = fc.dictionary(label, label, { minKeys: 1, maxKeys: 3 });
  const ipv4 = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 18, max: 32 })).map(([addr, prefix]) => {
    const network = prefix === 0 ? 0 : (addr >>> (32 - prefix)) * 2 ** (32 - prefix);
    return `${[24, 16, 8, 0].map((s) => Math.floor(network / 2 ** s) % 256).join('.')}/${prefix}`;
  }).filter((cidr) => !cidr.startsWith('169.254.'));
  const ipv6 = fc.tuple(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), fc.integer({ min: 50, max: 128 })).map(([groups, prefix]) => {
    let value = groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
    value = (value >> BigInt(128 - prefix)) << BigInt(128 - prefix);
    const hex = Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
    return `${hex.join(':')}/${prefix}`;
  }).filter((cidr) => !cidr.startsWith('fd00:'));
  const protocol = fc.constantFrom('', '/TCP', '/udp', '/SCTP');
  const port = fc.oneof(
    fc.tuple(fc.integer({ min: 1, max: 65535 }), protocol).map(([p, proto]) => `${p}${proto}`),
    fc.tuple(fc.integer({ min: 1, max: 65000 }), fc.integer({ min: 1, max: 24 }), protocol).map(([p, w, proto]) => `${p}-${p + w}${proto}`),
    fc.tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,9}$/), protocol).map(([n, proto]) => `${n}${proto}`),
  );
  const ttl = fc.oneof(
    fc.integer({ min: 1, max: 24 }).map((h) => `${h}h`),
    fc.integer({ min: 1, max: 1440 }).map((m) => `${m}m`),
    fc.tuple(fc.integer({ min: 1, max: 23 }), fc.integer({ min: 1, max: 59 })).map(([h, m]) => `${h}h${m}m`),
  );
  const ticket = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,5}-[0-9]{1,6}$/);
  const flags = fc
    .record({
      egress: fc.boolean(),
      namespace: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/),
      target: selector,
      cidrs: fc.array(fc.oneof(ipv4, ipv6), { maxLength: 3 }),
      pods: fc.option(selector, { nil: undefined }),
      namespaces: fc.option(fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/), selector.map((s) => Object.entries(s).map(([k, v]) => `${k}=${v}`).join(','))), { nil: undefined }),
      ports: fc.array(port, { minLength: 1, maxLength: 4 }),
      ttl,
      ticket,
      name: fc.option(fc.stringMatching(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/), { nil: undefined }),
    })
    .filter((f) => f.cidrs.length > 0 || f.pods !== undefined || f.namespaces !== undefined);
  const kv = (s: Record<string, string>) => Object.entries(s).map(([k, v]) => `${k}=${v}`).join(',');

  it('every valid flag combination builds a policy the engine allows under the default config', () => {
    fc.assert(
      fc.property(flags, fc.stringMatching(/^[a-z0-9]{5}$/), (f, suffix) => {
        const side = f.egress ? { pods: '--from', cidr: '--to-cidr', peerPods: '--to-pods', ns: '--to-namespace' } : { pods: '--to', cidr: '--from-cidr', peerPods: '--from-pods', ns: '--from-namespace' };
        const argv = [...(f.egress ? ['--egress'] : []), '-n', f.namespace, side.pods, kv(f.target), '--for', f.ttl, '--ticket', f.ticket];
        for (const c of f.cidrs) argv.push(side.cidr, c);
        if (f.pods) argv.push(side.peerPods, kv(f.pods));
        if (f.namespaces) argv.push(side.ns, f.namespaces);
        for (const p of f.ports) argv.push('--port', p);
        if (f.name) argv.push('--name', f.name);
        const parsed = parseGrantFlags(argv);
        assert.ok(parsed.ok, `${argv.join(' ')}: ${JSON.stringify(parsed)}`);
        const r = parsed.request;
        const policy = buildGrantPolicy({ ...r, namespace: r.namespace! }, CONFIG.keys, suffix);
        assert.ok(checkNetworkPolicyShape(policy).ok, `${argv.join(' ')}: ${JSON.stringify(checkNetworkPolicyShape(policy))}`);
        const check = checkLocally({ operation: 'CREATE', policy, namespace: r.namespace!, config: CONFIG, now: NOW });
        assert.equal(check.kind, 'evaluated');
        assert.ok(check.kind === 'evaluated' && check.allowed && check.evaluation.findings.length === 0, `${argv.join(' ')}: ${JSON.stringify(check)}`);
        assert.ok(isDnsLabel(policy.metadata!.name!) || f.name !== undefined);
      }),
      { numRuns: 300 },
    );
  });

  it('denies the issue\'s bad flags and names the flag to change', () => {
    const cases: Array<[string[], string[], string[]]> = [
      [['--from-cidr', '0.0.0.0/0'], ['ipblock-all-addresses'], ['--from-cidr']],
      [['--for', '48h'], ['expiry-too-far'], ['--for']],
      [['--ticket', 'whatever'], ['ticket-invalid'], ['--ticket']],
    ];
    for (const [extra, rules, change] of cases) {
      const base: Record<string, string> = { '-n': 'payments', '--to': 'app=database', '--from-cidr': '198.51.100.0/24', '--port': '5432/TCP', '--for': '2h', '--ticket': 'INC-1234' };
      base[extra[0]!] = extra[1]!;
      const parsed = parseGrantFlags(Object.entries(base).flat());
      assert.ok(parsed.ok);
      const policy = buildGrantPolicy({ ...parsed.request, namespace: 'payments' }, CONFIG.keys, 'abcde');
      const check = checkLocally({ operation: 'CREATE', policy, namespace: 'payments', config: CONFIG, now: NOW });
      assert.ok(check.kind === 'evaluated' && !check.allowed);
      assert.deepEqual(check.evaluation.findings.map((f) => f.ruleId), rules);
      assert.deepEqual(grantFlagsToChange(check.evaluation.findings, 'ingress'), change);
    }
  });

  it('has a flag for every rule id, in both directions', () => {
    for (const id of RULE_IDS) {
      assert.match(grantFlagFor(id, 'ingress'), /^--/);
      assert.match(grantFlagFor(id, 'egress'), /^--/);
    }
    assert.equal(grantFlagFor('ipblock-too-wide', 'egress'), '--to-cidr');
    assert.equal(grantFlagFor('target-all-pods', 'egress'), '--from');
  });
});
