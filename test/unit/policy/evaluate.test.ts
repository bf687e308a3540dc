import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { ConfigFile } from '../../../src/config/types.js';
import type { EvaluationInput } from '../../../src/policy/evaluate.js';
import { formatFinding } from '../../../src/policy/findings.js';
import { LIFECYCLE_RULE_IDS } from '../../../src/policy/ruleIds.js';
import {
  API_PODS,
  DB_PODS,
  EXPIRES_AT,
  GOOD_GRANT,
  GRANTED_AT,
  HOUR,
  NOW,
  TCP_5432,
  TICKET,
  TTL,
  cidrPeer,
  config,
  egressPolicy,
  evaluate,
  ids,
  idsAndPaths,
  policy,
} from './support.js';

/** A narrow grant, so only lifecycle findings can appear. */
function narrow(annotations: Record<string, string>): V1NetworkPolicy {
  return egressPolicy([{ to: [API_PODS], ports: [TCP_5432] }], annotations);
}

const at = (offsetMs: number): string => new Date(NOW.getTime() + offsetMs).toISOString().replace('.000Z', 'Z');
const ann = (key: string): string => `metadata.annotations["${key}"]`;

interface LifecycleCase {
  name: string;
  annotations: Record<string, string>;
  overrides?: Partial<EvaluationInput>;
  config?: ConfigFile;
  /** Every finding expected, as `rule-id @ path`. */
  expect: string[];
}

