/**
 * The revocation UPDATE through both handlers, as the API server chains them: /mutate stamps it,
 * /validate sees the stamped object. A revocation-only UPDATE is admitted whatever the grant has
 * become (expired, too wide for a tightened config); anything else in the same UPDATE is judged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import jsonpatch from 'fast-json-patch';
import { mutateHandler } from '../../../src/admission/mutate.js';
import type { AdmissionDecision, AdmissionRequest } from '../../../src/admission/types.js';
import { validateHandler } from '../../../src/admission/validate.js';
import type { GuardConfig } from '../../../src/config/types.js';
import { cidrPeer, config, egressPolicy, HOUR, NOW, TCP_5432 } from '../policy/support.js';

const REVOKED_BY = 'netpol-guard.io/revoked-by';
const REVOKED_AT = 'netpol-guard.io/revoked-at';
const STAMP_TIME = '2026-11-23T18:00:00Z';

/** A grant as the cluster stores it: stamped by the mutator when it was created, expired an hour ago. */
function storedGrant(cidr = '198.51.100.0/28'): V1NetworkPolicy {
  const p = egressPolicy([{ to: [cidrPeer(cidr)], ports: [TCP_5432] }], {
    'netpol-guard.io/ttl': '2h',
    'netpol-guard.io/ticket': 'INC-1234',
    'netpol-guard.io/granted-at': new Date(NOW.getTime() - 3 * HOUR).toISOString().replace('.000Z', 'Z'),
    'netpol-guard.io/expires-at': new Date(NOW.getTime() - HOUR).toISOString().replace('.000Z', 'Z'),
    'netpol-guard.io/requested-by': 'bob',
  });
  p.metadata = { ...p.metadata, uid: 'uid-1', resourceVersion: '41', generation: 1, labels: { 'netpol-guard.io/temporary': 'true' } };
  return p;
}

/** What `revoke` sends: the stored object with revoked-by set to the request value, revoked-at dropped. */
function revokeRequest(stored: V1NetworkPolicy): V1NetworkPolicy {
  const next = structuredClone(stored);
  next.metadata!.annotations![REVOKED_BY] = 'requested';
  delete next.metadata!.annotations![REVOKED_AT];
  return next;
}

