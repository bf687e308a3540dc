/**
 * The admission server over a real TLS socket on 127.0.0.1: endpoints, envelope errors, bypass
 * rules, the response shape, logs and metrics.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, beforeEach, describe, it } from 'node:test';
import tls from 'node:tls';
import type { AdmissionDecision, AdmissionRequest, AdmissionReview } from '../../src/admission/types.js';
import type { GuardConfig } from '../../src/config/types.js';
import type { Finding } from '../../src/policy/findings.js';
import type { TlsFileSource } from '../../src/tls/source.js';
import { admissionReview, decision, networkPolicy } from '../unit/server/support.js';
import {
  assertErrorBody,
  metricValue,
  openTls,
  startServer,
  testCertificates,
  type RunningServer,
  type TestCertificates,
} from './serverSupport.js';

const FIXED_NOW = new Date('2026-11-23T18:00:00Z');
const BODY_LIMIT = 256 * 1024;

/** Written by hand, as the API server would send it, so the test does not share the builders. */
const HAND_WRITTEN_REVIEW = `{
  "kind": "AdmissionReview",
  "apiVersion": "admission.k8s.io/v1",
  "request": {
    "uid": "c0ffee00-1234-4abc-9def-0123456789ab",
    "kind": {"group": "networking.k8s.io", "version": "v1", "kind": "NetworkPolicy"},
    "resource": {"group": "networking.k8s.io", "version": "v1", "resource": "networkpolicies"},
    "requestKind": {"group": "networking.k8s.io", "version": "v1", "kind": "NetworkPolicy"},
    "requestResource": {"group": "networking.k8s.io", "version": "v1", "resource": "networkpolicies"},
    "name": "db-access",
    "namespace": "payments",
    "operation": "CREATE",
    "userInfo": {"username": "alice@example.com", "uid": "1", "groups": ["developers", "system:authenticated"]},
    "object": {
      "apiVersion": "networking.k8s.io/v1",
      "kind": "NetworkPolicy",
      "metadata": {"name": "db-access", "namespace": "payments",
                   "annotations": {"netpol-guard.io/ttl": "2h", "netpol-guard.io/ticket": "SECRET-CANARY-42"}},
      "spec": {"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Egress"],
               "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "db"}}}], "ports": [{"protocol": "TCP", "port": 5432}]}]}
    },
    "oldObject": null,
    "dryRun": false,
    "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}
  }
}`;

const FINDING: Finding = {
  ruleId: 'port-any',
  path: 'spec.egress[0]',
  reason: 'opens every port',
  hint: 'list the ports',
  action: 'deny',
};

interface Call {
  endpoint: 'validate' | 'mutate';
  request: AdmissionRequest;
  config: GuardConfig;
  now: Date;
}