const LIFECYCLE_CASES: LifecycleCase[] = [
  // expiry-missing
  { name: 'no ttl and no expires-at', annotations: { [TICKET]: 'INC-1' }, expect: ['expiry-missing @ metadata.annotations'] },
  { name: 'no annotations at all', annotations: {}, expect: ['expiry-missing @ metadata.annotations', `ticket-missing @ ${ann(TICKET)}`] },
  { name: 'near miss: a defaultTTL stands in for a missing ttl', annotations: { [TICKET]: 'INC-1' }, config: { defaultTTL: '1h' }, expect: [] },
  // expiry-invalid
  { name: 'ttl is not a duration', annotations: { [TTL]: '2 hours', [TICKET]: 'INC-1' }, expect: [`expiry-invalid @ ${ann(TTL)}`] },
  { name: 'ttl with a fraction', annotations: { [TTL]: '1.5h', [TICKET]: 'INC-1' }, expect: [`expiry-invalid @ ${ann(TTL)}`] },
  { name: 'ttl of zero', annotations: { [TTL]: '0s', [TICKET]: 'INC-1' }, expect: [`expiry-invalid @ ${ann(TTL)}`] },
  { name: 'expires-at is not RFC 3339', annotations: { [EXPIRES_AT]: 'tomorrow', [TICKET]: 'INC-1' }, expect: [`expiry-invalid @ ${ann(EXPIRES_AT)}`] },
  {
    name: 'expires-at on a date that does not exist',
    annotations: { [EXPIRES_AT]: '2026-02-30T00:00:00Z', [TICKET]: 'INC-1' },
    expect: [`expiry-invalid @ ${ann(EXPIRES_AT)}`],
  },
  {
    name: 'an invalid expires-at is reported even next to a valid ttl',
    annotations: { [EXPIRES_AT]: 'soon', [TTL]: '1h', [TICKET]: 'INC-1' },
    expect: [`expiry-invalid @ ${ann(EXPIRES_AT)}`],
  },
  { name: 'near miss: ttl 1h30m', annotations: { [TTL]: '1h30m', [TICKET]: 'INC-1' }, expect: [] },
  // expiry-in-past
  { name: 'expires-at exactly now', annotations: { [EXPIRES_AT]: at(0), [TICKET]: 'INC-1' }, expect: [`expiry-in-past @ ${ann(EXPIRES_AT)}`] },
  { name: 'expires-at a second ago', annotations: { [EXPIRES_AT]: at(-1_000), [TICKET]: 'INC-1' }, expect: [`expiry-in-past @ ${ann(EXPIRES_AT)}`] },
  { name: 'near miss: expires-at a second from now', annotations: { [EXPIRES_AT]: at(1_000), [TICKET]: 'INC-1' }, expect: [] },
  {
    name: 'expires-at with an offset that lands in the past',
    annotations: { [EXPIRES_AT]: '2026-11-23T19:30:00+02:00', [TICKET]: 'INC-1' },
    expect: [`expiry-in-past @ ${ann(EXPIRES_AT)}`],
  },
  // expiry-too-far
  { name: 'near miss: ttl equal to maxTTL', annotations: { [TTL]: '24h', [TICKET]: 'INC-1' }, expect: [] },
  { name: 'ttl one second over maxTTL', annotations: { [TTL]: '24h1s', [TICKET]: 'INC-1' }, expect: [`expiry-too-far @ ${ann(TTL)}`] },
  { name: 'near miss: expires-at exactly maxTTL away', annotations: { [EXPIRES_AT]: at(24 * HOUR), [TICKET]: 'INC-1' }, expect: [] },
  {
    name: 'expires-at one second beyond maxTTL',
    annotations: { [EXPIRES_AT]: at(24 * HOUR + 1_000), [TICKET]: 'INC-1' },
    expect: [`expiry-too-far @ ${ann(EXPIRES_AT)}`],
  },
  {
    name: 'near miss: ttl = maxTTL at a now with milliseconds',
    annotations: { [TTL]: '24h', [TICKET]: 'INC-1' },
    overrides: { now: new Date(NOW.getTime() + 999) },
    expect: [],
  },
  { name: 'a configured maxTTL is honoured', annotations: { [TTL]: '3h', [TICKET]: 'INC-1' }, config: { limits: { maxTTL: '2h' } }, expect: [`expiry-too-far @ ${ann(TTL)}`] },
  // lifetime-exceeded
  {
    name: 'an UPDATE extending past granted-at + maxLifetime (granted-at from the stored object)',
    annotations: { [TTL]: '13h', [TICKET]: 'INC-1', [GRANTED_AT]: at(0) },
    overrides: { operation: 'UPDATE', oldPolicy: narrow({ [TTL]: '2h', [TICKET]: 'INC-1', [GRANTED_AT]: at(-60 * HOUR) }) },
    expect: [`lifetime-exceeded @ ${ann(TTL)}`],
  },
  {
    name: 'near miss: an UPDATE reaching exactly granted-at + maxLifetime',
    annotations: { [TTL]: '12h', [TICKET]: 'INC-1' },
    overrides: { operation: 'UPDATE', oldPolicy: narrow({ [TTL]: '2h', [TICKET]: 'INC-1', [GRANTED_AT]: at(-60 * HOUR) }) },
    expect: [],
  },
  {
    name: 'an UPDATE without a stored granted-at falls back to the new object',
    annotations: { [EXPIRES_AT]: at(13 * HOUR), [TICKET]: 'INC-1', [GRANTED_AT]: at(-60 * HOUR) },
    overrides: { operation: 'UPDATE', oldPolicy: narrow({ [TTL]: '2h', [TICKET]: 'INC-1' }) },
    expect: [`lifetime-exceeded @ ${ann(EXPIRES_AT)}`],
  },
  {
    name: 'near miss: a CREATE is never judged on lifetime',
    annotations: { [TTL]: '13h', [TICKET]: 'INC-1', [GRANTED_AT]: at(-60 * HOUR) },
    expect: [],
  },
  // ticket-missing
  { name: 'no ticket', annotations: { [TTL]: '2h' }, expect: [`ticket-missing @ ${ann(TICKET)}`] },
  { name: 'a blank ticket', annotations: { [TTL]: '2h', [TICKET]: '   ' }, expect: [`ticket-missing @ ${ann(TICKET)}`] },
  // ticket-invalid
  { name: 'a ticket that is not a key', annotations: { [TTL]: '2h', [TICKET]: 'fix the db' }, expect: [`ticket-invalid @ ${ann(TICKET)}`] },
  { name: 'near miss: a lower-case key is normalized', annotations: { [TTL]: '2h', [TICKET]: ' inc-1234 ' }, expect: [] },
  {
    name: 'a configured ticket pattern is honoured',
    annotations: { [TTL]: '2h', [TICKET]: 'INC-1234' },
    config: { ticket: { pattern: '^CHG-[0-9]{4}$' } },
    expect: [`ticket-invalid @ ${ann(TICKET)}`],
  },
  // approval-required (the full verification is in test/unit/approval/approvalRequired.test.ts)
  { name: 'a grant applied directly where approval is required', annotations: { [TTL]: '2h', [TICKET]: 'INC-1' }, config: { approval: { required: 1 } }, expect: ['approval-required @ metadata'] },
  { name: 'near miss: approval off (required 0, the default)', annotations: { [TTL]: '2h', [TICKET]: 'INC-1' }, config: { approval: { required: 0 } }, expect: [] },
];

