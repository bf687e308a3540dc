import type { V1MutatingWebhook, V1ValidatingWebhook } from '@kubernetes/client-node';
import { parseConfigText } from '../config/load.js';
import { CONFIG_KEY, CONFIG_MAP, LEASE_NAME, SHIPPED_WEBHOOKS, shippedExcludedNamespaces, type ShippedWebhook } from './shipped.js';
import type { CheckResult, DoctorFacts, Fetched, WebhookTarget } from './types.js';

/**
 * The checks of `doctor`, pure: the facts fetched from the cluster (and the clock) in, one result
 * per check out. A fact that could not be fetched makes its check "unknown", never "ok".
 */

const DAY_MS = 86_400_000;
/** The certificate alert's threshold (NetpolGuardCertificateExpiringSoon). */
export const CERTIFICATE_WARNING_DAYS = 14;

type AnyWebhook = V1MutatingWebhook | V1ValidatingWebhook;

const REAPPLY = 'apply the manifests again (kubectl apply -k <your overlay>)';

function unreadable(id: string, what: string, fetched: Extract<Fetched<unknown>, { ok: false }>, fix: string): CheckResult {
  return fetched.notFound
    ? { id, status: 'problem', detail: `${what} not found`, fix }
    : { id, status: 'unknown', detail: `could not read ${what}: ${fetched.error}`, fix: 'check the kubeconfig and that you may read it' };
}

function webhookIn(facts: DoctorFacts, shipped: ShippedWebhook): Fetched<AnyWebhook> {
  const config = shipped.kind === 'MutatingWebhookConfiguration' ? facts.mutating : facts.validating;
  if (!config.ok) return config;
  const webhook = (config.value.webhooks ?? []).find((w: AnyWebhook) => w.name === shipped.name);
  return webhook ? { ok: true, value: webhook } : { ok: false, notFound: true, error: 'not in the configuration' };
}

export function checkRegistration(facts: DoctorFacts): CheckResult[] {
  return SHIPPED_WEBHOOKS.map((shipped) => {
    const id = `registered ${shipped.name}`;
    const found = webhookIn(facts, shipped);
    if (found.ok) return { id, status: 'ok', detail: `${shipped.kind}/netpol-guard has ${shipped.name}` };
    return unreadable(id, `${shipped.kind}/netpol-guard with webhook ${shipped.name}`, found, REAPPLY);
  });
}

/** failurePolicy, timeoutSeconds, sideEffects, namespaceSelector and the intercepted operations. */
export function checkSettings(facts: DoctorFacts): CheckResult[] {
  return SHIPPED_WEBHOOKS.flatMap((shipped): CheckResult[] => {
    const found = webhookIn(facts, shipped);
    if (!found.ok) return [];
    const webhook = found.value;
    const id = `settings ${shipped.name}`;
    const differences: string[] = [];
    if (webhook.failurePolicy !== shipped.failurePolicy) differences.push(`failurePolicy ${webhook.failurePolicy ?? '(default)'}, shipped ${shipped.failurePolicy}`);
    if (webhook.timeoutSeconds !== shipped.timeoutSeconds) differences.push(`timeoutSeconds ${webhook.timeoutSeconds ?? '(default 10)'}, shipped ${shipped.timeoutSeconds}`);
    if (webhook.sideEffects !== shipped.sideEffects) differences.push(`sideEffects ${webhook.sideEffects}, shipped ${shipped.sideEffects}`);
    const excluded = excludedNamespaces(webhook);
    const wanted = shippedExcludedNamespaces(facts.namespace);
    if (excluded === undefined || wanted.some((ns) => !excluded.includes(ns))) {
      differences.push(`namespaceSelector does not exclude ${wanted.join(' and ')} (shipped: kubernetes.io/metadata.name NotIn [${wanted.join(', ')}])`);
    }
    const operations = new Set((webhook.rules ?? []).filter((r) => (r.resources ?? []).includes('networkpolicies')).flatMap((r) => r.operations ?? []));
    for (const op of shipped.operations) if (!operations.has(op) && !operations.has('*')) differences.push(`${op} of networkpolicies is not sent to the webhook`);
    if (operations.has('DELETE') || operations.has('*')) differences.push('DELETE is sent to the webhook: removing access must never depend on it');
    if (differences.length === 0) {
      return [{ id, status: 'ok', detail: `failurePolicy ${shipped.failurePolicy}, timeout ${shipped.timeoutSeconds}s, excludes ${wanted.join(', ')}, ${shipped.operations.join('/')} only` }];
    }
    return [{ id, status: 'problem', detail: differences.join('; '), fix: `${REAPPLY}, or make the change on purpose and knowingly (README "failurePolicy: Fail")` }];
  });
}

