import { checkServerIdentity, connect, type PeerCertificate } from 'node:tls';
import { isIP } from 'node:net';
import {
  AdmissionregistrationV1Api,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  type V1MutatingWebhook,
  type V1ValidatingWebhook,
} from '@kubernetes/client-node';
import { describeApiError, httpStatusOf } from '../kube/apiErrors.js';
import { CONFIG_MAP, CONFIGURATION_NAME, FORBIDDEN_PERMISSIONS, LEASE_NAME, SHIPPED_PERMISSIONS, SHIPPED_WEBHOOKS, describePermission } from './shipped.js';
import type { AccessAnswer, DoctorFacts, Fetched, ServedCertificate, ServiceEndpoints, WebhookTarget } from './types.js';

/**
 * The shell of `doctor`: reads what the checks need from the API server (never a Secret) and
 * dials the webhook once per webhook to see the certificate it really serves.
 */

export interface GatherOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  serviceAccount: string;
  now: () => Date;
  /** Bound on each TLS dial to the webhook. */
  dialTimeoutMs?: number;
}

async function fetched<T>(read: () => Promise<T>): Promise<Fetched<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (err) {
    return { ok: false, notFound: httpStatusOf(err) === 404, error: describeApiError(err) };
  }
}

export async function gatherFacts(options: GatherOptions): Promise<DoctorFacts> {
  const kc = options.kubeConfig;
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const [mutating, validating, lease, configMap, access] = await Promise.all([
    fetched(() => admission.readMutatingWebhookConfiguration({ name: CONFIGURATION_NAME })),
    fetched(() => admission.readValidatingWebhookConfiguration({ name: CONFIGURATION_NAME })),
    fetched(() => kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: options.namespace, name: LEASE_NAME })),
    fetched(() => core.readNamespacedConfigMap({ namespace: options.namespace, name: CONFIG_MAP })),
    fetched(() => accessOf(kc.makeApiClient(AuthorizationV1Api), options.namespace, options.serviceAccount)),
  ]);
  const webhooks: (V1MutatingWebhook | V1ValidatingWebhook)[] = [
    ...(mutating.ok ? (mutating.value.webhooks ?? []) : []),
    ...(validating.ok ? (validating.value.webhooks ?? []) : []),
  ].filter((w) => SHIPPED_WEBHOOKS.some((s) => s.name === w.name));
  const targets = await Promise.all(webhooks.map((w) => targetOf(w, kc, options.dialTimeoutMs ?? 5_000)));
  return { now: options.now(), namespace: options.namespace, mutating, validating, targets, lease, configMap, access };
}

async function accessOf(api: AuthorizationV1Api, namespace: string, serviceAccount: string): Promise<AccessAnswer[]> {
  const user = `system:serviceaccount:${namespace}:${serviceAccount}`;
  const groups = ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'];
  const asks = [...SHIPPED_PERMISSIONS.map((p) => ({ p, expected: true })), ...FORBIDDEN_PERMISSIONS.map((p) => ({ p, expected: false }))];
  return Promise.all(
    asks.map(async ({ p, expected }) => {
      const [resource, subresource] = p.resource.split('/');
      const review = await api.createSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: { user, groups, resourceAttributes: { verb: p.verb, group: p.group, resource, ...(subresource !== undefined ? { subresource } : {}), ...(p.scope === 'install' ? { namespace } : {}) } },
        },
      });
      return { what: describePermission(p, namespace), expected, allowed: review.status?.allowed === true };
    }),
  );
}

async function targetOf(webhook: V1MutatingWebhook | V1ValidatingWebhook, kc: KubeConfig, timeoutMs: number): Promise<WebhookTarget> {
  const caPem = Buffer.from(webhook.clientConfig.caBundle ?? '', 'base64').toString('utf8');
  const service = webhook.clientConfig.service;
  if (service === undefined) {
    let url: URL;
    try {
      url = new URL(webhook.clientConfig.url ?? '');
    } catch {
      return { webhook: webhook.name, served: { ok: false, notFound: false, error: `clientConfig has neither a service nor a valid url` } };
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    return { webhook: webhook.name, served: await probeTls(host, Number(url.port || 443), host, caPem, timeoutMs) };
  }
  const endpoints = await fetched(() => serviceEndpoints(kc, service.namespace, service.name, service.port ?? 443));
  const serverName = `${service.name}.${service.namespace}.svc`;
  const first = endpoints.ok ? endpoints.value.ready[0] : undefined;
  if (first === undefined) return { webhook: webhook.name, endpoints, served: { ok: false, notFound: false, error: 'no ready endpoint to dial' } };
  const at = first.lastIndexOf(':');
  return { webhook: webhook.name, endpoints, served: await probeTls(first.slice(0, at).replace(/^\[|\]$/g, ''), Number(first.slice(at + 1)), serverName, caPem, timeoutMs) };
}

async function serviceEndpoints(kc: KubeConfig, namespace: string, name: string, servicePort: number): Promise<ServiceEndpoints> {
  const core = kc.makeApiClient(CoreV1Api);
  let portName: string | undefined;
  try {
    const svc = await core.readNamespacedService({ namespace, name });
    portName = (svc.spec?.ports ?? []).find((p) => p.port === servicePort)?.name;
  } catch (err) {
    if (httpStatusOf(err) === 404) return { serviceExists: false, ready: [], notReady: 0 };
    throw err;
  }
  const slices = await kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${name}` });
  const ready: string[] = [];
  let notReady = 0;
  for (const slice of slices.items) {
    const port = (slice.ports ?? []).find((p) => (portName === undefined ? true : p.name === portName))?.port;
    for (const endpoint of slice.endpoints) {
      if (endpoint.conditions?.ready === false) {
        notReady += 1;
        continue;
      }
      for (const address of endpoint.addresses) ready.push(`${isIP(address) === 6 ? `[${address}]` : address}:${port ?? 8443}`);
    }
  }
  return { serviceExists: true, ready, notReady };
}

/** One TLS handshake trusting only the caBundle; reports, does not reject. */
export function probeTls(host: string, port: number, serverName: string, caPem: string, timeoutMs: number): Promise<Fetched<ServedCertificate>> {
  return new Promise((resolve) => {
    const target = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
    const socket = connect({
      host,
      port,
      ...(isIP(serverName) === 0 ? { servername: serverName } : {}),
      ...(caPem.trim() === '' ? {} : { ca: caPem }),
      rejectUnauthorized: false,
      timeout: timeoutMs,
    });
    const fail = (error: string): void => {
      socket.destroy();
      resolve({ ok: false, notFound: false, error: `${target}: ${error}` });
    };
    socket.once('timeout', () => fail(`no TLS handshake within ${timeoutMs} ms`));
    socket.once('error', (err) => fail(err.message));
    socket.once('secureConnect', () => {
      const cert: PeerCertificate = socket.getPeerCertificate();
      const identity = checkServerIdentity(serverName, cert);
      const value: ServedCertificate = {
        target,
        serverName,
        chainVerified: socket.authorized,
        ...(socket.authorized ? {} : { chainError: String(socket.authorizationError) }),
        ...(identity === undefined ? {} : { hostnameError: identity.message }),
        subject: [cert.subject?.CN ?? '(no CN)'].flat().join(', '),
        notAfter: new Date(cert.valid_to),
      };
      socket.end();
      resolve({ ok: true, value });
    });
  });
}