describe('lifecycle rules', () => {
  for (const c of LIFECYCLE_CASES) {
    it(c.name, () => {
      const evaluation = evaluate(narrow(c.annotations), { ...(c.config && { config: config(c.config) }), ...c.overrides });
      assert.deepEqual(idsAndPaths(evaluation.findings), [...c.expect].sort());
      assert.equal(evaluation.allowed, c.expect.length === 0);
    });
  }

  it('every lifecycle rule id has a case that fires it', () => {
    for (const id of LIFECYCLE_RULE_IDS) {
      assert.ok(LIFECYCLE_CASES.some((c) => c.expect.some((e) => e.startsWith(`${id} @`))), `${id} never fires in the table`);
    }
  });

  it('reports the resolved expiry and the normalized ticket', () => {
    const evaluation = evaluate(narrow({ [TTL]: '1h30m', [TICKET]: 'ops-77' }));
    assert.equal(evaluation.expiresAt, '2026-11-23T19:30:00Z');
    assert.equal(evaluation.ticket, 'OPS-77');
    const defaulted = evaluate(narrow({ [TICKET]: 'OPS-77' }), { config: config({ defaultTTL: '45m' }) });
    assert.equal(defaulted.expiresAt, '2026-11-23T18:45:00Z');
  });

  it('uses the configured annotation prefix in keys and paths', () => {
    const cfg = config({ annotationPrefix: 'guard.example.com' });
    const evaluation = evaluate(narrow({ 'guard.example.com/ttl': 'soon' }), { config: cfg });
    assert.deepEqual(idsAndPaths(evaluation.findings), [
      'expiry-invalid @ metadata.annotations["guard.example.com/ttl"]',
      'ticket-missing @ metadata.annotations["guard.example.com/ticket"]',
    ]);
    // The default-prefix annotations mean nothing under another prefix.
    assert.deepEqual(ids(evaluate(narrow(GOOD_GRANT), { config: cfg }).findings), ['expiry-missing', 'ticket-missing']);
  });
});

describe('isolation policies', () => {
  for (const types of [['Ingress'], ['Egress'], ['Ingress', 'Egress']]) {
    it(`podSelector {} with policyTypes [${types.join(', ')}] and no rules is allowed without annotations`, () => {
      const evaluation = evaluate(policy({ podSelector: {}, policyTypes: types }));
      assert.equal(evaluation.allowed, true);
      assert.equal(evaluation.disposition, 'no-access-granted');
      assert.equal(evaluation.grantsAccess, false);
      assert.deepEqual(evaluation.findings, []);
    });
  }

  it('egress rules without explicit policyTypes grant access and are judged', () => {
    const evaluation = evaluate(policy({ podSelector: DB_PODS, egress: [{ to: [API_PODS], ports: [TCP_5432] }] }));
    assert.equal(evaluation.grantsAccess, true);
    assert.deepEqual(ids(evaluation.findings), ['expiry-missing', 'ticket-missing']);
  });

  it('egress rules under explicit [Ingress] are ignored, leaving an isolation policy', () => {
    const evaluation = evaluate(policy({ podSelector: {}, policyTypes: ['Ingress'], egress: [{}] }));
    assert.equal(evaluation.allowed, true);
    assert.equal(evaluation.disposition, 'no-access-granted');
  });
});