/** The values of a `kubernetes.io/metadata.name NotIn [...]` expression, if the selector has one. */
function excludedNamespaces(webhook: AnyWebhook): string[] | undefined {
  const expression = (webhook.namespaceSelector?.matchExpressions ?? []).find((e) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn');
  return expression?.values;
}

export function checkEndpoints(facts: DoctorFacts): CheckResult[] {
  return facts.targets.map((target): CheckResult => {
    const id = `endpoints ${target.webhook}`;
    const webhook = webhookByName(facts, target.webhook);
    const service = webhook?.clientConfig.service;
    if (service === undefined) {
      const url = webhook?.clientConfig.url ?? '(none)';
      if (target.served.ok) return { id, status: 'ok', detail: `clientConfig.url ${url} answers (no Service to check)` };
      return { id, status: 'unknown', detail: `clientConfig.url ${url}: ${target.served.error}`, fix: 'check that the URL is reachable from the API server' };
    }
    const name = `Service ${service.namespace}/${service.name}`;
    const endpoints = target.endpoints;
    if (endpoints === undefined) return { id, status: 'unknown', detail: `${name}: endpoints not read` };
    if (!endpoints.ok) return unreadable(id, `${name} endpoints`, endpoints, 'apply the Service (manifests/service.yaml)');
    if (!endpoints.value.serviceExists) return { id, status: 'problem', detail: `${name} does not exist`, fix: 'apply the Service (manifests/service.yaml)' };
    if (endpoints.value.ready.length === 0) {
      return {
        id,
        status: 'problem',
        detail: `${name} has no ready endpoint (${endpoints.value.notReady} not ready)`,
        fix: `kubectl -n ${service.namespace} get pods -l app.kubernetes.io/name=netpol-guard; describe a pod for failing probes or a crash loop`,
      };
    }
    return { id, status: 'ok', detail: `${name} has ${endpoints.value.ready.length} ready endpoint(s): ${endpoints.value.ready.join(', ')}` };
  });
}

function webhookByName(facts: DoctorFacts, name: string): AnyWebhook | undefined {
  const shipped = SHIPPED_WEBHOOKS.find((w) => w.name === name);
  if (shipped === undefined) return undefined;
  const found = webhookIn(facts, shipped);
  return found.ok ? found.value : undefined;
}

/** The caBundle must verify the certificate the webhook really serves, for the name the API server dials. */
export function checkCaBundle(facts: DoctorFacts): CheckResult[] {
  return facts.targets.map((target: WebhookTarget): CheckResult => {
    const id = `caBundle ${target.webhook}`;
    const webhook = webhookByName(facts, target.webhook);
    if ((webhook?.clientConfig.caBundle ?? '') === '') {
      return { id, status: 'problem', detail: 'clientConfig.caBundle is empty: the API server cannot verify the webhook', fix: 'run `netpol-guard certs --apply-to` and apply its patch, or install the cert-manager component' };
    }
    if (!target.served.ok) {
      return {
        id,
        status: 'unknown',
        detail: `could not check the served certificate: ${target.served.error}`,
        fix: 'run doctor where the webhook pods are reachable (e.g. from a pod in the cluster)',
      };
    }
    const served = target.served.value;
    if (served.chainError === 'CERT_HAS_EXPIRED' || served.chainError === 'CERT_NOT_YET_VALID') {
      return {
        id,
        status: 'problem',
        detail: `the certificate served at ${served.target} is outside its validity window (${served.chainError}); the caBundle cannot vouch for it`,
        fix: 'renew it: run `netpol-guard certs` again and apply, or check the cert-manager Certificate',
      };
    }
    if (!served.chainVerified) {
      return {
        id,
        status: 'problem',
        detail: `the caBundle does not verify the certificate served at ${served.target} (${served.chainError ?? 'unknown reason'}; subject ${served.subject})`,
        fix: 'set caBundle to the CA that signed the serving certificate (`netpol-guard certs --print-ca-bundle`, or cert-manager\'s inject-ca-from)',
      };
    }
    if (served.hostnameError !== undefined) {
      return { id, status: 'problem', detail: `the served certificate is not for ${served.serverName}: ${served.hostnameError}`, fix: 'issue the serving certificate for the Service name (`netpol-guard certs --service … --namespace …`)' };
    }
    return { id, status: 'ok', detail: `the caBundle verifies the certificate served at ${served.target} for ${served.serverName}` };
  });
}

export function checkCertificateLifetime(facts: DoctorFacts): CheckResult[] {
  const seen = new Map<string, { notAfter: Date; target: string }>();
  for (const target of facts.targets) if (target.served.ok) seen.set(target.served.value.target, target.served.value);
  if (seen.size === 0) return [{ id: 'certificate', status: 'unknown', detail: 'no served certificate could be read', fix: 'see the caBundle check' }];
  return [...seen.values()].map(({ notAfter, target }): CheckResult => {
    const days = Math.floor((notAfter.getTime() - facts.now.getTime()) / DAY_MS);
    const id = `certificate ${target}`;
    const renew = 'renew it: run `netpol-guard certs` again and apply, or check the cert-manager Certificate';
    if (notAfter.getTime() <= facts.now.getTime()) return { id, status: 'problem', detail: `the served certificate expired at ${notAfter.toISOString()}`, fix: renew };
    if (days < CERTIFICATE_WARNING_DAYS) return { id, status: 'problem', detail: `the served certificate expires in ${days} day(s), at ${notAfter.toISOString()}`, fix: renew };
    return { id, status: 'ok', detail: `the served certificate has ${days} days left (until ${notAfter.toISOString()})` };
  });
}

/** A holder whose last renewal is within its lease duration (judged by the local clock). */
export function checkLease(facts: DoctorFacts): CheckResult {
  const id = 'controller lease';
  const name = `Lease ${facts.namespace}/${LEASE_NAME}`;
  const fix = `check the controller: kubectl -n ${facts.namespace} logs deploy/netpol-guard -c sweeper`;
  if (!facts.lease.ok) {
    return facts.lease.notFound
      ? { id, status: 'problem', detail: `${name} not found: no controller has ever led`, fix: `${fix} (it must run with --leader-elect)` }
      : unreadable(id, name, facts.lease, fix);
  }
  const spec = facts.lease.value.spec ?? {};
  const holder = spec.holderIdentity ?? '';
  if (holder === '') return { id, status: 'problem', detail: `${name} has no holder: no controller is leader`, fix };
  const renewed = spec.renewTime ?? spec.acquireTime;
  const durationMs = (spec.leaseDurationSeconds ?? 15) * 1000;
  if (renewed === undefined || renewed === null) return { id, status: 'problem', detail: `${name} held by ${holder} but never renewed`, fix };
  const ageMs = facts.now.getTime() - new Date(renewed).getTime();
  if (ageMs > durationMs) {
    return { id, status: 'problem', detail: `${name} held by ${holder}, last renewed ${Math.round(ageMs / 1000)}s ago (lease ${durationMs / 1000}s): the leader is gone`, fix };
  }
  return { id, status: 'ok', detail: `${name} held by ${holder}, renewed ${Math.max(0, Math.round(ageMs / 1000))}s ago` };
}

/** The ConfigMap's config.yaml through the same loader `serve` and `controller` use. */
export function checkConfig(facts: DoctorFacts): CheckResult {
  const id = 'config';
  const name = `ConfigMap ${facts.namespace}/${CONFIG_MAP}`;
  const fix = `fix ${CONFIG_KEY} in ${name} (the webhook keeps the last good config until then)`;
  if (!facts.configMap.ok) return unreadable(id, name, facts.configMap, 'apply the base (its configMapGenerator makes it)');
  const text = facts.configMap.value.data?.[CONFIG_KEY];
  if (text === undefined) return { id, status: 'problem', detail: `${name} has no key ${CONFIG_KEY}`, fix };
  const loaded = parseConfigText(text, `${name} ${CONFIG_KEY}`);
  if (!loaded.ok) return { id, status: 'problem', detail: loaded.errors.join('; '), fix };
  return { id, status: 'ok', detail: `${name} is valid (mode ${loaded.config.mode})` };
}

export function checkAccess(facts: DoctorFacts, serviceAccount: string): CheckResult {
  const id = 'rbac';
  const subject = `ServiceAccount ${facts.namespace}/${serviceAccount}`;
  if (!facts.access.ok) return unreadable(id, `access of ${subject}`, facts.access, 'you need create on subjectaccessreviews');
  const missing = facts.access.value.filter((a) => a.expected && !a.allowed).map((a) => a.what);
  const extra = facts.access.value.filter((a) => !a.expected && a.allowed).map((a) => a.what);
  if (missing.length === 0 && extra.length === 0) return { id, status: 'ok', detail: `${subject} has exactly the shipped permissions checked (${facts.access.value.length} SubjectAccessReviews)` };
  const parts = [];
  if (missing.length > 0) parts.push(`missing: ${missing.join(', ')}`);
  if (extra.length > 0) parts.push(`more than shipped: ${extra.join(', ')}`);
  return { id, status: 'problem', detail: `${subject} ${parts.join('; ')}`, fix: 'apply manifests/rbac.yaml as shipped; remove extra bindings of this ServiceAccount' };
}

export function runChecks(facts: DoctorFacts, serviceAccount: string): CheckResult[] {
  return [
    ...checkRegistration(facts),
    ...checkSettings(facts),
    ...checkEndpoints(facts),
    ...checkCaBundle(facts),
    ...checkCertificateLifetime(facts),
    checkLease(facts),
    checkConfig(facts),
    checkAccess(facts, serviceAccount),
  ];
}
