/**
 * Attacker: reach what one grant may not reach by asking for it in pieces. The blast radius limits
 * count the grant together with the other live grants of the same requester or ticket in the
 * namespace, so re-partitioning a denied target or peer set across several grants stays denied
 * (property). Also the attempts at isolating pods in pieces, kept with what they show.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { V1NetworkPolicy, V1NetworkPolicyPeer } from '@kubernetes/client-node';
import { MemoryClusterView } from '../../../../src/cluster/memoryView.js';
import type { PodMeta } from '../../../../src/cluster/view.js';
import { config, evaluate, ids, policy, type WireSpec } from '../support.js';

const TEMPORARY = 'netpol-guard.io/temporary';
const REQUESTED_BY = 'netpol-guard.io/requested-by';
const TICKET = 'netpol-guard.io/ticket';
const PG = { protocol: 'TCP', port: 5432 };
const DEFAULT_DENY = policy({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] }, undefined, 'default-deny');

/** A live grant as the mutator leaves it: labelled temporary, stamped with its requester and ticket. */
function grant(name: string, spec: WireSpec, requestedBy: string, ticket: string, options: { temporary?: boolean; namespace?: string } = {}): V1NetworkPolicy {
  const p = policy(spec, { 'netpol-guard.io/ttl': '2h', [TICKET]: ticket, [REQUESTED_BY]: requestedBy }, name);
  p.metadata!.namespace = options.namespace ?? 'payments';
  if (options.temporary ?? true) p.metadata!.labels = { [TEMPORARY]: 'true' };
  return p;
}

function dbPods(count: number, shard: (i: number) => string): PodMeta[] {
  return Array.from({ length: count }, (_, i) => ({ namespace: 'payments', name: `db-${i}`, labels: { app: 'db', shard: shard(i), n: String(i) } }));
}

function cluster(pods: PodMeta[], policies: V1NetworkPolicy[], namespaces: Record<string, Record<string, string>> = { payments: {}, shop: {} }): MemoryClusterView {
  return new MemoryClusterView({ namespaces, pods, policies: [DEFAULT_DENY, ...policies] });
}

const shard = (s: string): WireSpec => ({ podSelector: { matchLabels: { app: 'db', shard: s } }, ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [PG] }] });
const SHARDS = dbPods(200, (i) => `s${Math.floor(i / 50)}`);

function blast(evaluation: ReturnType<typeof evaluate>, id: 'blast-radius-targets' | 'blast-radius-peers'): string[] {
  return evaluation.findings.filter((f) => f.ruleId === id).map((f) => f.reason);
}

