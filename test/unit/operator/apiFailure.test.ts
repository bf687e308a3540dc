import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { describeFailure, statusBodyOf } from '../../../src/operator/apiFailure.js';

const SERVER = 'https://10.0.0.1:6443';
const CREATE = { verb: 'create' as const, resource: 'networkpolicies', namespace: 'payments', name: 'grant-x' };

function apiError(code: number, status: Record<string, unknown> | undefined, asText = true): ApiException<unknown> {
  const body = status === undefined ? undefined : asText ? JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, ...status }) : { kind: 'Status', code, ...status };
  return new ApiException(code, 'Unknown API Status Code!', body, {});
}

describe('describeFailure', () => {
  it('prints a webhook denial line by line as the Status message carried it', () => {
    const err = apiError(403, {
      reason: 'Forbidden',
      message:
        'admission webhook "validate.netpol-guard.io" denied the request: netpol-guard denied NetworkPolicy payments/grant-x: 2 problem(s)\n' +
        '[ipblock-too-wide] spec.ingress[0].from[0].ipBlock.cidr 10.0.0.0/20 is a /20, wider than the allowed IPv4 /28; use a prefix of /28 or longer that covers only the source\n' +
        '[ticket-missing] metadata.annotations["netpol-guard.io/ticket"] is missing; add it',
    });
    const report = describeFailure(err, CREATE, SERVER);
    assert.equal(report.kind, 'webhook-denied');
    assert.equal(report.exitCode, 1);
    assert.deepEqual(report.lines, [
      'denied by admission webhook "validate.netpol-guard.io":',
      '  netpol-guard denied NetworkPolicy payments/grant-x: 2 problem(s)',
      '  [ipblock-too-wide] spec.ingress[0].from[0].ipBlock.cidr 10.0.0.0/20 is a /20, wider than the allowed IPv4 /28; use a prefix of /28 or longer that covers only the source',
      '  [ticket-missing] metadata.annotations["netpol-guard.io/ticket"] is missing; add it',
    ]);
  });

  it('names the user, verb, resource and namespace of an RBAC refusal', () => {
    const err = apiError(403, {
      reason: 'Forbidden',
      message: 'networkpolicies.networking.k8s.io is forbidden: User "alice" cannot create resource "networkpolicies" in API group "networking.k8s.io" in the namespace "payments"',
      details: { group: 'networking.k8s.io', kind: 'networkpolicies' },
    });
    const report = describeFailure(err, CREATE, SERVER);
    assert.equal(report.kind, 'forbidden');
    assert.equal(report.exitCode, 1);
    assert.equal(report.lines[0], 'forbidden: user "alice" may not create networkpolicies.networking.k8s.io in namespace "payments"');
    assert.match(report.lines[1]!, /API server: networkpolicies.networking.k8s.io is forbidden/);
  });

  it('says "across all namespaces" for a cluster-scope RBAC refusal and falls back to the attempt', () => {
    const scoped = apiError(403, { message: 'networkpolicies.networking.k8s.io is forbidden: User "bob" cannot list resource "networkpolicies" in API group "networking.k8s.io" at the cluster scope' });
    assert.equal(
      describeFailure(scoped, { verb: 'list', resource: 'networkpolicies', namespace: undefined }, SERVER).lines[0],
      'forbidden: user "bob" may not list networkpolicies.networking.k8s.io across all namespaces',
    );
    const bare = apiError(403, undefined);
    assert.equal(describeFailure(bare, { verb: 'delete', resource: 'networkpolicies', namespace: 'x', name: 'y' }, SERVER).lines[0], 'forbidden: you may not delete networkpolicies in namespace "x"');
  });

  it('tells a webhook outage apart from a denial', () => {
    const err = apiError(500, {
      reason: 'InternalError',
      message: 'Internal error occurred: failed calling webhook "mutate.netpol-guard.io": failed to call webhook: Post "https://netpol-guard.netpol-guard.svc:443/mutate?timeout=2s": dial tcp 10.96.0.9:443: connect: connection refused',
    });
    const report = describeFailure(err, CREATE, SERVER);
    assert.equal(report.kind, 'webhook-unavailable');
    assert.equal(report.exitCode, 2);
    assert.match(report.lines[0]!, /could not call admission webhook "mutate.netpol-guard.io", so it refused to create networkpolicies\/grant-x in namespace "payments"/);
  });

  it('lists the causes of a validation error', () => {
    const err = apiError(422, {
      reason: 'Invalid',
      message: 'NetworkPolicy.networking.k8s.io "x" is invalid: spec.ingress[0].ports[0].endPort: Invalid value',
      details: { causes: [{ field: 'spec.ingress[0].ports[0].endPort', message: 'Invalid value: 10: must be greater than or equal to port' }] },
    });
    assert.deepEqual(describeFailure(err, CREATE, SERVER), {
      kind: 'invalid',
      exitCode: 1,
      lines: ['the API server rejected the object as invalid', '  spec.ingress[0].ports[0].endPort: Invalid value: 10: must be greater than or equal to port'],
    });
  });

  it('handles name clashes, conflicts, 401 and server errors', () => {
    const exists = describeFailure(apiError(409, { reason: 'AlreadyExists', message: 'networkpolicies.networking.k8s.io "grant-x" already exists' }), CREATE, SERVER);
    assert.equal(exists.kind, 'already-exists');
    assert.match(exists.lines[1]!, /choose another --name/);
    assert.equal(describeFailure(apiError(409, { reason: 'Conflict', message: 'the object has been modified' }), CREATE, SERVER).kind, 'conflict');
    const unauthorized = describeFailure(new ApiException(401, 'Unauthorized', undefined, {}), CREATE, SERVER);
    assert.deepEqual([unauthorized.kind, unauthorized.exitCode], ['unauthorized', 2]);
    assert.match(unauthorized.lines[0]!, /https:\/\/10.0.0.1:6443 did not accept your credentials/);
    const overloaded = describeFailure(apiError(503, { reason: 'ServiceUnavailable', message: 'etcd is down' }, false), CREATE, SERVER);
    assert.deepEqual([overloaded.kind, overloaded.exitCode], ['server-error', 2]);
    assert.match(overloaded.lines[0]!, /answered HTTP 503 ServiceUnavailable to create networkpolicies\/grant-x in namespace "payments": etcd is down/);
  });

  it('names the server and the underlying cause when nothing answered', () => {
    const refused = Object.assign(new Error('request to https://10.0.0.1:6443/apis/networking.k8s.io/v1/namespaces/payments/networkpolicies failed, reason: connect ECONNREFUSED 10.0.0.1:6443'), {
      name: 'FetchError',
      type: 'system',
      code: 'ECONNREFUSED',
    });
    const report = describeFailure(refused, CREATE, SERVER);
    assert.deepEqual([report.kind, report.exitCode], ['unreachable', 2]);
    assert.equal(report.lines[0], 'cannot reach the Kubernetes API server at https://10.0.0.1:6443 to create networkpolicies/grant-x in namespace "payments": connect ECONNREFUSED 10.0.0.1:6443');
    const timeout = describeFailure(Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' }), CREATE, SERVER);
    assert.match(timeout.lines[0]!, /no answer before the request deadline/);
    const tls = describeFailure(Object.assign(new Error('request to x failed, reason: self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), CREATE, SERVER);
    assert.match(tls.lines[0]!, /DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate$/);
  });
});

describe('statusBodyOf', () => {
  it('reads Status bodies given as text or objects and ignores anything else', () => {
    assert.deepEqual(statusBodyOf({ body: '{"kind":"Status","message":"m","reason":"r","code":404}' }), { message: 'm', reason: 'r', code: 404 });
    assert.deepEqual(statusBodyOf({ body: { message: 'm' } }), { message: 'm' });
    assert.equal(statusBodyOf({ body: 'not json' }), undefined);
    assert.equal(statusBodyOf({ body: '{"kind":"NetworkPolicy"}' }), undefined);
    assert.equal(statusBodyOf(null), undefined);
  });
});