function request(object: V1NetworkPolicy, oldObject: V1NetworkPolicy, username = 'alice'): AdmissionRequest {
  return {
    uid: 'u-1',
    kind: { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' },
    resource: { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' },
    namespace: 'payments',
    operation: 'UPDATE',
    userInfo: { username, groups: ['team-payments'] },
    object,
    oldObject,
  };
}

/** /mutate, the patch applied, then /validate on the result: the verdict and the object as stored. */
function admit(object: V1NetworkPolicy, oldObject: V1NetworkPolicy, cfg: GuardConfig = config(), username = 'alice'): { mutated: V1NetworkPolicy; verdict: AdmissionDecision } {
  const mutation = mutateHandler(request(object, oldObject, username), cfg, NOW);
  const mutated = jsonpatch.applyPatch(structuredClone(object), mutation.patch as jsonpatch.Operation[], true, false).newDocument as V1NetworkPolicy;
  return { mutated, verdict: validateHandler(request(mutated, oldObject, username), cfg, NOW) };
}

describe('the revocation UPDATE through /mutate and /validate', () => {
  it('admits the revoke-only UPDATE of an expired grant, stamped with the caller and now', () => {
    const stored = storedGrant();
    // The grant as it is would not pass any other UPDATE: its expiry is in the past.
    const touched = structuredClone(stored);
    touched.metadata!.annotations!['netpol-guard.io/ticket'] = 'INC-9999';
    const plain = admit(touched, stored);
    assert.equal(plain.verdict.allowed, false);
    assert.ok(plain.verdict.findings.some((f) => f.ruleId === 'expiry-in-past'));

    const { mutated, verdict } = admit(revokeRequest(stored), stored);
    assert.equal(verdict.allowed, true, verdict.message);
    assert.equal(verdict.disposition, 'revocation-only');
    assert.deepEqual(verdict.findings, []);
    assert.equal(mutated.metadata?.annotations?.[REVOKED_BY], 'alice');
    assert.equal(mutated.metadata?.annotations?.[REVOKED_AT], STAMP_TIME);
    // Nothing else was touched: no changed-by, the expiry and requester as stored.
    const { [REVOKED_BY]: _by, [REVOKED_AT]: _at, ...rest } = mutated.metadata!.annotations!;
    assert.deepEqual(rest, stored.metadata!.annotations);
  });

  it('admits it for a grant the config has since tightened against, and judges the same grant otherwise', () => {
    const tightened = config({ limits: { minIPv4PrefixLength: 30 } });
    const stored = storedGrant();
    stored.metadata!.annotations!['netpol-guard.io/expires-at'] = new Date(NOW.getTime() + HOUR).toISOString().replace('.000Z', 'Z');
    const revoked = admit(revokeRequest(stored), stored, tightened);
    assert.equal(revoked.verdict.allowed, true, revoked.verdict.message);
    const relabelled = structuredClone(stored);
    relabelled.metadata!.labels = { ...relabelled.metadata!.labels, team: 'payments' };
    const judged = admit(relabelled, stored, tightened);
    assert.equal(judged.verdict.allowed, false);
    assert.ok(judged.verdict.findings.some((f) => f.ruleId === 'ipblock-too-wide'), JSON.stringify(judged.verdict.findings));
  });

  it('judges a revocation that smuggles any other change, as usual', () => {
    const stored = storedGrant();
    const smuggle: Array<[string, (p: V1NetworkPolicy) => void]> = [
      ['a wider CIDR', (p) => void (p.spec!.egress![0]!.to = [cidrPeer('0.0.0.0/0')])],
      ['an extra rule', (p) => void p.spec!.egress!.push({ to: [cidrPeer('203.0.113.0/28')] })],
      ['a moved expiry (into the future: allowed, but judged and stamped changed-by)', (p) => void (p.metadata!.annotations!['netpol-guard.io/expires-at'] = '2026-11-23T19:00:00Z')],
      ['a new ttl', (p) => void (p.metadata!.annotations!['netpol-guard.io/ttl'] = '1h')],
      ['another label', (p) => void (p.metadata!.labels = { ...p.metadata!.labels, team: 'payments' })],
      ['another annotation', (p) => void (p.metadata!.annotations!['example.com/note'] = 'x')],
      ['a finalizer', (p) => void (p.metadata!.finalizers = ['example.com/hold'])],
    ];
    for (const [what, change] of smuggle) {
      const sent = revokeRequest(stored);
      change(sent);
      const { mutated, verdict } = admit(sent, stored);
      // Judged exactly as the same change without the revocation request.
      const plain = structuredClone(stored);
      change(plain);
      const usual = admit(plain, stored).verdict;
      assert.notEqual(verdict.disposition, 'revocation-only', what);
      assert.equal(verdict.allowed, usual.allowed, what);
      assert.deepEqual(verdict.findings.map((f) => f.ruleId), usual.findings.map((f) => f.ruleId), what);
      const movesExpiry = what === 'a new ttl' || what.startsWith('a moved expiry');
      if (movesExpiry) assert.equal(mutated.metadata?.annotations?.['netpol-guard.io/changed-by'], 'alice', what);
      else assert.equal(verdict.allowed, false, `${what}: admitted`);
      // The mutator still answers the revocation with the truth, never with the request value.
      assert.equal(mutated.metadata?.annotations?.[REVOKED_BY], 'alice', what);
    }
  });

  it('a dropped temporary label is put back by the mutator, so what is stored is still revocation-only', () => {
    const stored = storedGrant();
    const sent = revokeRequest(stored);
    sent.metadata!.labels = {};
    const { mutated, verdict } = admit(sent, stored);
    assert.deepEqual(mutated.metadata?.labels, stored.metadata?.labels);
    assert.equal(verdict.disposition, 'revocation-only');
  });

  it('a spec change the API server would not store (a null for an absent field) is no change', () => {
    const stored = storedGrant();
    const sent = revokeRequest(stored);
    (sent.spec as unknown as Record<string, unknown>)['ingress'] = null;
    const { verdict } = admit(sent, stored);
    assert.equal(verdict.disposition, 'revocation-only');
  });

  it('gives no free pass when the stamp names someone other than the caller (no mutator ran)', () => {
    const stored = storedGrant();
    const forged = structuredClone(stored);
    forged.metadata!.annotations![REVOKED_BY] = 'the-ceo';
    forged.metadata!.annotations![REVOKED_AT] = STAMP_TIME;
    const verdict = validateHandler(request(forged, stored), config(), NOW);
    assert.equal(verdict.allowed, false);
    assert.ok(verdict.findings.some((f) => f.ruleId === 'expiry-in-past'));
  });

  it('admits a same-second retry whose stamp equals the stored one', () => {
    const stored = storedGrant();
    const first = admit(revokeRequest(stored), stored).mutated;
    first.metadata!.resourceVersion = '42';
    const again = admit(revokeRequest(first), first);
    assert.equal(again.verdict.disposition, 'revocation-only');
    assert.equal(again.mutated.metadata?.annotations?.[REVOKED_AT], STAMP_TIME);
  });
});