describe('who is asking', () => {
  const wide = egressPolicy([{ to: [cidrPeer('0.0.0.0/0')], ports: [TCP_5432] }], {});

  it('exempt namespaces are allowed without any finding', () => {
    const p = { ...wide, metadata: { ...wide.metadata, namespace: 'kube-system' } };
    const evaluation = evaluate(p, { namespace: 'kube-system' });
    assert.deepEqual({ allowed: evaluation.allowed, disposition: evaluation.disposition, findings: evaluation.findings }, {
      allowed: true,
      disposition: 'exempt-namespace',
      findings: [],
    });
    assert.equal(evaluate(p, { namespace: 'payments' }).allowed, false, 'only the request namespace counts');
    const custom = config({ exemptNamespaces: ['platform'] });
    assert.equal(evaluate(wide, { namespace: 'platform', config: custom }).disposition, 'exempt-namespace');
    assert.equal(evaluate(wide, { namespace: 'kube-system', config: custom }).allowed, false, 'the list replaces the default');
  });

  const principalCases: { name: string; file: ConfigFile; username: string; groups?: string[] }[] = [
    { name: 'a permanent user', file: { permanentPrincipals: { users: ['alice'] } }, username: 'alice' },
    { name: 'a member of a permanent group', file: { permanentPrincipals: { groups: ['platform-admins'] } }, username: 'bob', groups: ['platform-admins'] },
    {
      name: 'a permanent service account (ns/name)',
      file: { permanentPrincipals: { serviceAccounts: ['argocd/argocd-application-controller'] } },
      username: 'system:serviceaccount:argocd:argocd-application-controller',
    },
  ];
  for (const c of principalCases) {
    it(`${c.name} skips lifecycle rules but not breadth`, () => {
      const cfg = config(c.file);
      const user = { username: c.username, groups: c.groups ?? [] };
      const permanentNarrow = evaluate(narrow({}), { config: cfg, user });
      assert.equal(permanentNarrow.allowed, true);
      assert.equal(permanentNarrow.disposition, 'permanent-principal');
      assert.deepEqual(permanentNarrow.findings, []);
      const permanentWide = evaluate(wide, { config: cfg, user });
      assert.equal(permanentWide.allowed, false);
      assert.deepEqual(ids(permanentWide.findings), ['ipblock-all-addresses']);
      assert.equal(evaluate(narrow({}), { config: cfg }).allowed, false, 'an ordinary user is still held to the lifecycle rules');
    });
  }

  it('a service account of the same name in another namespace is not permanent', () => {
    const cfg = config({ permanentPrincipals: { serviceAccounts: ['argocd/controller'] } });
    const evaluation = evaluate(narrow({}), { config: cfg, user: { username: 'system:serviceaccount:dev:controller', groups: [] } });
    assert.equal(evaluation.allowed, false);
  });

  it('break-glass admits with every finding as a warning', () => {
    const cfg = config({ breakGlassGroups: ['sre-oncall'] });
    const user = { username: 'carol', groups: ['system:authenticated', 'sre-oncall'] };
    const evaluation = evaluate(wide, { config: cfg, user });
    assert.equal(evaluation.allowed, true);
    assert.equal(evaluation.disposition, 'break-glass');
    assert.equal(evaluation.message, undefined);
    assert.deepEqual(ids(evaluation.findings), ['expiry-missing', 'ipblock-all-addresses', 'ticket-missing']);
    assert.ok(evaluation.findings.every((f) => f.action === 'warn'));
    assert.match(evaluation.warnings[0]!, /break-glass admission by carol \(group sre-oncall\); 3 finding\(s\)/);
    assert.deepEqual(evaluation.warnings.slice(1), evaluation.findings.map(formatFinding));
    assert.equal(evaluate(wide, { config: cfg }).allowed, false, 'others are still denied');
  });
});

