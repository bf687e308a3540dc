import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import jsonpatch from 'fast-json-patch';
import {
  allowUntouched,
  decodeAdmissionReview,
  encodeAdmissionResponse,
  type DecodedReview,
  type ReviewErrorReason,
} from '../../../src/admission/review.js';
import type { JsonPatchOperation } from '../../../src/lifecycle/patch.js';
import type { Finding } from '../../../src/policy/findings.js';
import { admissionRequest, admissionReview, decision, networkPolicy } from '../server/support.js';

function expectError(result: DecodedReview, reason: ReviewErrorReason, mentions: RegExp): void {
  assert.equal(result.ok, false, 'expected the body to be rejected');
  if (result.ok) return;
  assert.equal(result.error.reason, reason, `reason; error was: ${result.error.error}`);
  assert.match(result.error.error, mentions);
  assert.ok(result.error.details.length >= 1);
  assert.ok(result.error.details.some((d) => mentions.test(d)), `a detail should match ${mentions}: ${result.error.details.join(' | ')}`);
}

function expectOk(result: DecodedReview): Extract<DecodedReview, { ok: true }> {
  if (!result.ok) assert.fail(`expected the body to be accepted, got ${result.error.reason}: ${result.error.details.join(' | ')}`);
  return result;
}

describe('decodeAdmissionReview: accepted bodies', () => {
  it('accepts a NetworkPolicy CREATE and hands the request through for evaluation', () => {
    const body = admissionReview();
    const result = expectOk(decodeAdmissionReview(body));
    assert.equal(result.bypass, undefined);
    assert.equal(result.request.uid, '705ab4f5-6393-11e8-b7cc-42010a800002');
    assert.equal(result.request, body.request, 'the request object is passed on, not copied');
  });

  it('accepts a NetworkPolicy UPDATE with both objects', () => {
    const result = expectOk(decodeAdmissionReview(admissionReview({ operation: 'UPDATE', oldObject: networkPolicy() })));
    assert.equal(result.bypass, undefined);
  });

  it('keeps dryRun: true as an ordinary request', () => {
    const result = expectOk(decodeAdmissionReview(admissionReview({ dryRun: true })));
    assert.equal(result.bypass, undefined);
    assert.equal(result.request.dryRun, true);
  });

  it('tolerates fields it does not know (a newer API server may add some)', () => {
    const body = admissionReview({ somethingNew: { nested: [1, 2] } });
    (body as Record<string, unknown>).extraTopLevel = true;
    expectOk(decodeAdmissionReview(body));
  });
});