describe('blast-radius-targets across grants', () => {
  const live = [grant('g0', shard('s0'), 'alice', 'INC-1'), grant('g1', shard('s1'), 'alice', 'INC-2'), grant('g2', shard('s2'), 'alice', 'INC-3')];

  it('200 pods asked for as four grants of 50 by one requester: the fourth is denied, naming the three others', () => {
    const fourth = grant('g3', shard('s3'), 'alice', 'INC-4');
    const evaluation = evaluate(fourth, { cluster: cluster(SHARDS, live) });
    assert.equal(evaluation.allowed, false);
    assert.deepEqual(blast(evaluation, 'blast-radius-targets'), [
      'selects 50 pods now; with 3 other live grant(s) of the same requester or ticket (g0: requester alice; g1: requester alice; g2: requester alice) in namespace payments that is 200 distinct pods, more than limits.maxTargetPods (50)',
    ]);
    assert.match(evaluation.findings.find((f) => f.ruleId === 'blast-radius-targets')!.hint, /revoke one you no longer need \(netpol-guard revoke NAME -n payments\)/);
    // The first one alone was fine.
    assert.deepEqual(ids(evaluate(live[0]!, { cluster: cluster(SHARDS, []) }).findings), []);
  });

  it('another requester under another ticket is judged alone', () => {
    const bobs = grant('b3', shard('s3'), 'bob', 'INC-9');
    assert.deepEqual(ids(evaluate(bobs, { cluster: cluster(SHARDS, live) }).findings), []);
  });

  it('another requester under the same ticket adds up with it', () => {
    const bobs = grant('b3', shard('s3'), 'bob', 'inc-1'); // tickets compare normalized
    assert.deepEqual(blast(evaluate(bobs, { cluster: cluster(SHARDS, live) }), 'blast-radius-targets'), [
      'selects 50 pods now; with 1 other live grant(s) of the same requester or ticket (g0: ticket INC-1) in namespace payments that is 100 distinct pods, more than limits.maxTargetPods (50)',
    ]);
  });

  it('counts distinct pods: grants over the same pods do not add up', () => {
    const same = [grant('g0', shard('s0'), 'alice', 'INC-1'), grant('g1', shard('s0'), 'alice', 'INC-2')];
    assert.deepEqual(ids(evaluate(grant('g2', shard('s0'), 'alice', 'INC-3'), { cluster: cluster(SHARDS, same) }).findings), []);
  });

  it('a permanent policy (not labelled temporary) and grants of other namespaces are not counted', () => {
    const others = [grant('g0', shard('s0'), 'alice', 'INC-1', { temporary: false }), grant('g1', shard('s1'), 'alice', 'INC-2', { namespace: 'shop' })];
    const shopPods = SHARDS.slice(50, 100).map((p) => ({ ...p, namespace: 'shop' }));
    assert.deepEqual(ids(evaluate(grant('g3', shard('s3'), 'alice', 'INC-4'), { cluster: cluster([...SHARDS, ...shopPods], others) }).findings), []);
  });

  it('an UPDATE of one of the grants replaces it in the count, it is not counted twice', () => {
    const widened = grant('g0', { ...shard('s0'), podSelector: { matchExpressions: [{ key: 'shard', operator: 'In', values: ['s0', 's3'] }] } }, 'alice', 'INC-1');
    const evaluation = evaluate(widened, { operation: 'UPDATE', oldPolicy: live[0], cluster: cluster(SHARDS, live) });
    assert.deepEqual(blast(evaluation, 'blast-radius-targets'), [
      'selects 100 pods now, more than limits.maxTargetPods (50)',
    ]);
    const narrowed = grant('g0', shard('s0'), 'alice', 'INC-1');
    const raised = config({ limits: { maxTargetPods: 150 } });
    assert.deepEqual(ids(evaluate(narrowed, { operation: 'UPDATE', oldPolicy: live[0], cluster: cluster(SHARDS, live), config: raised }).findings), []);
  });

  it('the limit of the profile applies to the whole: raised to 200, the fourth grant passes', () => {
    const fourth = grant('g3', shard('s3'), 'alice', 'INC-4');
    assert.deepEqual(ids(evaluate(fourth, { cluster: cluster(SHARDS, live), config: config({ limits: { maxTargetPods: 200 } }) }).findings), []);
  });
});

describe('blast-radius-peers across grants', () => {
  const web = Array.from({ length: 300 }, (_, i): PodMeta => ({ namespace: 'payments', name: `web-${i}`, labels: { app: 'web', w: String(i) } }));
  const db = dbPods(3, () => 's0');
  const fromWeb = (values: string[]): WireSpec => ({
    podSelector: { matchLabels: { app: 'db' } },
    ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'w', operator: 'In', values }] } }], ports: [PG] }],
  });
  const range = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => String(from + i));

  it('250 peer pods as 150 + 100: the second is denied naming the first', () => {
    const first = grant('w0', fromWeb(range(0, 150)), 'alice', 'INC-1');
    const second = grant('w1', fromWeb(range(150, 250)), 'alice', 'INC-2');
    assert.deepEqual(blast(evaluate(second, { cluster: cluster([...db, ...web], [first]) }), 'blast-radius-peers'), [
      'admits 100 peer pods now; with 1 other live grant(s) of the same requester or ticket (w0: requester alice) in namespace payments that is 250 distinct peer pods for ingress, more than limits.maxPeerPods (200)',
    ]);
  });

  it('peers of another direction do not count: an egress grant to 150 pods and an ingress grant from 100', () => {
    const egress = grant('w0', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Egress'], egress: [{ to: fromWeb(range(0, 150)).ingress![0]!.from, ports: [PG] }] }, 'alice', 'INC-1');
    const ingress = grant('w1', fromWeb(range(150, 250)), 'alice', 'INC-2');
    assert.deepEqual(blast(evaluate(ingress, { cluster: cluster([...db, ...web], [egress]) }), 'blast-radius-peers'), []);
  });

  it('namespaces in pieces: 6 + 6 team namespaces are 12, more than 10', () => {
    const namespaces: Record<string, Record<string, string>> = { payments: {} };
    const pods: PodMeta[] = [...db];
    for (let i = 0; i < 12; i++) {
      namespaces[`core-${i}`] = { team: 'core', part: i < 6 ? 'a' : 'b' };
      pods.push({ namespace: `core-${i}`, name: 'api-0', labels: { app: 'api' } });
    }
    const part = (p: string): WireSpec => ({ podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'core', part: p } }, podSelector: { matchLabels: { app: 'api' } } }], ports: [PG] }] });
    const first = grant('n0', part('a'), 'alice', 'INC-1');
    const second = grant('n1', part('b'), 'alice', 'INC-2');
    assert.deepEqual(blast(evaluate(second, { cluster: cluster(pods, [first], namespaces) }), 'blast-radius-peers'), [
      'admits pods of 6 namespaces now; with 1 other live grant(s) of the same requester or ticket (n0: requester alice) in namespace payments that is 12 distinct namespaces for ingress, more than limits.maxPeerNamespaces (10)',
    ]);
  });
});

