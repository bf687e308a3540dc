import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChecks, checkAccess, checkCaBundle, checkCertificateLifetime, checkConfig, checkEndpoints, checkLease, checkRegistration, checkSettings } from '../../../src/doctor/checks.js';
import { formatJson, formatText } from '../../../src/doctor/format.js';
import { exitCodeOf, type CheckResult, type DoctorFacts } from '../../../src/doctor/types.js';
import { NOW, healthyFacts } from './support.js';

const statuses = (results: CheckResult[]) => results.map((r) => `${r.status} ${r.id}`);
const problems = (results: CheckResult[]) => results.filter((r) => r.status !== 'ok');

function edit(change: (facts: DoctorFacts) => void): DoctorFacts {
  const facts = healthyFacts();
  change(facts);
  return facts;
}

describe('doctor checks', () => {
  it('a healthy installation as shipped passes every check, exit 0', () => {
    const results = runChecks(healthyFacts(), 'netpol-guard');
    assert.deepEqual(problems(results), []);
    assert.equal(results.length, 2 + 2 + 2 + 2 + 1 + 1 + 1 + 1);
    assert.equal(exitCodeOf(results), 0);
    assert.match(formatText(results), /^✓ registered mutate\.netpol-guard\.io: /m);
    assert.match(formatText(results), /all 12 checks passed\n$/);
  });

  it('a missing configuration is a problem; one that cannot be read is unknown (exit 2 alone)', () => {
    const missing = checkRegistration(edit((f) => (f.validating = { ok: false, notFound: true, error: 'HTTP 404' })));
    assert.deepEqual(statuses(missing), ['ok registered mutate.netpol-guard.io', 'problem registered validate.netpol-guard.io']);
    assert.match(missing[1]!.fix ?? '', /apply the manifests/);
    const forbidden = checkRegistration(edit((f) => (f.mutating = { ok: false, notFound: false, error: 'HTTP 403 Forbidden' })));
    assert.equal(forbidden[0]!.status, 'unknown');
    assert.equal(exitCodeOf(forbidden), 2);
    assert.equal(exitCodeOf([...forbidden, ...missing]), 1, 'a problem wins over an unknown');
  });

  it('names each setting that differs from the shipped one', () => {
    const results = checkSettings(
      edit((f) => {
        const validate = f.validating.ok ? f.validating.value.webhooks![0]! : assert.fail();
        validate.failurePolicy = 'Ignore';
        validate.timeoutSeconds = 10;
        validate.namespaceSelector = {};
        validate.rules![0]!.operations = ['CREATE', 'UPDATE', 'DELETE'];
      }),
    );
    assert.deepEqual(statuses(results), ['ok settings mutate.netpol-guard.io', 'problem settings validate.netpol-guard.io']);
    const detail = results[1]!.detail;
    assert.match(detail, /failurePolicy Ignore, shipped Fail/);
    assert.match(detail, /timeoutSeconds 10, shipped 3/);
    assert.match(detail, /namespaceSelector does not exclude kube-system and netpol-guard/);
    assert.match(detail, /DELETE is sent to the webhook/);
  });

  it('an UPDATE no longer sent to the webhook, or a selector excluding only kube-system, is a problem', () => {
    const results = checkSettings(
      edit((f) => {
        const mutate = f.mutating.ok ? f.mutating.value.webhooks![0]! : assert.fail();
        mutate.rules![0]!.operations = ['CREATE'];
        mutate.namespaceSelector!.matchExpressions![0]!.values = ['kube-system'];
      }),
    );
    assert.equal(results[0]!.status, 'problem');
    assert.match(results[0]!.detail, /UPDATE of networkpolicies is not sent/);
    assert.match(results[0]!.detail, /does not exclude kube-system and netpol-guard/);
  });

  it('a Service with no ready endpoint, or none at all, is a problem', () => {
    const none = checkEndpoints(edit((f) => (f.targets[0]!.endpoints = { ok: true, value: { serviceExists: true, ready: [], notReady: 2 } })));
    assert.equal(none[0]!.status, 'problem');
    assert.match(none[0]!.detail, /Service netpol-guard\/netpol-guard has no ready endpoint \(2 not ready\)/);
    const gone = checkEndpoints(edit((f) => (f.targets[1]!.endpoints = { ok: true, value: { serviceExists: false, ready: [], notReady: 0 } })));
    assert.equal(gone[1]!.status, 'problem');
    assert.match(gone[1]!.detail, /does not exist/);
  });

  it('a url webhook is good when it answers, unknown when it does not', () => {
    const facts = edit((f) => {
      for (const config of [f.mutating, f.validating]) if (config.ok) config.value.webhooks![0]!.clientConfig = { url: 'https://127.0.0.1:9443/x', caBundle: 'Y2E=' };
      f.targets[1]!.served = { ok: false, notFound: false, error: '127.0.0.1:9443: connect ECONNREFUSED' };
    });
    assert.deepEqual(statuses(checkEndpoints(facts)), ['ok endpoints mutate.netpol-guard.io', 'unknown endpoints validate.netpol-guard.io']);
  });

  it('a caBundle that does not verify the served certificate is a problem naming why', () => {
    const results = checkCaBundle(
      edit((f) => {
        if (f.targets[0]!.served.ok) Object.assign(f.targets[0]!.served.value, { chainVerified: false, chainError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
      }),
    );
    assert.deepEqual(statuses(results), ['problem caBundle mutate.netpol-guard.io', 'ok caBundle validate.netpol-guard.io']);
    assert.match(results[0]!.detail, /does not verify the certificate served at 10\.0\.0\.7:8443 \(UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
  });

  it('an expired served certificate fails the chain check for that reason, and says to renew rather than to change the caBundle', () => {
    const results = checkCaBundle(edit((f) => f.targets[0]!.served.ok && Object.assign(f.targets[0]!.served.value, { chainVerified: false, chainError: 'CERT_HAS_EXPIRED' })));
    assert.equal(results[0]!.status, 'problem');
    assert.match(results[0]!.detail, /outside its validity window \(CERT_HAS_EXPIRED\)/);
    assert.match(results[0]!.fix ?? '', /^renew it/);
  });

  it('a certificate for another name, an empty caBundle, or an unreachable webhook', () => {
    const wrongName = checkCaBundle(edit((f) => f.targets[0]!.served.ok && (f.targets[0]!.served.value.hostnameError = "Host: x. is not in the cert's altnames")));
    assert.equal(wrongName[0]!.status, 'problem');
    assert.match(wrongName[0]!.detail, /not for netpol-guard\.netpol-guard\.svc/);
    const empty = checkCaBundle(edit((f) => f.mutating.ok && (f.mutating.value.webhooks![0]!.clientConfig.caBundle = '')));
    assert.equal(empty[0]!.status, 'problem');
    assert.match(empty[0]!.detail, /caBundle is empty/);
    const unreachable = checkCaBundle(edit((f) => (f.targets[0]!.served = { ok: false, notFound: false, error: '10.0.0.7:8443: no TLS handshake within 5000 ms' })));
    assert.equal(unreachable[0]!.status, 'unknown');
    assert.match(unreachable[0]!.detail, /could not check the served certificate/);
  });

  it('certificate days left: expired and under 14 days are problems, the count is in whole days', () => {
    const at = (days: number) => checkCertificateLifetime(edit((f) => f.targets.forEach((t) => t.served.ok && (t.served.value.notAfter = new Date(NOW.getTime() + days * 86_400_000)))));
    assert.deepEqual(statuses(at(200)), ['ok certificate 10.0.0.7:8443'], 'one line for one certificate served to both webhooks');
    assert.match(at(200)[0]!.detail, /200 days left/);
    assert.equal(at(14.5)[0]!.status, 'ok');
    assert.equal(at(13.9)[0]!.status, 'problem');
    assert.match(at(13.9)[0]!.detail, /expires in 13 day\(s\)/);
    assert.match(at(-1)[0]!.detail, /expired at 2026-11-30T12:00:00\.000Z/);
  });

  it('the Lease: missing, without holder, or not renewed within its duration', () => {
    assert.equal(checkLease(healthyFacts()).status, 'ok');
    assert.match(checkLease(edit((f) => (f.lease = { ok: false, notFound: true, error: 'HTTP 404' }))).detail, /not found: no controller has ever led/);
    const noHolder = checkLease(edit((f) => f.lease.ok && (f.lease.value.spec!.holderIdentity = '')));
    assert.equal(noHolder.status, 'problem');
    const stale = checkLease(edit((f) => f.lease.ok && (f.lease.value.spec!.renewTime = new Date(NOW.getTime() - 16_000))));
    assert.equal(stale.status, 'problem');
    assert.match(stale.detail, /last renewed 16s ago \(lease 15s\)/);
    assert.equal(checkLease(edit((f) => f.lease.ok && (f.lease.value.spec!.renewTime = new Date(NOW.getTime() - 15_000)))).status, 'ok', 'exactly the duration is still held');
  });

  it('the config: the shipped one is valid; an invalid one is a problem naming the path', () => {
    assert.equal(checkConfig(healthyFacts()).status, 'ok');
    const invalid = checkConfig(edit((f) => f.configMap.ok && (f.configMap.value.data = { 'config.yaml': 'mode: enforce\nmaxTtl: forever\n' })));
    assert.equal(invalid.status, 'problem');
    assert.match(invalid.detail, /maxTtl/);
    const empty = checkConfig(edit((f) => f.configMap.ok && (f.configMap.value.data = { 'config.yaml': '' })));
    assert.equal(empty.status, 'problem');
    assert.match(empty.detail, /config file is empty/);
    assert.match(checkConfig(edit((f) => f.configMap.ok && (f.configMap.value.data = {}))).detail, /has no key config\.yaml/);
  });

  it('RBAC: a missing permission and one beyond the shipped are both named', () => {
    const results = checkAccess(
      edit((f) => {
        if (!f.access.ok) return;
        f.access.value.find((a) => a.what.startsWith('delete networking.k8s.io/networkpolicies'))!.allowed = false;
        f.access.value.find((a) => a.what.startsWith('get secrets'))!.allowed = true;
      }),
      'netpol-guard',
    );
    assert.equal(results.status, 'problem');
    assert.match(results.detail, /missing: delete networking\.k8s\.io\/networkpolicies \(all namespaces\)/);
    assert.match(results.detail, /more than shipped: get secrets \(namespace netpol-guard\)/);
  });

  it('-o json carries every check and the exit code', () => {
    const results = runChecks(edit((f) => (f.lease = { ok: false, notFound: true, error: 'HTTP 404' })), 'netpol-guard');
    const json = JSON.parse(formatJson(results, exitCodeOf(results))) as { exitCode: number; checks: CheckResult[] };
    assert.equal(json.exitCode, 1);
    assert.equal(json.checks.length, results.length);
    assert.equal(json.checks.find((c) => c.id === 'controller lease')?.status, 'problem');
  });
});
