// `revoke` against the fake API server with netpol-guard's admission installed for UPDATEs (the
// real planMutation and evaluatePolicy, as the webhook runs them, with the caller as userInfo):
// the stamp UPDATE, the delete with that UPDATE's preconditions, and the conflict and gone paths.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import jsonpatch from 'fast-json-patch';
import { revokeCommand } from '../../../src/cli/revoke.js';
import { defaultConfig } from '../../../src/config/load.js';
import { planMutation } from '../../../src/lifecycle/mutation.js';
import { evaluatePolicy } from '../../../src/policy/evaluate.js';
import { FakeApiServer, type FakeUpdateAdmission, grantPolicy } from '../../helpers/fakeApiServer.js';
import { captureIo, kubeconfigFile, NOW, statusBody } from '../operator/support.js';

const HOUR = 3_600_000;
const STAMPED_AT = '2026-03-01T02:14:00Z';
const config = defaultConfig();

/** The webhook pair for UPDATEs, as `username` (what the API server would put in userInfo). */
function webhook(username: string): FakeUpdateAdmission {
  return ({ object, oldObject }) => {
    const namespace = oldObject.metadata!.namespace!;
    const plan = planMutation({ operation: 'UPDATE', policy: object, oldPolicy: oldObject, namespace, username, config, now: NOW });
    const mutated = jsonpatch.applyPatch(structuredClone(object), plan.patch as jsonpatch.Operation[], true, false).newDocument as V1NetworkPolicy;
    const verdict = evaluatePolicy({ operation: 'UPDATE', policy: mutated, oldPolicy: oldObject, namespace, user: { username, groups: [] }, config, now: NOW });
    if (verdict.allowed) return { allowed: true, object: mutated };
    return { allowed: false, status: 403, message: `admission webhook "validate.netpol-guard.io" denied the request: ${verdict.message ?? ''}` };
  };
}