describe('admission server over TLS', () => {
  let certs: TestCertificates;
  let tlsSource: TlsFileSource;
  let running: RunningServer;
  const calls: Call[] = [];
  let validateAnswer: (request: AdmissionRequest) => AdmissionDecision | Promise<AdmissionDecision> = () => decision();
  let mutateAnswer: (request: AdmissionRequest) => AdmissionDecision = () => decision();

  before(async () => {
    certs = await testCertificates();
    tlsSource = openTls(certs);
    running = await startServer({
      caCert: certs.caCert,
      tls: tlsSource,
      now: () => FIXED_NOW,
      bodyLimit: BODY_LIMIT,
      handlers: {
        validate: (request, config, now) => {
          calls.push({ endpoint: 'validate', request, config, now });
          return validateAnswer(request);
        },
        mutate: (request, config, now) => {
          calls.push({ endpoint: 'mutate', request, config, now });
          return mutateAnswer(request);
        },
      },
    });
  });
  after(async () => {
    await running.close();
    tlsSource.close();
    certs.remove();
  });
  beforeEach(() => {
    calls.length = 0;
    validateAnswer = () => decision();
    mutateAnswer = () => decision();
  });

  const lastAudit = () => {
    const line = running.logs.filter((l) => l.msg === 'admission decision').at(-1);
    return line ?? assert.fail('no audit line');
  };
  const assertStillServing = async () => {
    const good = await running.post('/validate', admissionReview({ uid: 'after-bad-input' }));
    assert.equal(good.status, 200, good.text);
    assert.equal(good.json<AdmissionReview>().response?.uid, 'after-bad-input');
  };

  describe('health, readiness and metrics', () => {
    it('GET /healthz answers 200', async () => {
      const res = await running.request('/healthz');
      assert.equal(res.status, 200);
      assert.deepEqual(res.json(), { status: 'ok' });
    });

    it('GET /readyz answers 200 with config and certificate detail', async () => {
      const res = await running.request('/readyz');
      assert.equal(res.status, 200, res.text);
      const body = res.json<{ ready: boolean; shuttingDown: boolean; config: Record<string, unknown>; tls: Record<string, unknown> }>();
      assert.equal(body.ready, true);
      assert.equal(body.shuttingDown, false);
      assert.equal(body.config.source, 'embedded default');
      assert.equal(body.config.stale, false);
      assert.equal(body.tls.serialNumber, res.serialNumber, 'readyz names the certificate actually served');
      assert.equal(body.tls.stale, false);
      assert.ok(!res.text.includes('PRIVATE KEY'));
    });

    it('GET /metrics exports the webhook metrics in Prometheus text format', async () => {
      await running.post('/validate', admissionReview({ uid: 'metrics-allow' }));
      validateAnswer = () => decision({ allowed: false, message: 'no', findings: [FINDING, { ...FINDING, ruleId: 'peer-any', action: 'warn' }] });
      await running.post('/validate', admissionReview({ uid: 'metrics-deny' }));
      const res = await running.request('/metrics');
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      const text = res.text;
      const allowed = metricValue(text, 'netpol_guard_admission_requests_total', { endpoint: 'validate', operation: 'CREATE', verdict: 'allowed' });
      const denied = metricValue(text, 'netpol_guard_admission_requests_total', { endpoint: 'validate', operation: 'CREATE', verdict: 'denied' });
      assert.ok(allowed !== undefined && allowed >= 1, 'allowed counted');
      assert.ok(denied !== undefined && denied >= 1, 'denied counted');
      assert.ok((metricValue(text, 'netpol_guard_rule_violations_total', { rule: 'port-any', action: 'deny' }) ?? 0) >= 1);
      assert.ok((metricValue(text, 'netpol_guard_rule_violations_total', { rule: 'peer-any', action: 'warn' }) ?? 0) >= 1);
      assert.ok(metricValue(text, 'netpol_guard_admission_duration_seconds_bucket', { endpoint: 'validate', le: '0.0001' }) !== undefined, 'sub-millisecond bucket');
      assert.ok(metricValue(text, 'netpol_guard_admission_duration_seconds_bucket', { endpoint: 'validate', le: '1' }) !== undefined);
      assert.equal(metricValue(text, 'netpol_guard_config_reloads_total', { result: 'failure' }), 0);
      assert.equal(metricValue(text, 'netpol_guard_config_reloads_total', { result: 'success' }), 0);
      assert.equal(metricValue(text, 'netpol_guard_config_stale'), 0);
      assert.equal(metricValue(text, 'netpol_guard_tls_reloads_total', { result: 'success' }), 0);
      assert.equal(metricValue(text, 'netpol_guard_tls_certificate_not_after_seconds'), Math.floor(tlsSource.current().info.notAfter.getTime() / 1000));
      assert.ok(metricValue(text, 'process_cpu_user_seconds_total') !== undefined, 'Node default metrics');
      assert.ok(metricValue(text, 'nodejs_eventloop_lag_seconds') !== undefined);
    });
  });

  describe('admission', () => {
    it('answers a hand-written AdmissionReview with the same uid, calling the handler with config and clock', async () => {
      const res = await running.post('/validate', HAND_WRITTEN_REVIEW);
      assert.equal(res.status, 200, res.text);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.deepEqual(res.json(), {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: 'c0ffee00-1234-4abc-9def-0123456789ab', allowed: true },
      });
      assert.equal(calls.length, 1);
      const call = calls[0]!;
      assert.equal(call.endpoint, 'validate');
      assert.equal(call.request.uid, 'c0ffee00-1234-4abc-9def-0123456789ab');
      assert.equal(call.request.userInfo.username, 'alice@example.com');
      assert.equal(call.now.getTime(), FIXED_NOW.getTime());
      assert.equal(call.config.mode, 'enforce');
    });

    it('answers a denial with status 403 Forbidden and the message', async () => {
      validateAnswer = () => decision({ allowed: false, message: '[port-any] spec.egress[0] opens every port; list the ports', findings: [FINDING] });
      const res = await running.post('/validate', admissionReview({ uid: 'deny-1' }));
      assert.equal(res.status, 200, 'a denial is a successful webhook call');
      assert.deepEqual(res.json<AdmissionReview>().response, {
        uid: 'deny-1',
        allowed: false,
        status: { code: 403, reason: 'Forbidden', message: '[port-any] spec.egress[0] opens every port; list the ports' },
      });
      const audit = lastAudit();
      assert.equal(audit.verdict, 'denied');
      assert.deepEqual(audit.rules, ['port-any']);
    });

    it('sends a mutation as a base64 JSONPatch', async () => {
      const patch = [
        { op: 'add' as const, path: '/metadata/labels', value: { 'netpol-guard.io/temporary': 'true' } },
        { op: 'add' as const, path: '/metadata/annotations/netpol-guard.io~1expires-at', value: '2026-11-23T20:00:00Z' },
      ];
      mutateAnswer = () => decision({ patch, warnings: ['ttl defaulted to 2h'], auditAnnotations: { defaulted: 'ttl' } });
      const res = await running.post('/mutate', admissionReview({ uid: 'mutate-1' }));
      assert.equal(res.status, 200, res.text);
      const response = res.json<AdmissionReview>().response!;
      assert.equal(response.uid, 'mutate-1');
      assert.equal(response.allowed, true);
      assert.equal(response.patchType, 'JSONPatch');
      assert.deepEqual(JSON.parse(Buffer.from(response.patch!, 'base64').toString('utf8')), patch);
      assert.deepEqual(response.warnings, ['ttl defaulted to 2h']);
      assert.deepEqual(response.auditAnnotations, { defaulted: 'ttl' });
      assert.equal(calls[0]?.endpoint, 'mutate');
      assert.equal(lastAudit().patchOperations, 2);
    });

    it('omits the patch when the mutation is empty', async () => {
      const res = await running.post('/mutate', admissionReview({ uid: 'mutate-empty' }));
      assert.deepEqual(res.json<AdmissionReview>().response, { uid: 'mutate-empty', allowed: true });
    });

    it('allows other kinds untouched without calling a handler, and logs why', async () => {
      const configMap = admissionReview({
        uid: 'cm-1',
        kind: { group: '', version: 'v1', kind: 'ConfigMap' },
        resource: { group: '', version: 'v1', resource: 'configmaps' },
        object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'b' } },
      });
      validateAnswer = () => assert.fail('handler must not run');
      mutateAnswer = () => assert.fail('handler must not run');
      for (const endpoint of ['/validate', '/mutate']) {
        const res = await running.post(endpoint, configMap);
        assert.deepEqual(res.json<AdmissionReview>().response, { uid: 'cm-1', allowed: true });
        assert.equal(lastAudit().disposition, 'not-networkpolicy');
        assert.equal(lastAudit().resource, 'core/v1/ConfigMap');
      }
      assert.equal(calls.length, 0);
    });

    it('allows DELETE and CONNECT untouched without calling a handler', async () => {
      validateAnswer = () => assert.fail('handler must not run');
      for (const operation of ['DELETE', 'CONNECT']) {
        const res = await running.post('/validate', admissionReview({ uid: `op-${operation}`, operation, object: null, oldObject: networkPolicy() }));
        assert.deepEqual(res.json<AdmissionReview>().response, { uid: `op-${operation}`, allowed: true });
        assert.equal(lastAudit().disposition, 'operation-ignored');
        assert.equal(lastAudit().operation, operation);
      }
      assert.equal(calls.length, 0);
    });

    it('handles dryRun like any other request and records it in the audit line', async () => {
      const res = await running.post('/validate', admissionReview({ uid: 'dry-1', dryRun: true }));
      assert.equal(res.status, 200);
      assert.equal(calls[0]?.request.dryRun, true);
      assert.equal(lastAudit().dryRun, true);
    });

    it('writes one audit line per decision with who, what and the outcome, but never the object', async () => {
      validateAnswer = () =>
        decision({ disposition: 'evaluated', ticket: 'INC-77', expiresAt: '2026-11-23T20:00:00Z', findings: [{ ...FINDING, action: 'warn' }], warnings: ['w'] });
      const before = running.logs.length;
      await running.post('/validate', HAND_WRITTEN_REVIEW);
      const lines = running.logs.slice(before).filter((l) => l.msg === 'admission decision');
      assert.equal(lines.length, 1);
      const audit = lines[0]!;
      assert.equal(audit.uid, 'c0ffee00-1234-4abc-9def-0123456789ab');
      assert.equal(audit.endpoint, 'validate');
      assert.equal(audit.operation, 'CREATE');
      assert.equal(audit.namespace, 'payments');
      assert.equal(audit.name, 'db-access');
      assert.deepEqual(audit.user, { username: 'alice@example.com', groups: ['developers', 'system:authenticated'] });
      assert.equal(audit.dryRun, false);
      assert.equal(audit.verdict, 'allowed');
      assert.equal(audit.disposition, 'evaluated');
      assert.deepEqual(audit.rules, ['port-any']);
      assert.equal(audit.ticket, 'INC-77');
      assert.equal(audit.expiresAt, '2026-11-23T20:00:00Z');
      assert.equal(typeof audit.latencyMs, 'number');
      const logged = JSON.stringify(running.logs.slice(before));
      assert.ok(!logged.includes('SECRET-CANARY-42'), 'annotations of the object are not logged');
      assert.ok(!logged.includes('5432') && !logged.includes('podSelector'), 'the object is not logged');
    });

    it('answers 500 JSON without a stack when a handler throws, logs it, and keeps serving', async () => {
      validateAnswer = () => {
        throw new TypeError('handler bug: cannot read properties of undefined');
      };
      const res = await running.post('/validate', admissionReview({ uid: 'boom-1' }));
      const body = assertErrorBody(res, 500, 'internal-error');
      assert.ok(!body.error.includes('handler bug'), 'the internal message stays in the log');
      const audit = lastAudit();
      assert.equal(audit.verdict, 'error');
      assert.equal(audit.level, 50);
      assert.match(JSON.stringify(audit.err), /handler bug/);
      const metrics = await running.request('/metrics');
      assert.ok((metricValue(metrics.text, 'netpol_guard_admission_requests_total', { endpoint: 'validate', verdict: 'error' }) ?? 0) >= 1);
      validateAnswer = () => decision();
      await assertStillServing();
    });

    it('treats a malformed decision from a handler as an internal error too', async () => {
      validateAnswer = () => ({ allowed: true }) as unknown as AdmissionDecision;
      const res = await running.post('/validate', admissionReview({ uid: 'malformed-decision' }));
      assertErrorBody(res, 500, 'internal-error');
      assert.equal(lastAudit().verdict, 'error');
      validateAnswer = () => decision();
      await assertStillServing();
    });

    it('answers a handler whose promise rejects with the same 500, and one that resolves normally', async () => {
      validateAnswer = () => Promise.reject(new Error('async handler bug'));
      const failed = await running.post('/validate', admissionReview({ uid: 'async-reject' }));
      assertErrorBody(failed, 500, 'internal-error');
      assert.equal(lastAudit().uid, 'async-reject');
      assert.equal(lastAudit().verdict, 'error');
      validateAnswer = () => Promise.resolve(decision({ allowed: false, message: 'async denial' }));
      const denied = await running.post('/validate', admissionReview({ uid: 'async-deny' }));
      assert.equal(denied.status, 200);
      assert.equal(denied.json<AdmissionReview>().response?.allowed, false);
      assert.equal(lastAudit().uid, 'async-deny');
      assert.equal(lastAudit().verdict, 'denied');
      validateAnswer = () => decision();
      await assertStillServing();
    });
  });

  describe('bad input: a 4xx JSON error naming the problem, then business as usual', () => {
    const cases: Array<{ name: string; send: () => Promise<import('./serverSupport.js').Response>; status: number; reason: string; mentions: RegExp }> = [
      {
        name: 'body that is not JSON',
        send: () => running.post('/validate', '{"apiVersion": "admission.k8s.io/v1", '),
        status: 400,
        reason: 'invalid-json',
        mentions: /not valid JSON/,
      },
      { name: 'JSON that is not an AdmissionReview', send: () => running.post('/validate', [1, 2, 3]), status: 400, reason: 'not-admission-review', mentions: /array/ },
      {
        name: 'admission.k8s.io/v1beta1',
        send: () => running.post('/validate', { ...admissionReview(), apiVersion: 'admission.k8s.io/v1beta1' }),
        status: 400,
        reason: 'unsupported-api-version',
        mentions: /only admission\.k8s\.io\/v1 is supported/,
      },
      { name: 'missing request.uid', send: () => running.post('/mutate', admissionReview({ uid: undefined })), status: 400, reason: 'missing-uid', mentions: /request\.uid/ },
      {
        name: 'CREATE without request.object',
        send: () => running.post('/validate', admissionReview({ object: undefined })),
        status: 400,
        reason: 'missing-object',
        mentions: /request\.object: required on CREATE/,
      },
      {
        name: 'a string where the spec object belongs',
        send: () => running.post('/validate', admissionReview({ object: { ...networkPolicy(), spec: 'open' } })),
        status: 400,
        reason: 'invalid-object',
        mentions: /request\.object/,
      },
      {
        name: 'nulls in the peers array',
        send: () => {
          const policy = networkPolicy();
          (policy.spec as { ingress: Array<{ from: unknown[] }> }).ingress[0]!.from = [null, null];
          return running.post('/mutate', admissionReview({ object: policy }));
        },
        status: 400,
        reason: 'invalid-object',
        mentions: /request\.object/,
      },
      {
        name: 'a huge label map',
        send: () => {
          const labels = Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`l${i}`, 'v']));
          return running.post('/validate', admissionReview({ object: networkPolicy({ labels }) }));
        },
        status: 400,
        reason: 'invalid-object',
        mentions: /metadata[./]labels/,
      },
      {
        name: 'a body over the size limit',
        send: () => running.post('/validate', admissionReview({ object: networkPolicy({ annotations: { a: 'x'.repeat(BODY_LIMIT) } }) })),
        status: 413,
        reason: 'body-too-large',
        mentions: new RegExp(`limit of ${BODY_LIMIT} bytes`),
      },
      {
        name: 'content type text/plain',
        send: () => running.request('/validate', { method: 'POST', body: JSON.stringify(admissionReview()), headers: { 'content-type': 'text/plain' } }),
        status: 415,
        reason: 'unsupported-media-type',
        mentions: /text\/plain.*application\/json/,
      },
      {
        name: 'no content type',
        send: () => running.request('/validate', { method: 'POST', body: JSON.stringify(admissionReview()) }),
        status: 415,
        reason: 'unsupported-media-type',
        mentions: /\(none\)/,
      },
      {
        name: 'an empty JSON body',
        send: () => running.request('/validate', { method: 'POST', body: '', headers: { 'content-type': 'application/json' } }),
        status: 400,
        reason: 'empty-body',
        mentions: /empty/,
      },
      { name: 'GET on /validate', send: () => running.request('/validate'), status: 405, reason: 'method-not-allowed', mentions: /GET is not allowed on \/validate; use POST/ },
      { name: 'an unknown path', send: () => running.request('/validating'), status: 404, reason: 'not-found', mentions: /\/validating/ },
    ];

    for (const c of cases) {
      it(`${c.name} → ${c.status} ${c.reason}`, async () => {
        validateAnswer = () => decision();
        const res = await c.send();
        const body = assertErrorBody(res, c.status, c.reason);
        assert.match(body.error, c.mentions);
        assert.equal(calls.length, 0, 'no handler ran');
        await assertStillServing();
      });
    }

    it('sends Allow with a 405', async () => {
      const res = await running.request('/mutate', { method: 'PUT', body: '{}', headers: { 'content-type': 'application/json' } });
      assertErrorBody(res, 405, 'method-not-allowed');
      assert.equal(res.headers.allow, 'POST');
      const readyz = await running.request('/readyz', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      assertErrorBody(readyz, 405, 'method-not-allowed');
      assert.equal(readyz.headers.allow, 'GET, HEAD');
    });

    it('counts malformed admission requests by reason', async () => {
      await running.post('/mutate', { ...admissionReview(), apiVersion: 'admission.k8s.io/v1beta1' });
      await running.request('/mutate', { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });
      const text = (await running.request('/metrics')).text;
      assert.ok((metricValue(text, 'netpol_guard_admission_invalid_requests_total', { endpoint: 'mutate', reason: 'unsupported-api-version' }) ?? 0) >= 1);
      assert.ok((metricValue(text, 'netpol_guard_admission_invalid_requests_total', { endpoint: 'mutate', reason: 'unsupported-media-type' }) ?? 0) >= 1);
    });
  });

  describe('TLS', () => {
    it('verifies against the generated CA and is refused by a client that does not trust it', async () => {
      const trusted = await running.request('/healthz');
      assert.equal(trusted.status, 200);
      await assert.rejects(
        new Promise((resolve, reject) => {
          https.get({ host: '127.0.0.1', port: running.port, path: '/healthz', agent: false }, resolve).on('error', reject);
        }),
        (err: NodeJS.ErrnoException) => /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|unable to verify/i.test(`${err.code} ${err.message}`),
      );
    });

    it('refuses TLS 1.1', async () => {
      await assert.rejects(
        new Promise<void>((resolve, reject) => {
          const socket = tls.connect({ host: '127.0.0.1', port: running.port, ca: running.caCert, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }, () => {
            socket.end();
            resolve();
          });
          socket.on('error', reject);
        }),
      );
      const modern = await new Promise<string | null>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port: running.port, ca: running.caCert, servername: 'localhost' }, () => {
          resolve(socket.getProtocol());
          socket.end();
        });
        socket.on('error', reject);
      });
      assert.ok(modern === 'TLSv1.3' || modern === 'TLSv1.2', String(modern));
    });
  });
});
