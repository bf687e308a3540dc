import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import fc from 'fast-check';
import { annotationKeys } from '../../../src/lifecycle/annotations.js';
import { CONFIG, grantPolicy, T0, UID } from './grantFixtures.js';
import {
  closeReason,
  GRANT_RECORD_API_VERSION,
  type GrantRecord,
  MAX_RECORDED_CHANGES,
  MAX_TEXT_LENGTH,
  POLICY_NAMESPACE_LABEL,
  recordChanged,
  recordClosed,
  recordName,
  recordOpened,
  shouldPrune,
  specSnapshot,
  SPEC_SNAPSHOT_LIMIT_BYTES,
  STATE_LABEL,
} from '../../../src/controller/grantRecord.js';

const at = (minutes: number): Date => new Date(T0.getTime() + minutes * 60_000);

function stamped(policy: V1NetworkPolicy, by: string, stampAt: string, extra: Record<string, string> = {}): V1NetworkPolicy {
  return {
    ...policy,
    metadata: {
      ...policy.metadata,
      annotations: { ...policy.metadata?.annotations, 'netpol-guard.io/changed-by': by, 'netpol-guard.io/changed-at': stampAt, ...extra },
    },
  };
}

function withExpiry(policy: V1NetworkPolicy, expiresAt: string): V1NetworkPolicy {
  return { ...policy, metadata: { ...policy.metadata, annotations: { ...policy.metadata?.annotations, 'netpol-guard.io/expires-at': expiresAt } } };
}

describe('recordName', () => {
  it('is the policy uid for a real (UUID) uid', () => {
    assert.equal(recordName(UID), UID);
  });

  it('hashes anything that is not a valid object name, deterministically', () => {
    for (const uid of ['UPPER-case', '../etc', '-leading', 'a'.repeat(64), '']) {
      const name = recordName(uid);
      assert.match(name, /^uid-[0-9a-f]{40}$/);
      assert.equal(recordName(uid), name);
    }
    assert.notEqual(recordName('x/1'), recordName('x/2'));
  });
});

