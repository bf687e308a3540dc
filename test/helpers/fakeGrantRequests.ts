/**
 * GrantRequests, namespaces and approver bindings for FakeApiServer.serveExtra: the endpoints
 * `grant` (in a profile that requires approval), `list --pending` and `revoke --request` call.
 *   GET/POST /apis/netpol-guard.io/v1alpha1/namespaces/NS/grantrequests[/NAME]
 *   GET      /apis/netpol-guard.io/v1alpha1/grantrequests
 *   GET      /api/v1/namespaces/NS
 *   GET      rolebindings in NS and clusterrolebindings (403 unless `bindings` is set)
 * Created requests get a uid, a creationTimestamp and spec.requestedBy `alice` (the webhook's stamp).
 */
import type { GrantRequest } from '../../src/approval/grantRequest.js';
import type { ExtraHandler } from './fakeApiServer.js';

export class FakeGrantRequests {
  readonly requests = new Map<string, GrantRequest>();
  readonly namespaces = new Map<string, Record<string, string>>();
  /** RoleBindings/ClusterRoleBindings the caller may list; undefined: 403. */
  bindings: { namespaced: unknown[]; cluster: unknown[] } | undefined;
  /** Called on every read of a request (lets a test move it along while `--wait` polls). */
  onRead: ((request: GrantRequest, reads: number) => void) | undefined;
  private reads = 0;
  private rv = 1;
  now = '2026-03-01T04:00:00Z';

  put(request: GrantRequest): void {
    this.requests.set(`${request.metadata!.namespace}/${request.metadata!.name}`, request);
  }

  readonly handler: ExtraHandler = (method, path, _query, body) => {
    const one = /^\/apis\/netpol-guard\.io\/v1alpha1\/namespaces\/([^/]+)\/grantrequests\/([^/]+)$/.exec(path);
    const inNs = /^\/apis\/netpol-guard\.io\/v1alpha1\/namespaces\/([^/]+)\/grantrequests$/.exec(path);
    if (one && method === 'GET') {
      const found = this.requests.get(`${one[1]}/${one[2]}`);
      if (found !== undefined) this.onRead?.(found, ++this.reads);
      return found ? { status: 200, body: found } : notFound();
    }
    if (inNs && method === 'GET') return { status: 200, body: list([...this.requests.values()].filter((r) => r.metadata?.namespace === inNs[1])) };
    if (path === '/apis/netpol-guard.io/v1alpha1/grantrequests' && method === 'GET') return { status: 200, body: list([...this.requests.values()]) };
    if (inNs && method === 'POST') {
      const request = structuredClone(body as GrantRequest);
      const key = `${inNs[1]}/${request.metadata?.name}`;
      if (this.requests.has(key)) return { status: 409, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 409, reason: 'AlreadyExists', message: `grantrequests.netpol-guard.io "${request.metadata?.name}" already exists` } };
      request.metadata = { ...request.metadata, namespace: inNs[1]!, uid: `uid-${request.metadata?.name}`, resourceVersion: String(++this.rv), creationTimestamp: this.now as unknown as Date };
      request.spec = { ...request.spec!, requestedBy: 'alice' };
      this.requests.set(key, request);
      return { status: 201, body: request };
    }
    const ns = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(path);
    if (ns && method === 'GET') {
      const labels = this.namespaces.get(ns[1]!);
      return labels ? { status: 200, body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns[1], labels } } } : notFound();
    }
    const roleBindings = /^\/apis\/rbac\.authorization\.k8s\.io\/v1\/namespaces\/([^/]+)\/rolebindings$/.exec(path);
    if (roleBindings || path === '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings') {
      if (this.bindings === undefined) return { status: 403, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 403, reason: 'Forbidden', message: 'forbidden' } };
      const items = roleBindings ? this.bindings.namespaced : this.bindings.cluster;
      return { status: 200, body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: roleBindings ? 'RoleBindingList' : 'ClusterRoleBindingList', metadata: {}, items } };
    }
    return undefined;
  };
}

function list(items: GrantRequest[]): unknown {
  return { apiVersion: 'netpol-guard.io/v1alpha1', kind: 'GrantRequestList', metadata: { resourceVersion: '1' }, items };
}

function notFound(): { status: number; body: unknown } {
  return { status: 404, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound', message: 'not found' } };
}