describe('re-partitioning a denied set across grants of one requester stays denied (property)', () => {
  /** pods 0..n-1 split among k grants: grant j selects the pods assigned to it (n In [...]). */
  const partition = fc
    .record({ total: fc.integer({ min: 51, max: 120 }), parts: fc.integer({ min: 2, max: 6 }) })
    .chain(({ total, parts }) =>
      fc.record({
        total: fc.constant(total),
        parts: fc.constant(parts),
        assignment: fc.array(fc.integer({ min: 0, max: parts - 1 }), { minLength: total, maxLength: total }),
        tickets: fc.array(fc.constantFrom('INC-1', 'INC-2', 'INC-3', 'OPS-7'), { minLength: parts, maxLength: parts }),
        judged: fc.integer({ min: 0, max: parts - 1 }),
        overlap: fc.boolean(),
      }),
    );

  function pieces(assignment: number[], parts: number, overlap: boolean): string[][] {
    const out: string[][] = Array.from({ length: parts }, () => []);
    assignment.forEach((j, i) => {
      out[j]!.push(String(i));
      // Overlapping pieces (a pod in two grants) must not change the verdict either.
      if (overlap && i % 7 === 0) out[(j + 1) % parts]!.push(String(i));
    });
    return out;
  }

  it('targets: whichever piece comes last is denied, and the count is the union', () => {
    fc.assert(
      fc.property(partition, ({ total, parts, assignment, tickets, judged, overlap }) => {
        const pods = dbPods(total, () => 's0');
        // One grant with everything is denied...
        const whole = grant('whole', { ...shard('s0'), podSelector: { matchLabels: { app: 'db' } } }, 'alice', 'INC-1');
        assert.deepEqual(ids(evaluate(whole, { cluster: cluster(pods, []) }).findings), ['blast-radius-targets']);
        // ...and so is the last of its pieces, whatever the pieces and the order.
        const grants = pieces(assignment, parts, overlap).map((values, j) =>
          grant(`piece-${j}`, { ...shard('s0'), podSelector: { matchExpressions: [{ key: 'n', operator: 'In', values: values.length > 0 ? values : ['none'] }] } }, 'alice', tickets[j]!),
        );
        const last = grants[judged]!;
        const evaluation = evaluate(last, { cluster: cluster(pods, grants.filter((g) => g !== last)) });
        assert.equal(evaluation.allowed, false);
        const reasons = blast(evaluation, 'blast-radius-targets');
        assert.equal(reasons.length, 1);
        // The piece alone over the limit says so; else the whole is counted, and it is the union.
        const own = Number(/^selects (\d+) pods now/.exec(reasons[0]!)![1]);
        if (own <= 50) assert.match(reasons[0]!, new RegExp(`that is ${total} distinct pods, more than`));
      }),
      { numRuns: 60 },
    );
  });

  it('peers: whichever piece comes last is denied', () => {
    const peerPartition = fc
      .record({ total: fc.integer({ min: 201, max: 260 }), parts: fc.integer({ min: 2, max: 5 }) })
      .chain(({ total, parts }) =>
        fc.record({
          total: fc.constant(total),
          parts: fc.constant(parts),
          assignment: fc.array(fc.integer({ min: 0, max: parts - 1 }), { minLength: total, maxLength: total }),
          judged: fc.integer({ min: 0, max: parts - 1 }),
          // A piece may be one peer per pod, or a few peers per rule: the count is after union.
          peerPerPod: fc.boolean(),
        }),
      );
    fc.assert(
      fc.property(peerPartition, ({ total, parts, assignment, judged, peerPerPod }) => {
        const web = Array.from({ length: total }, (_, i): PodMeta => ({ namespace: 'payments', name: `web-${i}`, labels: { app: 'web', w: String(i) } }));
        const pods = [...dbPods(2, () => 's0'), ...web];
        const grants = pieces(assignment, parts, false).map((values, j) => {
          const peers: V1NetworkPolicyPeer[] = peerPerPod
            ? values.map((v) => ({ podSelector: { matchLabels: { app: 'web', w: v } } }))
            : [{ podSelector: { matchExpressions: [{ key: 'w', operator: 'In', values: values.length > 0 ? values : ['none'] }] } }];
          return grant(`piece-${j}`, { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: peers.length > 0 ? peers : [{ podSelector: { matchLabels: { w: 'none' } } }], ports: [PG] }] }, 'alice', `INC-${j + 1}`);
        });
        const last = grants[judged]!;
        const evaluation = evaluate(last, { cluster: cluster(pods, grants.filter((g) => g !== last)) });
        assert.equal(evaluation.allowed, false);
        assert.deepEqual(ids(evaluation.findings), ['blast-radius-peers']);
        const reason = blast(evaluation, 'blast-radius-peers')[0]!;
        const own = Number(/^admits (\d+) peer pods now/.exec(reason)![1]);
        if (own <= 200) assert.match(reason, new RegExp(`that is ${total} distinct peer pods for ingress, more than`));
      }),
      { numRuns: 40 },
    );
  });
});