describe('revoke with the netpol-guard webhook in the API server', () => {
  let fake: FakeApiServer;
  let kubeconfig: string;
  const revoke = (io = captureIo()) => revokeCommand.run(['g', '-n', 'payments', '--kubeconfig', kubeconfig], io);

  before(async () => {
    fake = await FakeApiServer.start();
    kubeconfig = kubeconfigFile(fake);
  });
  after(async () => {
    await fake.stop();
  });
  beforeEach(() => {
    fake.reset();
    fake.setUpdateAdmission(webhook('alice'));
  });

  /** The stored object just before the delete arrives, i.e. what the recorder's watch sees last. */
  const lastSeenBeforeDelete = (): { policy?: V1NetworkPolicy } => {
    const seen: { policy?: V1NetworkPolicy } = {};
    fake.beforeNext('delete', () => {
      const p = fake.getPolicy('payments', 'g');
      if (p !== undefined) seen.policy = p;
    });
    return seen;
  };

  it('sends the stamp UPDATE first, then deletes with the uid and resourceVersion of its response', async () => {
    const stored = fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'g', expiresAt: new Date(NOW.getTime() + HOUR), ticket: 'INC-1', requestedBy: 'bob' }));
    const seen = lastSeenBeforeDelete();
    const io = captureIo();
    assert.equal(await revoke(io), 0, io.err);
    assert.equal(io.err, '', 'stamped: no warning');
    const routes = fake.requests.map((r) => `${r.route} ${r.status}`);
    assert.deepEqual(routes, ['get 200', 'patch 200', 'delete 200']);
    const patched = fake.requestsFor('patch')[0]!;
    assert.equal((patched.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion, stored.metadata!.resourceVersion);
    const annotations = seen.policy?.metadata?.annotations ?? {};
    assert.equal(annotations['netpol-guard.io/revoked-by'], 'alice', 'the caller, from userInfo, not the "requested" the client sent');
    assert.equal(annotations['netpol-guard.io/revoked-at'], STAMPED_AT);
    assert.equal(annotations['netpol-guard.io/requested-by'], 'bob', 'the requester is untouched');
    assert.equal(annotations['netpol-guard.io/changed-by'], undefined, 'a revocation is no change of expiry or spec');
    const pre = (fake.requestsFor('delete')[0]!.body as { preconditions: { uid: string; resourceVersion: string } }).preconditions;
    assert.deepEqual(pre, { uid: stored.metadata!.uid, resourceVersion: seen.policy!.metadata!.resourceVersion });
    assert.notEqual(pre.resourceVersion, stored.metadata!.resourceVersion);
    assert.match(io.out, /\n {2}by: {7}alice \(stamped 2026-03-01T02:14:00Z\)\n$/);
    assert.equal(fake.hasPolicy('payments', 'g'), false);
  });

  it('revokes a grant already past its expiry: the validator admits the revocation-only UPDATE', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'g', expiresAt: new Date(NOW.getTime() - HOUR), ticket: 'INC-1', requestedBy: 'bob' }));
    // The same validator refuses any other UPDATE of that grant (its expiry is in the past).
    const edited = fake.getPolicy('payments', 'g')!;
    edited.metadata!.annotations!['netpol-guard.io/ticket'] = 'INC-2';
    const judged = webhook('alice')({ object: edited, oldObject: fake.getPolicy('payments', 'g')! });
    assert.equal(judged.allowed, false);
    assert.match(judged.allowed ? '' : judged.message, /\[expiry-in-past\]/);

    const seen = lastSeenBeforeDelete();
    const io = captureIo();
    assert.equal(await revoke(io), 0, io.err);
    assert.equal(io.err, '');
    assert.equal(seen.policy?.metadata?.annotations?.['netpol-guard.io/revoked-by'], 'alice');
    assert.equal(fake.hasPolicy('payments', 'g'), false);
  });

  it('replaces a forged revoked-by/revoked-at already on the object with the caller and now', async () => {
    // putPolicy bypasses admission: as if written while the webhook was not installed.
    fake.putPolicy(
      grantPolicy({
        namespace: 'payments',
        name: 'g',
        expiresAt: new Date(NOW.getTime() + HOUR),
        annotations: { 'netpol-guard.io/revoked-by': 'the-ceo', 'netpol-guard.io/revoked-at': '2020-01-01T00:00:00Z' },
      }),
    );
    fake.setUpdateAdmission(webhook('mallory'));
    const seen = lastSeenBeforeDelete();
    const io = captureIo();
    assert.equal(await revoke(io), 0, io.err);
    assert.equal(seen.policy?.metadata?.annotations?.['netpol-guard.io/revoked-by'], 'mallory');
    assert.equal(seen.policy?.metadata?.annotations?.['netpol-guard.io/revoked-at'], STAMPED_AT);
  });

  it('a conflict on the stamp UPDATE re-reads and starts over; the delete uses the second UPDATE', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'g', expiresAt: new Date(NOW.getTime() + HOUR) }));
    fake.beforeNext('patch', () => {
      const current = fake.getPolicy('payments', 'g')!;
      current.metadata!.annotations!['netpol-guard.io/ticket'] = 'INC-7';
      fake.putPolicy(current);
    });
    const seen = lastSeenBeforeDelete();
    const io = captureIo();
    assert.equal(await revoke(io), 0, io.err);
    assert.deepEqual(fake.requests.map((r) => `${r.route} ${r.status}`), ['get 200', 'patch 409', 'get 200', 'patch 200', 'delete 200']);
    const pre = (fake.requestsFor('delete')[0]!.body as { preconditions: { resourceVersion: string } }).preconditions;
    assert.equal(pre.resourceVersion, seen.policy!.metadata!.resourceVersion);
    assert.match(io.out, /\n {2}ticket: {3}INC-7\n/);
  });

  it('a change between the UPDATE and the delete fails the precondition: it updates and deletes again', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'g', expiresAt: new Date(NOW.getTime() + HOUR) }));
    fake.beforeNext('delete', () => {
      const current = fake.getPolicy('payments', 'g')!;
      current.metadata!.annotations!['netpol-guard.io/expires-at'] = '2026-03-01T05:00:00Z';
      fake.putPolicy(current);
    });
    const io = captureIo();
    assert.equal(await revoke(io), 0, io.err);
    assert.deepEqual(fake.requests.map((r) => `${r.route} ${r.status}`), ['get 200', 'patch 200', 'delete 409', 'get 200', 'patch 200', 'delete 200']);
    assert.match(io.out, /was due: +2026-03-01T05:00:00Z/);
  });

  it('a grant deleted before the stamp UPDATE is already gone; nothing is deleted', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'g', expiresAt: new Date(NOW.getTime() + HOUR) }));
    fake.beforeNext('patch', () => void fake.removePolicy('payments', 'g'));
    const io = captureIo();
    assert.equal(await revoke(io), 0, io.err);
    assert.equal(io.out, 'payments/g is already gone (revoked or swept); nothing to do\n');
    assert.equal(fake.requestsFor('delete').length, 0);
  });

  it('a grant re-created under the same name between read and UPDATE is not touched by the old UPDATE', async () => {
    const first = fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'g', expiresAt: new Date(NOW.getTime() + HOUR) }));
    fake.beforeNext('patch', () => {
      fake.removePolicy('payments', 'g');
      fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'g', expiresAt: new Date(NOW.getTime() + 2 * HOUR), ticket: 'NEW-1' }));
    });
    const io = captureIo();
    assert.equal(await revoke(io), 0, io.err);
    const [stale, fresh] = fake.requestsFor('patch');
    assert.equal(stale!.status, 409);
    assert.equal((stale!.body as { metadata: { uid: string } }).metadata.uid, first.metadata!.uid);
    assert.notEqual((fresh!.body as { metadata: { uid: string } }).metadata.uid, first.metadata!.uid, 'the second attempt revokes what it read');
    assert.match(io.out, /ticket: {3}NEW-1/);
  });

  it('a refused stamp UPDATE (RBAC or webhook) still deletes, with the read preconditions and a warning', async () => {
    const stored = fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'g', expiresAt: new Date(NOW.getTime() + HOUR) }));
    fake.failNext('patch', {
      status: 403,
      body: statusBody(403, 'Forbidden', 'networkpolicies.networking.k8s.io "g" is forbidden: User "erin" cannot patch resource "networkpolicies" in API group "networking.k8s.io" in the namespace "payments"'),
    });
    const io = captureIo();
    assert.equal(await revoke(io), 0, io.err);
    assert.match(io.err, /^netpol-guard revoke: warning: the revocation of payments\/g could not be stamped \(forbidden: .*\); deleting anyway\. Its history record will say Deleted/);
    const pre = (fake.requestsFor('delete')[0]!.body as { preconditions: unknown }).preconditions;
    assert.deepEqual(pre, { uid: stored.metadata!.uid, resourceVersion: stored.metadata!.resourceVersion });
    assert.equal(fake.hasPolicy('payments', 'g'), false);
    assert.doesNotMatch(io.out, /\n {2}by:/);
  });

  it('gives up after three conflicts without deleting', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'g', expiresAt: new Date(NOW.getTime() + HOUR) }));
    fake.failNext('patch', { status: 409, times: 3 });
    const io = captureIo();
    assert.equal(await revoke(io), 1);
    assert.match(io.err, /changed 3 times while revoking; nothing was deleted/);
    assert.equal(fake.requestsFor('delete').length, 0);
    assert.ok(fake.hasPolicy('payments', 'g'));
  });
});