describe('modes and rule actions', () => {
  const wide = egressPolicy([{ to: [cidrPeer('0.0.0.0/0')] }], {});

  it('mode warn admits and turns every finding into a warning', () => {
    const evaluation = evaluate(wide, { config: config({ mode: 'warn' }) });
    assert.equal(evaluation.allowed, true);
    assert.equal(evaluation.disposition, 'evaluated');
    assert.equal(evaluation.message, undefined);
    assert.deepEqual(ids(evaluation.findings), ['expiry-missing', 'ipblock-all-addresses', 'port-any', 'ticket-missing']);
    assert.ok(evaluation.findings.every((f) => f.action === 'warn'));
    assert.deepEqual(evaluation.warnings, evaluation.findings.map(formatFinding));
  });

  it('a rule set to off produces no finding', () => {
    const evaluation = evaluate(wide, { config: config({ rules: { 'port-any': 'off', 'ticket-missing': 'off' } }) });
    assert.deepEqual(ids(evaluation.findings), ['expiry-missing', 'ipblock-all-addresses']);
  });

  it('a rule set to warn admits when it is the only problem', () => {
    const p = egressPolicy([{ to: [API_PODS] }]);
    const evaluation = evaluate(p, { config: config({ rules: { 'port-any': 'warn' } }) });
    assert.equal(evaluation.allowed, true);
    assert.deepEqual(evaluation.warnings, [
      '[port-any] spec.egress[0].ports is missing, which allows every port and protocol; list the ports needed, e.g. - {protocol: TCP, port: 5432}',
    ]);
  });

  it('with warn and deny findings mixed, only deny findings are in the message', () => {
    const evaluation = evaluate(wide, { config: config({ rules: { 'port-any': 'warn' } }) });
    assert.equal(evaluation.allowed, false);
    assert.ok(!evaluation.message!.includes('[port-any]'));
    assert.deepEqual(evaluation.warnings.map((w) => w.slice(0, w.indexOf(']') + 1)), ['[port-any]']);
  });
});

describe('denial message', () => {
  it('has a headline and one [rule-id] line per deny finding', () => {
    const p = policy(
      { podSelector: DB_PODS, policyTypes: ['Egress'], egress: [{ to: [cidrPeer('0.0.0.0/0'), cidrPeer('10.0.0.0/8')] }] },
      { [TTL]: '3d', [TICKET]: 'please' },
      'too-much',
    );
    const evaluation = evaluate(p);
    assert.equal(evaluation.allowed, false);
    const [headline, ...lines] = evaluation.message!.split('\n');
    assert.equal(headline, 'netpol-guard denied NetworkPolicy payments/too-much: 5 problem(s)');
    assert.equal(lines.length, evaluation.findings.length);
    for (const line of lines) assert.match(line, /^\[[a-z-]+\] \S+ .+; .+$/);
    assert.deepEqual(lines.map((l) => l.slice(1, l.indexOf(']'))).sort(), ids(evaluation.findings));
    assert.equal(
      lines[0],
      '[ipblock-all-addresses] spec.egress[0].to[0].ipBlock.cidr 0.0.0.0/0 allows every IPv4 address; narrow it to the destination range, at most /16 wide',
    );
  });

  it('names a policy by generateName when it has no name yet', () => {
    const p = egressPolicy([{ to: [cidrPeer('0.0.0.0/0')], ports: [TCP_5432] }]);
    p.metadata = { generateName: 'tmp-', namespace: 'payments', annotations: GOOD_GRANT };
    assert.match(evaluate(p).message!, /^netpol-guard denied NetworkPolicy payments\/tmp-: 1 problem\(s\)/);
  });

  it('is deterministic for the same input', () => {
    const p = egressPolicy([{ to: [cidrPeer('0.0.0.0/0')] }], {});
    assert.deepEqual(evaluate(p), evaluate(p));
  });
});