describe('isolates-pods in pieces', () => {
  const pods = dbPods(5, () => 's0');
  const one = (n: string): WireSpec => ({ podSelector: { matchLabels: { app: 'db', n } }, ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [PG] }] });
  const noBaseline = (policies: V1NetworkPolicy[]) => new MemoryClusterView({ namespaces: { payments: {} }, pods, policies });

  it('one pod at a time: every grant isolates its own pod and is denied; pods a live grant already isolates are not named again', () => {
    const first = grant('p0', one('0'), 'alice', 'INC-1');
    assert.match(evaluate(first, { cluster: noBaseline([]) }).findings.find((f) => f.ruleId === 'isolates-pods')!.reason, /^newly isolates 1 pod\(s\) for ingress \(db-0\)/);
    // Had p0 been admitted (say by break-glass), the next piece still fires for its own pod.
    const both = grant('p1', { ...one('1'), podSelector: { matchExpressions: [{ key: 'n', operator: 'In', values: ['0', '1'] }] } }, 'alice', 'INC-1');
    assert.match(evaluate(both, { cluster: noBaseline([first]) }).findings.find((f) => f.ruleId === 'isolates-pods')!.reason, /^newly isolates 1 pod\(s\) for ingress \(db-1\)/);
  });

  it('a grant that selects nothing, then an UPDATE that points it at the pods: the UPDATE is judged against the others and denied', () => {
    const typo = grant('g', one('none'), 'alice', 'INC-1');
    assert.deepEqual(ids(evaluate(typo, { cluster: noBaseline([]) }).findings), ['target-selects-nothing']);
    const retargeted = grant('g', { ...one('x'), podSelector: { matchLabels: { app: 'db' } } }, 'alice', 'INC-1');
    const evaluation = evaluate(retargeted, { operation: 'UPDATE', oldPolicy: typo, cluster: noBaseline([typo]) });
    assert.equal(evaluation.allowed, false);
    assert.match(evaluation.findings.find((f) => f.ruleId === 'isolates-pods')!.reason, /^newly isolates 5 pod\(s\) for ingress/);
  });

  it('per direction: an egress grant first does not make an ingress grant quiet (isolation is per direction)', () => {
    const egress = grant('e', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [PG] }] }, 'alice', 'INC-1');
    const ingress = grant('i', { ...one('x'), podSelector: { matchLabels: { app: 'db' } } }, 'alice', 'INC-1');
    assert.match(evaluate(ingress, { cluster: noBaseline([egress]) }).findings.find((f) => f.ruleId === 'isolates-pods')!.reason, /^newly isolates 5 pod\(s\) for ingress/);
  });

  it('a deny-only policy first is not judged (it opens nothing), and the grant after it cuts nothing more, so it does not fire', () => {
    // Known and by design: the cut is the deny-only policy's, which netpol-guard leaves alone
    // (README: "What a grant opens"). The grant itself isolates nobody.
    const denyOnly = policy({ podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'] }, undefined, 'deny-db');
    const judged = evaluate(denyOnly, { cluster: noBaseline([]) });
    assert.equal(judged.disposition, 'no-access-granted');
    const after = grant('i', { ...one('x'), podSelector: { matchLabels: { app: 'db' } } }, 'alice', 'INC-1');
    assert.deepEqual(ids(evaluate(after, { cluster: noBaseline([denyOnly]) }).findings), []);
  });
});