describe('recordOpened', () => {
  it('records who, when, ticket, URL, expiry, access and the admitted spec', () => {
    const record = recordOpened(grantPolicy(), T0, CONFIG);
    assert.equal(record.apiVersion, GRANT_RECORD_API_VERSION);
    assert.equal(record.kind, 'GrantRecord');
    assert.equal(record.metadata.name, UID);
    assert.deepEqual(record.metadata.labels, { [POLICY_NAMESPACE_LABEL]: 'payments', [STATE_LABEL]: 'Open' });
    assert.deepEqual(record.spec.policy, { namespace: 'payments', name: 'db-debug', uid: UID });
    assert.equal(record.spec.ticket, 'INC-1234');
    assert.equal(record.spec.ticketUrl, 'https://tracker.example/browse/INC-1234');
    assert.equal(record.spec.requestedBy, 'alice@example.com');
    assert.equal(record.spec.openedAt, '2026-12-01T03:59:58Z', 'the granted-at stamp, not the observation');
    assert.equal(record.spec.observedAt, '2026-12-01T04:00:00Z');
    assert.equal(record.spec.openedLate, false);
    assert.equal(record.spec.initialExpiresAt, '2026-12-01T06:00:00Z');
    assert.equal(record.spec.admittedAccess, 'ingress to app=database from 198.51.100.0/24 on 5432/TCP');
    assert.equal(record.spec.admittedSpec.truncated, false);
    assert.deepEqual(JSON.parse(record.spec.admittedSpec.json), {
      ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ port: 5432, protocol: 'TCP' }] }],
      podSelector: { matchLabels: { app: 'database' } },
      policyTypes: ['Ingress'],
    });
    assert.deepEqual(record.status, {
      state: 'Open',
      expiresAt: '2026-12-01T06:00:00Z',
      access: record.spec.admittedAccess,
      specSha256: record.spec.admittedSpec.sha256,
      changes: [],
      omittedChanges: 0,
    });
  });

  it('marks a grant found without a record as opened late; without granted-at it opens when observed', () => {
    const bare = grantPolicy();
    delete bare.metadata!.annotations!['netpol-guard.io/granted-at'];
    delete bare.metadata!.annotations!['netpol-guard.io/ticket-url'];
    const record = recordOpened(bare, T0, CONFIG, { late: true });
    assert.equal(record.spec.openedLate, true);
    assert.equal(record.spec.openedAt, '2026-12-01T04:00:00Z');
    assert.equal('ticketUrl' in record.spec, false);
  });

  it('keeps an unparseable expires-at as text rather than dropping it', () => {
    const record = recordOpened(withExpiry(grantPolicy(), 'tomorrow'), T0, CONFIG);
    assert.equal(record.status.expiresAt, 'tomorrow');
  });

  it('reads the annotations under a configured prefix', () => {
    const policy = grantPolicy();
    const annotations = Object.fromEntries(Object.entries(policy.metadata!.annotations!).map(([k, v]) => [k.replace('netpol-guard.io/', 'acme.io/'), v]));
    policy.metadata!.annotations = annotations;
    const record = recordOpened(policy, T0, { keys: annotationKeys('acme.io') });
    assert.equal(record.spec.requestedBy, 'alice@example.com');
    assert.equal(recordOpened(policy, T0, CONFIG).spec.requestedBy, undefined);
  });

  it('refuses a policy without uid, naming the path', () => {
    const policy = grantPolicy();
    delete policy.metadata!.uid;
    assert.throws(() => recordOpened(policy, T0, CONFIG), /without metadata\.uid/);
  });

  it('clips free text: a 100 KiB requested-by or ticket cannot bloat the record', () => {
    const record = recordOpened(grantPolicy({ annotations: { 'netpol-guard.io/requested-by': 'x'.repeat(100_000), 'netpol-guard.io/ticket': '€'.repeat(5_000) } }), T0, CONFIG);
    assert.equal([...record.spec.requestedBy!].length, MAX_TEXT_LENGTH);
    assert.ok(record.spec.requestedBy!.endsWith('…'));
    assert.equal([...record.spec.ticket!].length, MAX_TEXT_LENGTH);
  });
});

describe('specSnapshot', () => {
  it('hashes the same spec the same whether written with from or _from, in any key order', () => {
    const typed = grantPolicy();
    const wire = { spec: { policyTypes: ['Ingress'], ingress: [{ ports: [{ protocol: 'TCP', port: 5432 }], from: [{ ipBlock: { cidr: '198.51.100.0/24' } }] }], podSelector: { matchLabels: { app: 'database' } } } };
    assert.equal(specSnapshot(typed).sha256, specSnapshot(wire as V1NetworkPolicy).sha256);
    assert.notEqual(specSnapshot(typed).sha256, specSnapshot(grantPolicy({ port: 5433 })).sha256);
  });

  it('cuts a big spec at 8 KiB and keeps the hash of the whole', () => {
    const policy = grantPolicy();
    policy.spec!.ingress![0]!._from = Array.from({ length: 2_000 }, (_, i) => ({ ipBlock: { cidr: `10.${i >> 8}.${i & 255}.0/24` } }));
    const snapshot = specSnapshot(policy);
    assert.equal(snapshot.truncated, true);
    assert.ok(snapshot.bytes > SPEC_SNAPSHOT_LIMIT_BYTES);
    assert.ok(Buffer.byteLength(snapshot.json) <= SPEC_SNAPSHOT_LIMIT_BYTES);
    assert.equal(snapshot.sha256, specSnapshot(policy, 1_000_000).sha256);
    const whole = specSnapshot(policy, 1_000_000);
    assert.equal(whole.truncated, false);
    assert.equal(createHash('sha256').update(whole.json).digest('hex'), snapshot.sha256);
    assert.ok(whole.json.startsWith(snapshot.json));
  });

  it('never stores half a character, whatever the text and limit (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.integer({ min: 1, max: 400 }), (label, limit) => {
        const policy: V1NetworkPolicy = { spec: { podSelector: { matchLabels: { app: label } } } };
        const snapshot = specSnapshot(policy, limit);
        const whole = specSnapshot(policy, 1_000_000);
        assert.ok(Buffer.byteLength(snapshot.json) <= limit);
        assert.ok(whole.json.startsWith(snapshot.json));
        assert.equal(snapshot.truncated, whole.bytes > limit);
        assert.equal(snapshot.sha256, whole.sha256);
      }),
    );
  });
});