describe('decodeAdmissionReview: requests that bypass the handlers', () => {
  it('marks other kinds not-networkpolicy without checking their object against the policy schema', () => {
    const body = admissionReview({
      kind: { group: '', version: 'v1', kind: 'ConfigMap' },
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      object: { apiVersion: 'v1', kind: 'ConfigMap', data: { spec: 'not a policy' }, spec: 'anything' },
    });
    assert.equal(expectOk(decodeAdmissionReview(body)).bypass, 'not-networkpolicy');
  });

  it('requires both kind and resource to name NetworkPolicy', () => {
    const wrongResource = admissionReview({ resource: { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses' } });
    assert.equal(expectOk(decodeAdmissionReview(wrongResource)).bypass, 'not-networkpolicy');
    const wrongVersion = admissionReview({ kind: { ...admissionRequest().kind as object, version: 'v1beta1' } });
    assert.equal(expectOk(decodeAdmissionReview(wrongVersion)).bypass, 'not-networkpolicy');
    const wrongGroup = admissionReview({ kind: { group: 'extensions', version: 'v1', kind: 'NetworkPolicy' } });
    assert.equal(expectOk(decodeAdmissionReview(wrongGroup)).bypass, 'not-networkpolicy');
  });

  it('treats a subresource write as not-networkpolicy', () => {
    assert.equal(expectOk(decodeAdmissionReview(admissionReview({ subResource: 'status' }))).bypass, 'not-networkpolicy');
  });

  it('marks DELETE and CONNECT operation-ignored, even with no object', () => {
    const del = admissionReview({ operation: 'DELETE', object: null, oldObject: networkPolicy() });
    assert.equal(expectOk(decodeAdmissionReview(del)).bypass, 'operation-ignored');
    const connect = admissionReview({ operation: 'CONNECT', object: undefined });
    assert.equal(expectOk(decodeAdmissionReview(connect)).bypass, 'operation-ignored');
  });
});

describe('decodeAdmissionReview: rejected bodies', () => {
  it('rejects an empty body', () => {
    for (const body of [undefined, null, '']) {
      expectError(decodeAdmissionReview(body), 'empty-body', /body is empty/);
    }
  });

  it('rejects JSON that is not an object', () => {
    expectError(decodeAdmissionReview([admissionReview()]), 'not-admission-review', /array/);
    expectError(decodeAdmissionReview('AdmissionReview'), 'not-admission-review', /string/);
    expectError(decodeAdmissionReview(42), 'not-admission-review', /number/);
  });

  it('rejects an object that is not an AdmissionReview', () => {
    expectError(decodeAdmissionReview({}), 'not-admission-review', /kind: expected "AdmissionReview"/);
    expectError(decodeAdmissionReview({ ...admissionReview(), kind: 'ConfigMap' }), 'not-admission-review', /"ConfigMap"/);
  });

  it('rejects admission.k8s.io/v1beta1, saying only v1 is supported', () => {
    const result = decodeAdmissionReview({ ...admissionReview(), apiVersion: 'admission.k8s.io/v1beta1' });
    expectError(result, 'unsupported-api-version', /only admission\.k8s\.io\/v1 is supported/);
    expectError(result, 'unsupported-api-version', /v1beta1/);
  });

  it('rejects any other or missing apiVersion', () => {
    expectError(decodeAdmissionReview({ ...admissionReview(), apiVersion: 'v1' }), 'unsupported-api-version', /got "v1"/);
    const { apiVersion: _dropped, ...noVersion } = admissionReview();
    expectError(decodeAdmissionReview(noVersion), 'unsupported-api-version', /only admission\.k8s\.io\/v1/);
  });

  it('rejects a missing or non-object request', () => {
    expectError(decodeAdmissionReview({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), 'missing-request', /request: required/);
    expectError(decodeAdmissionReview({ ...admissionReview(), request: 'x' }), 'missing-request', /request: must be an object/);
    expectError(decodeAdmissionReview({ ...admissionReview(), request: [] }), 'missing-request', /array/);
  });

  it('rejects a missing, empty or non-string uid', () => {
    expectError(decodeAdmissionReview(admissionReview({ uid: undefined })), 'missing-uid', /request\.uid: required field is missing/);
    expectError(decodeAdmissionReview(admissionReview({ uid: '' })), 'missing-uid', /request\.uid/);
    expectError(decodeAdmissionReview(admissionReview({ uid: 12 })), 'missing-uid', /request\.uid: must be string/);
    expectError(decodeAdmissionReview(admissionReview({ uid: 'u'.repeat(129) })), 'missing-uid', /request\.uid/);
  });

  it('rejects envelope fields of the wrong type, naming each', () => {
    expectError(decodeAdmissionReview(admissionReview({ operation: 'PATCH' })), 'invalid-request', /request\.operation: must be one of/);
    expectError(decodeAdmissionReview(admissionReview({ kind: 'NetworkPolicy' })), 'invalid-request', /request\.kind: must be object/);
    expectError(decodeAdmissionReview(admissionReview({ userInfo: undefined })), 'invalid-request', /request\.userInfo: required/);
    expectError(
      decodeAdmissionReview(admissionReview({ userInfo: { username: 'a', groups: ['ok', null] } })),
      'invalid-request',
      /request\.userInfo\.groups\[1\]: must be string/,
    );
    expectError(decodeAdmissionReview(admissionReview({ dryRun: 'yes' })), 'invalid-request', /request\.dryRun: must be boolean/);
    expectError(decodeAdmissionReview(admissionReview({ namespace: 'n'.repeat(64) })), 'invalid-request', /request\.namespace/);
  });

  it('reports every envelope problem, not just the first', () => {
    const result = decodeAdmissionReview(admissionReview({ operation: 'PATCH', dryRun: 1, name: 7 }));
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.details.length, 3, result.error.details.join(' | '));
    assert.match(result.error.error, /\(and 2 more\)/);
  });

  it('rejects CREATE and UPDATE without an object, for any kind', () => {
    expectError(decodeAdmissionReview(admissionReview({ object: undefined })), 'missing-object', /request\.object: required on CREATE/);
    expectError(decodeAdmissionReview(admissionReview({ operation: 'UPDATE', object: null, oldObject: networkPolicy() })), 'missing-object', /required on UPDATE/);
    const configMap = admissionReview({
      kind: { group: '', version: 'v1', kind: 'ConfigMap' },
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      object: undefined,
    });
    expectError(decodeAdmissionReview(configMap), 'missing-object', /request\.object/);
  });

  it('rejects an object that is not an object', () => {
    expectError(decodeAdmissionReview(admissionReview({ object: 'NetworkPolicy' })), 'missing-object', /request\.object: must be an object, got a string/);
    expectError(decodeAdmissionReview(admissionReview({ object: [networkPolicy()] })), 'missing-object', /an array/);
  });

  it('rejects a NetworkPolicy UPDATE without its old object', () => {
    expectError(decodeAdmissionReview(admissionReview({ operation: 'UPDATE', oldObject: null })), 'missing-object', /request\.oldObject: required on UPDATE/);
  });

  it('rejects a NetworkPolicy of the wrong shape, with the shape checker’s errors', () => {
    const stringSpec = { ...networkPolicy(), spec: 'allow everything' };
    expectError(decodeAdmissionReview(admissionReview({ object: stringSpec })), 'invalid-object', /^request\.object: /);
    const nullPeer = networkPolicy();
    (nullPeer.spec as { ingress: Array<{ from: unknown[] }> }).ingress[0]!.from.push(null);
    expectError(decodeAdmissionReview(admissionReview({ object: nullPeer })), 'invalid-object', /request\.object/);
  });

  it('checks the old object of an UPDATE too', () => {
    const broken = { ...networkPolicy(), spec: { podSelector: 'app=backend' } };
    expectError(decodeAdmissionReview(admissionReview({ operation: 'UPDATE', oldObject: broken })), 'invalid-object', /request\.oldObject/);
  });

  it('rejects huge label maps, in metadata and in selectors', () => {
    const labels = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`label-${i}`, 'x']));
    expectError(decodeAdmissionReview(admissionReview({ object: networkPolicy({ labels }) })), 'invalid-object', /metadata\.labels: has 300 entries; at most 256/);
    const policy = networkPolicy();
    (policy.spec as { ingress: Array<{ from: Array<Record<string, unknown>> }> }).ingress[0]!.from[0] = { namespaceSelector: { matchLabels: labels } };
    expectError(decodeAdmissionReview(admissionReview({ object: policy })), 'invalid-object', /spec\.ingress\[0\]\.from\[0\]\.namespaceSelector\.matchLabels: has 300 entries/);
  });

  it('enforces Kubernetes label key and value lengths', () => {
    const longValue = networkPolicy({ labels: { team: 'v'.repeat(64) } });
    expectError(decodeAdmissionReview(admissionReview({ object: longValue })), 'invalid-object', /value is 64 characters; a label value may have at most 63/);
    const longName = networkPolicy({ labels: { ['k'.repeat(64)]: 'v' } });
    expectError(decodeAdmissionReview(admissionReview({ object: longName })), 'invalid-object', /name part of 64 characters/);
    const longPrefix = networkPolicy({ labels: { [`${'p'.repeat(254)}/name`]: 'v' } });
    expectError(decodeAdmissionReview(admissionReview({ object: longPrefix })), 'invalid-object', /prefix of 254 characters/);
  });

  it('rejects annotations over 256 KiB in total, and over-long annotation keys', () => {
    const annotations = { 'example.com/a': 'a'.repeat(200 * 1024), 'example.com/b': 'b'.repeat(60 * 1024) };
    expectError(decodeAdmissionReview(admissionReview({ object: networkPolicy({ annotations }) })), 'invalid-object', /annotations: total size \d+ bytes exceeds 262144/);
    const longKey = networkPolicy({ annotations: { [`example.com/${'k'.repeat(70)}`]: 'v' } });
    expectError(decodeAdmissionReview(admissionReview({ object: longKey })), 'invalid-object', /annotations: key .* name part of 70 characters/);
    const justUnder = { 'example.com/a': 'a'.repeat(256 * 1024 - 100) };
    expectOk(decodeAdmissionReview(admissionReview({ object: networkPolicy({ annotations: justUnder }) })));
  });

  it('rejects bodies nested deeper than the limit, anywhere', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 500; i++) deep = [deep];
    expectError(decodeAdmissionReview(admissionReview({ options: deep })), 'too-deep', /deeper than 100 levels/);
    let deepObject: unknown = {};
    for (let i = 0; i < 200_000; i++) deepObject = { a: deepObject };
    expectError(decodeAdmissionReview(admissionReview({ object: deepObject })), 'too-deep', /deeper/);
  });

  it('caps the number and length of details', () => {
    const groups = Array.from({ length: 50 }, () => null);
    const result = decodeAdmissionReview(admissionReview({ userInfo: { groups } }));
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.details.length, 20);
    assert.match(result.error.error, /and 49 more/);
    const longKind = decodeAdmissionReview({ ...admissionReview(), kind: 'K'.repeat(10_000) });
    assert.ok(!longKind.ok && longKind.error.error.length < 200, 'an untrusted value is shortened in the message');
  });
});

