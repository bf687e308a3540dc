/** The rules fed by the effect analysis, and the summary the webhook audits, through evaluatePolicy and /validate. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { validateHandler } from '../../../../src/admission/validate.js';
import { auditFields } from '../../../../src/server/audit.js';
import { MemoryClusterView } from '../../../../src/cluster/memoryView.js';
import type { PodMeta } from '../../../../src/cluster/view.js';
import { GOOD_GRANT, NOW, config, evaluate, ids, policy } from '../support.js';

const DB = { matchLabels: { app: 'db' } };
const PG = { protocol: 'TCP', port: 5432 };

function pods(count: number, labels: Record<string, string>, namespace = 'payments', prefix = 'db'): PodMeta[] {
  return Array.from({ length: count }, (_, i) => ({ namespace, name: `${prefix}-${i}`, labels }));
}

function grant(spec: Parameters<typeof policy>[0]): V1NetworkPolicy {
  return policy(spec, GOOD_GRANT);
}

const FROM_NET = grant({ podSelector: DB, ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [PG] }] });
const DEFAULT_DENY = policy({ podSelector: {}, policyTypes: ['Ingress'] }, undefined, 'default-deny');

function cluster(podList: PodMeta[], policies: V1NetworkPolicy[] = [], namespaces: Record<string, Record<string, string>> = { payments: {} }): MemoryClusterView {
  return new MemoryClusterView({ namespaces, pods: podList, policies });
}

describe('isolates-pods', () => {
  it('denies a grant that isolates pods: names up to five, what they accept today and after, and the fix', () => {
    const evaluation = evaluate(FROM_NET, { cluster: cluster(pods(7, { app: 'db' })) });
    assert.equal(evaluation.allowed, false);
    const finding = evaluation.findings.find((f) => f.ruleId === 'isolates-pods');
    assert.ok(finding);
    assert.equal(finding.action, 'deny');
    assert.equal(finding.path, 'spec.podSelector');
    assert.equal(
      finding.reason,
      'newly isolates 7 pod(s) for ingress (db-0, db-1, db-2, db-3, db-4 and 2 more): today they accept all ingress, after this policy only 198.51.100.0/24 on TCP/5432',
    );
    assert.match(finding.hint, /baseline policy first .* or narrow spec\.podSelector/);
  });

  it('never fires in a namespace with default-deny, and the grant is admitted', () => {
    const evaluation = evaluate(FROM_NET, { cluster: cluster(pods(3, { app: 'db' }), [DEFAULT_DENY]) });
    assert.deepEqual(ids(evaluation.findings), []);
    assert.equal(evaluation.allowed, true);
  });

  it('fires only for the pods no policy selects (a baseline policy for some of them)', () => {
    const baseline = policy({ podSelector: { matchLabels: { app: 'db', shard: 'a' } }, ingress: [{}] }, undefined, 'baseline-a');
    const podList = [...pods(2, { app: 'db', shard: 'a' }, 'payments', 'a'), ...pods(1, { app: 'db', shard: 'b' }, 'payments', 'b')];
    const finding = evaluate(FROM_NET, { cluster: cluster(podList, [baseline]) }).findings.find((f) => f.ruleId === 'isolates-pods');
    assert.ok(finding);
    assert.match(finding.reason, /^newly isolates 1 pod\(s\) for ingress \(b-0\)/);
  });
});

describe('isolates-pods for a permanent principal', () => {
  const platform = { username: 'platform-bot', groups: ['platform'] };
  const permanent = config({ permanentPrincipals: { users: ['platform-bot'] } });
  // What the db pods need today: the api pods on the database port (narrow enough for every breadth rule).
  const baseline = policy({ podSelector: DB, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [PG] }] }, undefined, 'baseline');

  it('only warns: a baseline policy isolates on purpose, and its author is told what it cuts', () => {
    const evaluation = evaluate(baseline, { user: platform, config: permanent, cluster: cluster(pods(3, { app: 'db' })) });
    assert.equal(evaluation.allowed, true);
    const finding = evaluation.findings.find((f) => f.ruleId === 'isolates-pods');
    assert.ok(finding);
    assert.equal(finding.action, 'warn');
    assert.ok(evaluation.warnings.some((w) => w.includes('[isolates-pods]') && w.includes('newly isolates 3 pod(s) for ingress')));
  });

  it('the same policy from anyone else is denied, and other rules still deny a permanent principal', () => {
    assert.equal(evaluate(baseline, { cluster: cluster(pods(3, { app: 'db' })) }).allowed, false);
    const wide = policy({ podSelector: DB, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }] }, undefined, 'wide');
    const evaluation = evaluate(wide, { user: platform, config: permanent, cluster: cluster(pods(3, { app: 'db' }), [DEFAULT_DENY]) });
    assert.equal(evaluation.allowed, false);
    assert.ok(evaluation.findings.some((f) => f.ruleId === 'ipblock-too-wide' && f.action === 'deny'));
  });
});

describe('target-selects-nothing', () => {
  it('warns (by default) when the target selects no live pod, and a Succeeded pod does not count', () => {
    const done: PodMeta = { namespace: 'payments', name: 'db-old', labels: { app: 'db' }, phase: 'Succeeded' };
    const evaluation = evaluate(FROM_NET, { cluster: cluster([done], [DEFAULT_DENY]) });
    assert.deepEqual(ids(evaluation.findings), ['target-selects-nothing']);
    assert.equal(evaluation.findings[0]!.action, 'warn');
    assert.equal(evaluation.allowed, true);
    assert.match(evaluation.warnings[0]!, /\[target-selects-nothing\] spec\.podSelector selects no pod in namespace payments now/);
  });

  it('a Pending pod is a target', () => {
    const pending: PodMeta = { namespace: 'payments', name: 'db-new', labels: { app: 'db' }, phase: 'Pending' };
    assert.deepEqual(ids(evaluate(FROM_NET, { cluster: cluster([pending], [DEFAULT_DENY]) }).findings), []);
  });
});

describe('blast-radius-targets and blast-radius-peers', () => {
  it('denies more than limits.maxTargetPods targets (50 by default; 50 is fine)', () => {
    assert.deepEqual(ids(evaluate(FROM_NET, { cluster: cluster(pods(50, { app: 'db' }), [DEFAULT_DENY]) }).findings), []);
    const over = evaluate(FROM_NET, { cluster: cluster(pods(51, { app: 'db' }), [DEFAULT_DENY]) });
    assert.deepEqual(ids(over.findings), ['blast-radius-targets']);
    assert.equal(over.findings[0]!.reason, 'selects 51 pods now, more than limits.maxTargetPods (50)');
    const raised = evaluate(FROM_NET, { config: config({ limits: { maxTargetPods: 60 } }), cluster: cluster(pods(51, { app: 'db' }), [DEFAULT_DENY]) });
    assert.deepEqual(ids(raised.findings), []);
  });

  it('counts peer pods across namespaces: a namespaceSelector alone admits every pod of every team namespace', () => {
    const namespaces: Record<string, Record<string, string>> = { payments: {} };
    const podList = pods(1, { app: 'db' });
    for (let i = 0; i < 11; i++) {
      namespaces[`core-${i}`] = { team: 'core' };
      podList.push(...pods(20, { app: 'api' }, `core-${i}`, 'api'));
    }
    const wide = grant({ podSelector: DB, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'core' } } }], ports: [PG] }] });
    const evaluation = evaluate(wide, { cluster: cluster(podList, [DEFAULT_DENY], namespaces) });
    assert.deepEqual(
      evaluation.findings.filter((f) => f.ruleId === 'blast-radius-peers').map((f) => f.reason),
      ['admits 220 peer pods now, more than limits.maxPeerPods (200)', 'admits pods of 11 namespaces now, more than limits.maxPeerNamespaces (10)'],
    );
    // The same namespaces, but one pod label in the same peer: the intersection is small... and
    // still 11 namespaces (namespaces are counted whether or not they hold matching pods).
    const narrow = grant({ podSelector: DB, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'core' } }, podSelector: { matchLabels: { app: 'none' } } }], ports: [PG] }] });
    assert.deepEqual(
      evaluate(narrow, { cluster: cluster(podList, [DEFAULT_DENY], namespaces) }).findings.map((f) => f.reason),
      ['admits pods of 11 namespaces now, more than limits.maxPeerNamespaces (10)'],
    );
  });

  it('attacker: splitting the peers into many small peers does not hide them (counted after union)', () => {
    const namespaces = { payments: {} };
    const podList = [...pods(1, { app: 'db' }), ...Array.from({ length: 201 }, (_, i) => ({ namespace: 'payments', name: `w-${i}`, labels: { app: 'web', n: String(i) } }))];
    const peers = Array.from({ length: 201 }, (_, i) => ({ podSelector: { matchLabels: { n: String(i) } } }));
    const split = grant({ podSelector: DB, ingress: [{ from: peers.slice(0, 100), ports: [PG] }, { from: peers.slice(100), ports: [PG] }] });
    const reasons = evaluate(split, { cluster: cluster(podList, [DEFAULT_DENY], namespaces) }).findings.filter((f) => f.ruleId === 'blast-radius-peers');
    assert.deepEqual(reasons.map((f) => f.reason), ['admits 201 peer pods now, more than limits.maxPeerPods (200)']);
  });
});

describe('the effect summary in the audit', () => {
  const request = (object: V1NetworkPolicy) => ({
    uid: 'u-1',
    kind: { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' },
    resource: { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' },
    namespace: 'payments',
    operation: 'CREATE' as const,
    userInfo: { username: 'dev@example.com', groups: ['team-payments'] },
    object,
  });

  it('is an audit annotation and a field of the audit line when the server has a view', () => {
    const view = cluster(pods(3, { app: 'db' }), [DEFAULT_DENY]);
    const decision = validateHandler(request(FROM_NET), config(), NOW, view);
    assert.equal(decision.allowed, true);
    assert.deepEqual(decision.auditAnnotations, { verdict: 'allowed', effect: 'opens 3 pods ← 256 addresses on TCP/5432; 0 pods newly isolated' });
    const fields = auditFields('validate', request(FROM_NET), 'allowed', 1, decision);
    assert.equal(fields.effect, 'opens 3 pods ← 256 addresses on TCP/5432; 0 pods newly isolated');
  });

  it('is absent without a view', () => {
    const decision = validateHandler(request(FROM_NET), config(), NOW);
    assert.equal('effect' in decision.auditAnnotations, false);
    assert.equal('effect' in auditFields('validate', request(FROM_NET), 'allowed', 1, decision), false);
  });
});