describe('recordChanged', () => {
  const opened = (): GrantRecord => recordOpened(grantPolicy(), T0, CONFIG);

  it('records an extension with who and when from a fresh changed-by stamp', () => {
    const before = grantPolicy();
    const after = stamped(withExpiry(before, '2026-12-01T08:00:00Z'), 'bob@example.com', '2026-12-01T05:00:00Z');
    const record = recordChanged(opened(), before, after, at(60), CONFIG);
    assert.deepEqual(record.status.changes, [
      { observedAt: '2026-12-01T05:00:00Z', by: 'bob@example.com', stampedAt: '2026-12-01T05:00:00Z', field: 'expiry', from: '2026-12-01T06:00:00Z', to: '2026-12-01T08:00:00Z' },
    ]);
    assert.equal(record.status.expiresAt, '2026-12-01T08:00:00Z');
    assert.equal(record.spec.initialExpiresAt, '2026-12-01T06:00:00Z', 'what was first granted stays');
  });

  it('does not blame the previous editor: a stamp the update did not refresh is left out', () => {
    const first = stamped(grantPolicy(), 'bob@example.com', '2026-12-01T05:00:00Z');
    const second = withExpiry(first, '2026-12-01T09:00:00Z');
    const record = recordChanged(opened(), first, second, at(70), CONFIG);
    assert.equal(record.status.changes.length, 1);
    assert.equal(record.status.changes[0]!.by, undefined);
    assert.equal(record.status.changes[0]!.stampedAt, undefined);
    // Without the old policy (missed event), the last recorded stamp is the reference.
    const once = recordChanged(opened(), grantPolicy(), withExpiry(first, '2026-12-01T08:00:00Z'), at(60), CONFIG);
    const twice = recordChanged(once, undefined, second, at(70), CONFIG);
    assert.equal(twice.status.changes[1]!.by, undefined);
  });

  it('ignores a changed-by without a valid changed-at (an incomplete stamp is no stamp)', () => {
    const after = stamped(withExpiry(grantPolicy(), '2026-12-01T08:00:00Z'), 'mallory', 'yesterday');
    const record = recordChanged(opened(), grantPolicy(), after, at(60), CONFIG);
    assert.equal(record.status.changes[0]!.by, undefined);
  });

  it('records a spec change as old → new access with hashes and keeps the latest spec', () => {
    const after = stamped(grantPolicy({ cidr: '203.0.113.0/24' }), 'bob@example.com', '2026-12-01T05:00:00Z');
    const record = recordChanged(opened(), grantPolicy(), after, at(60), CONFIG);
    const [change] = record.status.changes;
    assert.equal(change?.field, 'spec');
    assert.equal(change?.from, 'ingress to app=database from 198.51.100.0/24 on 5432/TCP');
    assert.equal(change?.to, 'ingress to app=database from 203.0.113.0/24 on 5432/TCP');
    assert.equal(change?.fromSha256, record.spec.admittedSpec.sha256);
    assert.equal(change?.toSha256, record.status.specSha256);
    assert.equal(record.status.access, change?.to);
    assert.equal(record.status.latestSpec?.sha256, change?.toSha256);
    assert.equal(record.spec.admittedAccess, change?.from);
    // Back to the admitted spec: no separate latest snapshot needed.
    const back = recordChanged(record, after, grantPolicy(), at(61), CONFIG);
    assert.equal(back.status.latestSpec, undefined);
    assert.equal(back.status.changes.length, 2);
  });

  it('one update moving expiry and spec gives two changes with the same stamp', () => {
    const after = stamped(withExpiry(grantPolicy({ port: 6432 }), '2026-12-01T07:00:00Z'), 'bob', '2026-12-01T05:00:00Z');
    const record = recordChanged(opened(), grantPolicy(), after, at(60), CONFIG);
    assert.deepEqual(record.status.changes.map((c) => [c.field, c.by]), [['expiry', 'bob'], ['spec', 'bob']]);
  });

  it('records an expiry removed as "none"', () => {
    const after = grantPolicy();
    delete after.metadata!.annotations!['netpol-guard.io/expires-at'];
    const record = recordChanged(opened(), grantPolicy(), after, at(5), CONFIG);
    assert.equal(record.status.changes[0]!.to, 'none');
    assert.equal('expiresAt' in record.status, false);
  });

  it('returns the same record when nothing recordable moved (labels, other annotations, resourceVersion)', () => {
    const record = opened();
    const after = grantPolicy({ annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } });
    after.metadata!.resourceVersion = '999';
    after.metadata!.labels = { team: 'x' };
    assert.equal(recordChanged(record, grantPolicy(), after, at(1), CONFIG), record);
  });

  it('leaves a closed record alone and refuses a policy of another uid', () => {
    const closed = recordClosed(opened(), 'Revoked', at(10), 'alice');
    assert.equal(recordChanged(closed, grantPolicy(), withExpiry(grantPolicy(), '2027-01-01T00:00:00Z'), at(11), CONFIG), closed);
    assert.throws(() => recordChanged(opened(), undefined, grantPolicy({ uid: 'other' }), at(1), CONFIG), /does not belong/);
  });

  it('keeps only the latest changes and counts the rest: 500 edits cannot grow the record without bound', () => {
    let record = opened();
    let previous = grantPolicy();
    for (let i = 1; i <= 500; i++) {
      const next = stamped(withExpiry(grantPolicy({ annotations: { 'netpol-guard.io/changed-by': 'x'.repeat(10_000) } }), new Date(Date.UTC(2027, 0, 1) + i * 1_000).toISOString().replace('.000Z', 'Z')), 'y'.repeat(10_000), at(i).toISOString().replace('.000Z', 'Z'));
      record = recordChanged(record, previous, next, at(i), CONFIG);
      previous = next;
    }
    assert.equal(record.status.changes.length, MAX_RECORDED_CHANGES);
    assert.equal(record.status.omittedChanges, 500 - MAX_RECORDED_CHANGES);
    assert.equal(record.status.changes.at(-1)!.to, '2027-01-01T00:08:20Z');
    assert.ok(JSON.stringify(record).length < 200_000, `record is ${JSON.stringify(record).length} characters`);
  });
});