describe('encodeAdmissionResponse', () => {
  const uid = 'b1b1e2f4-0000-4000-8000-000000000001';

  it('answers an allowed decision with only uid and allowed', () => {
    assert.deepEqual(encodeAdmissionResponse(uid, decision(), { includePatch: true }), {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid, allowed: true },
    });
  });

  it('answers a denial with status 403 Forbidden and the decision’s message', () => {
    const message = '[ipblock-all-addresses] spec.egress[0].to[0].ipBlock.cidr 0.0.0.0/0 opens every address; name a narrower CIDR';
    const review = encodeAdmissionResponse(uid, decision({ allowed: false, message }), { includePatch: false });
    assert.deepEqual(review.response, { uid, allowed: false, status: { code: 403, reason: 'Forbidden', message } });
  });

  it('never sends a denial without a message', () => {
    const review = encodeAdmissionResponse(uid, decision({ allowed: false, message: '  ' }), { includePatch: false });
    assert.equal(review.response?.status?.message, 'denied by netpol-guard');
  });

  it('includes warnings and audit annotations only when there are some', () => {
    const review = encodeAdmissionResponse(
      uid,
      decision({ warnings: ['[port-any] spec.ingress[0] opens every port; list ports'], auditAnnotations: { disposition: 'evaluated' } }),
      { includePatch: false },
    );
    assert.deepEqual(review.response?.warnings, ['[port-any] spec.ingress[0] opens every port; list ports']);
    assert.deepEqual(review.response?.auditAnnotations, { disposition: 'evaluated' });
    const plain = encodeAdmissionResponse(uid, decision({ warnings: [], auditAnnotations: {} }), { includePatch: false });
    assert.ok(!('warnings' in plain.response!) && !('auditAnnotations' in plain.response!));
  });

  it('sends a mutation as a base64 JSONPatch that applies to the object', () => {
    const patch: JsonPatchOperation[] = [
      { op: 'add', path: '/metadata/annotations', value: {} },
      { op: 'add', path: '/metadata/annotations/netpol-guard.io~1expires-at', value: '2026-11-23T20:00:00Z' },
      { op: 'add', path: '/metadata/labels', value: { 'netpol-guard.io/temporary': 'true' } },
    ];
    const review = encodeAdmissionResponse(uid, decision({ patch }), { includePatch: true });
    assert.equal(review.response?.patchType, 'JSONPatch');
    const encoded = review.response?.patch ?? assert.fail('patch missing');
    assert.match(encoded, /^[A-Za-z0-9+/]+={0,2}$/, 'standard base64');
    const decoded = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as JsonPatchOperation[];
    assert.deepEqual(decoded, patch);
    const patched = jsonpatch.applyPatch(networkPolicy(), decoded as jsonpatch.Operation[], true, false).newDocument as {
      metadata: { annotations: Record<string, string>; labels: Record<string, string> };
    };
    assert.equal(patched.metadata.annotations['netpol-guard.io/expires-at'], '2026-11-23T20:00:00Z');
    assert.equal(patched.metadata.labels['netpol-guard.io/temporary'], 'true');
  });

  it('omits patch and patchType for an empty patch, on /validate, and on a denial', () => {
    const patch: JsonPatchOperation[] = [{ op: 'remove', path: '/metadata/labels' }];
    for (const [d, includePatch] of [
      [decision({ patch: [] }), true],
      [decision({ patch }), false],
      [decision({ patch, allowed: false, message: 'no' }), true],
    ] as const) {
      const response = encodeAdmissionResponse(uid, d, { includePatch }).response!;
      assert.ok(!('patch' in response) && !('patchType' in response), JSON.stringify(response));
    }
  });

  it('copies rather than aliases the decision’s arrays and maps', () => {
    const d = decision({ warnings: ['w'], auditAnnotations: { a: 'b' } });
    const response = encodeAdmissionResponse(uid, d, { includePatch: false }).response!;
    d.warnings.push('later');
    d.auditAnnotations.c = 'd';
    assert.deepEqual(response.warnings, ['w']);
    assert.deepEqual(response.auditAnnotations, { a: 'b' });
  });
});

describe('allowUntouched', () => {
  it('allows with nothing attached and records why', () => {
    const findings: Finding[] = [];
    assert.deepEqual(allowUntouched('operation-ignored'), {
      allowed: true,
      warnings: [],
      auditAnnotations: {},
      patch: [],
      findings,
      disposition: 'operation-ignored',
    });
  });
});
