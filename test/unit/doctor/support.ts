/**
 * A healthy installation's facts, built from the shipped manifests, for the pure checks; and a
 * small HTTP fake of the API server endpoints `doctor` reads, for the command test.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { V1ConfigMap, V1Lease, V1MutatingWebhookConfiguration, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../fixtures/paths.js';
import { FORBIDDEN_PERMISSIONS, SHIPPED_PERMISSIONS, describePermission } from '../../../src/doctor/shipped.js';
import type { DoctorFacts } from '../../../src/doctor/types.js';

export const NOW = new Date('2026-12-01T12:00:00Z');

export function shippedWebhookConfigurations(caBundle = 'Y2E='): { mutating: V1MutatingWebhookConfiguration; validating: V1ValidatingWebhookConfiguration } {
  const docs = parseAllDocuments(readFileSync(path.join(REPO_ROOT, 'manifests', 'webhooks.yaml'), 'utf8')).map((d) => d.toJS() as { kind: string });
  const withCa = <T>(doc: unknown): T => {
    const copy = structuredClone(doc) as { webhooks: { clientConfig: { caBundle?: string } }[] };
    for (const w of copy.webhooks) w.clientConfig.caBundle = caBundle;
    return copy as T;
  };
  return {
    mutating: withCa<V1MutatingWebhookConfiguration>(docs.find((d) => d.kind === 'MutatingWebhookConfiguration')),
    validating: withCa<V1ValidatingWebhookConfiguration>(docs.find((d) => d.kind === 'ValidatingWebhookConfiguration')),
  };
}

export function healthyLease(now = NOW): V1Lease {
  return { metadata: { name: 'netpol-guard-controller', namespace: 'netpol-guard' }, spec: { holderIdentity: 'pod-a_1234', leaseDurationSeconds: 15, renewTime: new Date(now.getTime() - 3_000) } };
}

export function shippedConfigMap(): V1ConfigMap {
  return { metadata: { name: 'netpol-guard-config', namespace: 'netpol-guard' }, data: { 'config.yaml': readFileSync(path.join(REPO_ROOT, 'manifests', 'config.yaml'), 'utf8') } };
}

export function healthyFacts(): DoctorFacts {
  const { mutating, validating } = shippedWebhookConfigurations();
  const served = (target: string) => ({
    ok: true as const,
    value: { target, serverName: 'netpol-guard.netpol-guard.svc', chainVerified: true, subject: 'netpol-guard.netpol-guard.svc', notAfter: new Date(NOW.getTime() + 200 * 86_400_000) },
  });
  const endpoints = { ok: true as const, value: { serviceExists: true, ready: ['10.0.0.7:8443', '10.0.0.8:8443'], notReady: 0 } };
  return {
    now: NOW,
    namespace: 'netpol-guard',
    mutating: { ok: true, value: mutating },
    validating: { ok: true, value: validating },
    targets: [
      { webhook: 'mutate.netpol-guard.io', endpoints, served: served('10.0.0.7:8443') },
      { webhook: 'validate.netpol-guard.io', endpoints, served: served('10.0.0.7:8443') },
    ],
    lease: { ok: true, value: healthyLease() },
    configMap: { ok: true, value: shippedConfigMap() },
    access: {
      ok: true,
      value: [
        ...SHIPPED_PERMISSIONS.map((p) => ({ what: describePermission(p, 'netpol-guard'), expected: true, allowed: true })),
        ...FORBIDDEN_PERMISSIONS.map((p) => ({ what: describePermission(p, 'netpol-guard'), expected: false, allowed: false })),
      ],
    },
  };
}

export interface AccessRequest {
  user: string;
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
}

/** Answers the GETs `doctor` makes from `objects` (path → body; absent → 404) and SARs from `allow`. */
export class DoctorFakeApi {
  readonly objects = new Map<string, unknown>();
  allow: (request: AccessRequest) => boolean = () => false;
  readonly paths: string[] = [];
  #server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.#server = createServer((req, res) => this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  kubeconfigText(): string {
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'fake', user: { token: 'admin' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
      'current-context': 'fake',
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server?.close(() => resolve());
      this.#server?.closeAllConnections();
    });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const urlPath = new URL(req.url ?? '/', this.url).pathname;
      this.paths.push(`${req.method} ${urlPath}`);
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'POST' && urlPath === '/apis/authorization.k8s.io/v1/subjectaccessreviews') {
        const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { spec: { user: string; resourceAttributes: Omit<AccessRequest, 'user'> } };
        const allowed = this.allow({ user: review.spec.user, ...review.spec.resourceAttributes });
        send(201, { ...review, status: { allowed } });
        return;
      }
      if (req.method !== 'GET') return send(405, { kind: 'Status', code: 405, reason: 'MethodNotAllowed' });
      if (urlPath.includes('/secrets')) return send(403, { kind: 'Status', code: 403, reason: 'Forbidden', message: 'doctor must never read a Secret' });
      const object = this.objects.get(urlPath);
      if (object === undefined) return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `${urlPath} not found` });
      send(200, object);
    });
  }
}