describe('closeReason', () => {
  it('deleted by the controller → Expired; revoked-by stamp → Revoked by that user; else Deleted', () => {
    const revoked = grantPolicy({ annotations: { 'netpol-guard.io/revoked-by': 'alice@example.com', 'netpol-guard.io/revoked-at': '2026-12-01T05:00:00Z' } });
    assert.deepEqual(closeReason(grantPolicy(), true, CONFIG), { how: 'Expired' });
    assert.deepEqual(closeReason(revoked, false, CONFIG), { how: 'Revoked', by: 'alice@example.com' });
    assert.deepEqual(closeReason(grantPolicy(), false, CONFIG), { how: 'Deleted' });
    assert.deepEqual(closeReason(undefined, false, CONFIG), { how: 'Deleted' });
  });

  it('a revoked-by without a valid revoked-at, or an empty one, is not a revocation', () => {
    const half = grantPolicy({ annotations: { 'netpol-guard.io/revoked-by': 'alice' } });
    const empty = grantPolicy({ annotations: { 'netpol-guard.io/revoked-by': ' ', 'netpol-guard.io/revoked-at': '2026-12-01T05:00:00Z' } });
    assert.deepEqual(closeReason(half, false, CONFIG), { how: 'Deleted' });
    assert.deepEqual(closeReason(empty, false, CONFIG), { how: 'Deleted' });
  });
});

