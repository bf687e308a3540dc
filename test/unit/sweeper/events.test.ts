import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildExpiredEvent, buildInvalidExpiryEvent, eventName } from '../../../src/sweeper/events.js';

const ref = { namespace: 'team-a', name: 'db-access', uid: 'uid-1', resourceVersion: '42' };
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

describe('sweeper Events', () => {
  it('names are deterministic per fact and differ between facts', () => {
    assert.equal(eventName('db', 'uid-1', 'Expired'), eventName('db', 'uid-1', 'Expired'));
    assert.notEqual(eventName('db', 'uid-1', 'Expired'), eventName('db', 'uid-2', 'Expired'));
    assert.notEqual(eventName('db', 'uid-1', '1', 'InvalidExpiry'), eventName('db', 'uid-1', '2', 'InvalidExpiry'));
  });

  it('names stay valid DNS subdomains of at most 253 characters for the longest policy names', () => {
    const long = `${'a'.repeat(62)}.${'b'.repeat(62)}.${'c'.repeat(62)}.${'d'.repeat(63)}`;
    for (const name of [long, 'x', 'ends-with-dash-at-cut']) {
      const n = eventName(name, 'uid');
      assert.ok(n.length <= 253, `${n.length}`);
      assert.match(n, DNS_SUBDOMAIN);
    }
  });

  it('Expired is a Normal event on the deleted policy, by the sweeper', () => {
    const e = buildExpiredEvent(
      ref,
      { expiresAt: new Date('2030-01-01T10:00:00Z'), deletedAt: new Date('2030-01-01T10:00:01.600Z'), ticket: 'OPS-1', lagSeconds: 1.6 },
      'pod-1',
    );
    assert.equal(e.type, 'Normal');
    assert.equal(e.reason, 'Expired');
    assert.equal(e.metadata.namespace, 'team-a');
    assert.deepEqual({ ...e.involvedObject }, { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', ...ref });
    assert.equal(e.source?.component, 'netpol-guard-sweeper');
    assert.equal(e.reportingComponent, 'netpol-guard-sweeper');
    assert.equal(e.reportingInstance, 'pod-1');
    assert.equal(e.firstTimestamp?.toISOString(), '2030-01-01T10:00:01.000Z');
    assert.match(e.message!, /expired at 2030-01-01T10:00:00Z \(ticket OPS-1\).*1\.6s after expiry/);
  });

  it('InvalidExpiry is a Warning that says what to fix', () => {
    const e = buildInvalidExpiryEvent(ref, 'netpol-guard.io/expires-at: "soon" is not an RFC 3339 timestamp', new Date('2030-01-01T00:00:00Z'), 'pod-1');
    assert.equal(e.type, 'Warning');
    assert.equal(e.reason, 'InvalidExpiry');
    assert.match(e.message!, /"soon".*never be deleted automatically.*fix the expires-at annotation or remove the label/);
    assert.notEqual(e.metadata.name, buildExpiredEvent(ref, { expiresAt: new Date(0), deletedAt: new Date(0), ticket: undefined, lagSeconds: 0 }, 'p').metadata.name);
  });
});
