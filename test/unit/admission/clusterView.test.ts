/** /validate and /mutate with a cluster view: profile choice, stale views (deny and warn), GitOps warnings. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { mutateHandler } from '../../../src/admission/mutate.js';
import type { AdmissionRequest } from '../../../src/admission/types.js';
import { validateHandler } from '../../../src/admission/validate.js';
import { MemoryClusterView } from '../../../src/cluster/memoryView.js';
import type { LiveGrant } from '../../../src/cluster/view.js';
import { auditFields } from '../../../src/server/audit.js';
import { API_PODS, GOOD_GRANT, HOUR, NOW, TCP_5432, TTL, config, egressPolicy } from '../policy/support.js';

function request(object: V1NetworkPolicy, namespace = 'payments'): AdmissionRequest {
  object.metadata!.namespace = namespace;
  return {
    uid: 'u-1',
    kind: { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' },
    resource: { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' },
    namespace,
    operation: 'CREATE',
    userInfo: { username: 'dev@example.com', groups: [] },
    object,
  };
}

const narrow = (annotations: Record<string, string> = GOOD_GRANT): V1NetworkPolicy => egressPolicy([{ to: [API_PODS], ports: [TCP_5432] }], annotations);
const live = (name: string): LiveGrant => ({ namespace: 'payments', name, requestedBy: 'x', ticket: 'INC-1', expiresAtMs: NOW.getTime() + HOUR, specSha256: 'h' });

const PROFILES = config({
  limits: { maxTTL: '24h' },
  defaultTTL: '8h',
  profiles: [{ name: 'production', match: { namespaces: ['prod-*'], namespaceSelector: { matchLabels: { env: 'prod' } } }, limits: { maxTTL: '2h' }, defaultTTL: '1h' }],
});
// `holds: []`: the webhook's view, with neither pods nor every NetworkPolicy (README: "Cluster view").
const LABELS = new MemoryClusterView({ namespaces: { 'prod-eu': { env: 'prod' }, staging: {} }, holds: [] });

describe('profiles at the webhook', () => {
  it('the same 4h grant: denied under the prod-* profile, admitted under the default; both name their profile', () => {
    const fourHours = () => narrow({ ...GOOD_GRANT, [TTL]: '4h', 'netpol-guard.io/expires-at': '2026-11-23T22:00:00Z' });
    const prod = validateHandler(request(fourHours(), 'prod-eu'), PROFILES, NOW, LABELS);
    assert.equal(prod.allowed, false);
    assert.deepEqual(prod.findings.map((f) => f.ruleId), ['expiry-too-far']);
    assert.match(prod.message!, /^netpol-guard denied NetworkPolicy prod-eu\/grant \(profile production\): 1 problem\(s\)\n\[expiry-too-far\]/);
    assert.equal(prod.auditAnnotations.profile, 'production');
    assert.equal(prod.profile, 'production');
    const staging = validateHandler(request(fourHours(), 'staging'), PROFILES, NOW, LABELS);
    assert.equal(staging.allowed, true);
    assert.equal(staging.auditAnnotations.profile, 'default');
    const audit = auditFields('validate', request(fourHours(), 'staging'), 'allowed', 1, staging);
    assert.equal(audit.profile, 'default');
  });

  it('the mutator stamps the profile\'s defaultTTL', () => {
    const prod = mutateHandler(request(narrow({ 'netpol-guard.io/ticket': 'INC-1' }), 'prod-eu'), PROFILES, NOW, LABELS);
    assert.equal(prod.expiresAt, '2026-11-23T19:00:00Z');
    assert.equal(prod.profile, 'production');
    const staging = mutateHandler(request(narrow({ 'netpol-guard.io/ticket': 'INC-1' }), 'staging'), PROFILES, NOW, LABELS);
    assert.equal(staging.expiresAt, '2026-11-24T02:00:00Z');
  });

  it('a namespace the view does not know yet (or a stale view) cannot fall through to the lenient default: denied, saying why', () => {
    const decision = validateHandler(request(narrow(), 'prod-new'), PROFILES, NOW, LABELS);
    assert.equal(decision.allowed, false);
    assert.match(decision.message!, /\[profile\] not chosen for sure: a profile matches on namespace labels and the labels of namespace prod-new are unknown \(the namespace is newer than the cluster view\)/);
  });
});

describe('a stale view', () => {
  const QUOTA = config({ quotas: { maxLiveGrantsPerNamespace: 2 } });
  const stale = new MemoryClusterView({ liveGrants: [live('a')], stale: true, holds: [] });

  it('deny (the default in enforce mode): the rules that need it fail closed, saying the view is stale, not that the grant is bad', () => {
    const decision = validateHandler(request(narrow()), QUOTA, NOW, stale);
    assert.equal(decision.allowed, false);
    assert.equal(
      decision.message,
      'netpol-guard denied NetworkPolicy payments/grant: 2 problem(s)\n' +
        "[quota-namespace-exceeded] not checked: netpol-guard's cluster view is stale (not yet synced, or a watch broken longer than clusterView.maxStaleness); nothing is known to be wrong with the grant: retry in a moment\n" +
        "[grant-recreated] not checked: netpol-guard's cluster view is stale (not yet synced, or a watch broken longer than clusterView.maxStaleness); nothing is known to be wrong with the grant: retry in a moment",
    );
    assert.deepEqual(decision.findings, []);
  });

  it('warn: admitted, with a warning per rule that was not checked (never a silent allow)', () => {
    const decision = validateHandler(request(narrow()), config({ quotas: { maxLiveGrantsPerNamespace: 2 }, clusterView: { onUnavailable: 'warn' } }), NOW, stale);
    assert.equal(decision.allowed, true);
    assert.deepEqual(decision.warnings.map((w) => w.slice(0, w.indexOf(']') + 1)), ['netpol-guard: [quota-namespace-exceeded]', 'netpol-guard: [grant-recreated]']);
  });

  it('warn mode turns the refusal into warnings like any other finding', () => {
    const decision = validateHandler(request(narrow()), config({ mode: 'warn' }), NOW, stale);
    assert.equal(decision.allowed, true);
    assert.equal(decision.warnings.length, 1);
  });

  it('a permanent principal is not refused for grant rules that would not have judged it anyway', () => {
    const cfg = config({ quotas: { maxLiveGrantsPerNamespace: 2 }, permanentPrincipals: { users: ['dev@example.com'] } });
    const decision = validateHandler(request(narrow({})), cfg, NOW, stale);
    assert.equal(decision.allowed, true, decision.message);
    assert.equal(decision.disposition, 'permanent-principal');
  });

  it('the same request with the view fresh again is judged normally', () => {
    const fresh = new MemoryClusterView({ liveGrants: [live('a')], holds: [] });
    assert.equal(validateHandler(request(narrow()), QUOTA, NOW, fresh).allowed, true);
    const full = new MemoryClusterView({ liveGrants: [live('a'), live('b')], holds: [] });
    assert.deepEqual(validateHandler(request(narrow()), QUOTA, NOW, full).findings.map((f) => f.ruleId), ['quota-namespace-exceeded']);
  });

  it('without a view (npm start with no cluster) the rules are skipped: logged once at start, not per request', () => {
    const decision = validateHandler(request(narrow()), QUOTA, NOW);
    assert.equal(decision.allowed, true);
    assert.deepEqual(decision.warnings, []);
  });
});

describe('GitOps tracking', () => {
  for (const [what, metadata] of [
    ['Argo CD annotation tracking', { annotations: { 'argocd.argoproj.io/tracking-id': 'payments:networking.k8s.io/NetworkPolicy:payments/grant' } }],
    ['Argo CD label tracking', { labels: { 'app.kubernetes.io/instance': 'payments-grants' } }],
    ['Flux kustomize-controller', { labels: { 'kustomize.toolkit.fluxcd.io/name': 'grants', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' } }],
  ] as const) {
    it(`the mutator warns on a grant under ${what}`, () => {
      const p = narrow();
      p.metadata = { ...p.metadata, labels: { ...(metadata as { labels?: Record<string, string> }).labels }, annotations: { ...p.metadata!.annotations, ...(metadata as { annotations?: Record<string, string> }).annotations } };
      const decision = mutateHandler(request(p), config(), NOW);
      const warning = decision.warnings.find((w) => w.includes('GitOps'));
      assert.ok(warning, JSON.stringify(decision.warnings));
      assert.match(warning, /grant-recreated refuses: keep grants out of synced apps \(a separate app with pruning on, or the netpol-guard CLI\)/);
    });
  }

  it('no warning for a hand-made grant or a permanent (non-grant) policy', () => {
    assert.ok(!mutateHandler(request(narrow()), config(), NOW).warnings.some((w) => w.includes('GitOps')));
    const permanent = narrow({});
    permanent.metadata!.labels = { 'app.kubernetes.io/instance': 'platform' };
    assert.ok(!mutateHandler(request(permanent), config(), NOW).warnings.some((w) => w.includes('GitOps')));
  });
});