describe('recordClosed', () => {
  const opened = (): GrantRecord => recordOpened(grantPolicy(), T0, CONFIG);

  it('Expired: closed at, by the controller, lag from expires-at, how long it was open', () => {
    const record = recordClosed(opened(), 'Expired', new Date('2026-12-01T06:00:01.250Z'), 'netpol-guard controller');
    assert.equal(record.status.state, 'Expired');
    assert.equal(record.metadata.labels?.[STATE_LABEL], 'Expired');
    assert.equal(record.status.closedAt, '2026-12-01T06:00:01Z');
    assert.equal(record.status.closedBy, 'netpol-guard controller');
    assert.equal(record.status.expiryLagSeconds, 1.25);
    assert.equal(record.status.openSeconds, 2 * 3600 + 3);
    assert.equal(record.status.duration, '2h3s');
    assert.equal(record.status.closedNote, undefined);
  });

  it('Revoked by who; without a name it says where to look', () => {
    assert.equal(recordClosed(opened(), 'Revoked', at(30), 'alice@example.com').status.closedBy, 'alice@example.com');
    const unnamed = recordClosed(opened(), 'Revoked', at(30));
    assert.equal(unnamed.status.closedBy, undefined);
    assert.match(unnamed.status.closedNote!, /audit log/);
    assert.equal(unnamed.status.expiryLagSeconds, undefined);
  });

  it('Deleted: who is unknown to a watcher, and the note points to the audit log for this uid', () => {
    const record = recordClosed(opened(), 'Deleted', at(30));
    assert.equal(record.status.state, 'Deleted');
    assert.equal(record.status.closedBy, undefined);
    assert.match(record.status.closedNote!, /cannot know by whom: see the API server audit log for the DELETE of networkpolicies\/db-debug in namespace payments \(uid 3f2c9a4e/);
  });

  it('DeletedNotObserved: closed when found gone, saying it was deleted earlier', () => {
    const record = recordClosed(opened(), 'DeletedNotObserved', at(600));
    assert.equal(record.status.state, 'DeletedNotObserved');
    assert.equal(record.metadata.labels?.[STATE_LABEL], 'DeletedNotObserved');
    assert.match(record.status.closedNote!, /^found gone at 2026-12-01T14:00:00Z while no leader watched/);
  });

  it('the first close wins', () => {
    const revoked = recordClosed(opened(), 'Revoked', at(30), 'alice');
    assert.equal(recordClosed(revoked, 'Deleted', at(31)), revoked);
    assert.equal(recordClosed(revoked, 'Expired', at(200)), revoked);
  });

  it('an expiry that was unparseable gives no lag rather than a wrong one', () => {
    const record = recordClosed(recordOpened(withExpiry(grantPolicy(), 'soon'), T0, CONFIG), 'Expired', at(5));
    assert.equal(record.status.expiryLagSeconds, undefined);
  });
});

describe('shouldPrune', () => {
  const day = 86_400_000;
  const closed = recordClosed(recordOpened(grantPolicy(), T0, CONFIG), 'Expired', T0);

  it('prunes a closed record once the retention has passed since it closed', () => {
    assert.equal(shouldPrune(closed, new Date(T0.getTime() + 90 * day - 1), 90 * day), false);
    assert.equal(shouldPrune(closed, new Date(T0.getTime() + 90 * day), 90 * day), true);
  });

  it('never prunes an open record, nor one whose closedAt cannot be read', () => {
    const open = recordOpened(grantPolicy(), T0, CONFIG);
    assert.equal(shouldPrune(open, new Date(T0.getTime() + 10_000 * day), day), false);
    const garbled: GrantRecord = { ...closed, status: { ...closed.status, closedAt: 'last week' } };
    assert.equal(shouldPrune(garbled, new Date(T0.getTime() + 10_000 * day), day), false);
  });

  it('refuses a retention that is not positive', () => {
    assert.throws(() => shouldPrune(closed, T0, 0), /retention must be positive/);
    assert.throws(() => shouldPrune(closed, T0, Number.NaN), /retention must be positive/);
  });
});
