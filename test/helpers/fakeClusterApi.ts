/**
 * A small in-memory fake of the core/v1 endpoints the effect analysis reads, over plain HTTP on
 * 127.0.0.1 (test/helpers/fakeApiServer.ts serves NetworkPolicies only; this keeps pods apart):
 *   pods        GET /api/v1/pods and ?watch=true, metadata only when the Accept header asks for
 *               PartialObjectMetadataList / PartialObjectMetadata (full PodList otherwise, like
 *               the server), limit + continue, fieldSelector `status.phase!=X[,status.phase!=Y]`
 *               (anything else: 400); a pod leaving the selection is sent as DELETED, like the
 *               watch cache.
 *   namespaces  GET /api/v1/namespaces (metadata only when asked, like pods; no paging) and
 *               GET /api/v1/namespaces/NAME (the Namespace; 404 when absent)
 *   policies    GET /apis/networking.k8s.io/v1/namespaces/NS/networkpolicies[/NAME]
 * Every other method is answered 405 (and recorded): the fake is read-only, so a test can prove
 * that a command sent nothing but reads. `forbid(path, message)` answers that path 403 as RBAC does.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, type V1NetworkPolicy } from '@kubernetes/client-node';

export interface FakePod {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  phase?: string;
}

interface StoredPod extends FakePod {
  resourceVersion: number;
}

interface Watcher {
  res: ServerResponse;
  metadataOnly: boolean;
  excluded: string[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  accept: string | undefined;
}

export class FakeClusterApi {
  readonly requests: RecordedRequest[] = [];
  private readonly server: Server;
  private readonly pods = new Map<string, StoredPod>();
  private readonly namespaces = new Map<string, Record<string, string>>();
  private readonly policies: V1NetworkPolicy[] = [];
  private readonly watchers = new Set<Watcher>();
  private rv = 100;
  private sorted: StoredPod[] | undefined;
  private readonly selections = new Map<string, StoredPod[]>();
  private port = 0;
  private readonly record: boolean;
  private readonly forbidden = new Map<string, string>();

  private constructor(record: boolean) {
    this.record = record;
    this.server = createServer((req, res) => this.handle(req, res));
  }

  static async start(options: { recordRequests?: boolean } = {}): Promise<FakeClusterApi> {
    const fake = new FakeClusterApi(options.recordRequests ?? true);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  async close(): Promise<void> {
    for (const w of this.watchers) w.res.end();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: `http://127.0.0.1:${this.port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'fake-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'u', namespace: 'default' }],
      currentContext: 'fake',
    });
    return kc;
  }

  putNamespace(name: string, labels: Record<string, string> = {}): void {
    this.namespaces.set(name, { 'kubernetes.io/metadata.name': name, ...labels });
  }

  /** Answer GETs of `path` with 403 Forbidden carrying `message` (as the API server words RBAC refusals). */
  forbid(path: string, message: string): void {
    this.forbidden.set(path, message);
  }

  unforbid(path: string): void {
    this.forbidden.delete(path);
  }

  removePolicy(namespace: string, name: string): void {
    const at = this.policies.findIndex((p) => p.metadata?.namespace === namespace && p.metadata?.name === name);
    if (at >= 0) this.policies.splice(at, 1);
  }

  putPolicy(policy: V1NetworkPolicy): void {
    this.policies.push(policy);
  }

  /** Adds or changes a pod; open watches see ADDED/MODIFIED, or DELETED when it leaves their selection. */
  putPod(pod: FakePod): void {
    const key = `${pod.namespace}/${pod.name}`;
    const previous = this.pods.get(key);
    const stored: StoredPod = { ...pod, resourceVersion: ++this.rv };
    this.pods.set(key, stored);
    this.sorted = undefined;
    this.selections.clear();
    for (const w of this.watchers) {
      const was = previous !== undefined && !w.excluded.includes(previous.phase ?? '');
      const is = !w.excluded.includes(stored.phase ?? '');
      if (is) this.send(w, was ? 'MODIFIED' : 'ADDED', stored);
      else if (was) this.send(w, 'DELETED', stored);
    }
  }

  removePod(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const pod = this.pods.get(key);
    if (pod === undefined) return;
    this.pods.delete(key);
    this.sorted = undefined;
    this.selections.clear();
    const gone = { ...pod, resourceVersion: ++this.rv };
    for (const w of this.watchers) if (!w.excluded.includes(pod.phase ?? '')) this.send(w, 'DELETED', gone);
  }

  /** Pods in key order, sorted once per change rather than once per page (benchmarks list 100k). */
  private sortedPods(): StoredPod[] {
    if (this.sorted === undefined) {
      const keys = [...this.pods.keys()].sort();
      this.sorted = keys.map((k) => this.pods.get(k)!);
    }
    return this.sorted;
  }

  /** sortedPods without the excluded phases, kept per selector until the next change. */
  private selectedPods(excluded: string[]): StoredPod[] {
    const key = excluded.join(',');
    let selected = this.selections.get(key);
    if (selected === undefined) {
      selected = this.sortedPods().filter((p) => !excluded.includes(p.phase ?? ''));
      this.selections.set(key, selected);
    }
    return selected;
  }

  private send(w: Watcher, type: string, pod: StoredPod): void {
    w.res.write(`${JSON.stringify({ type, object: this.encode(pod, w.metadataOnly, 'PartialObjectMetadata') })}\n`);
  }

  private encode(pod: StoredPod, metadataOnly: boolean, kind: string): unknown {
    const metadata = { name: pod.name, namespace: pod.namespace, labels: pod.labels ?? {}, resourceVersion: String(pod.resourceVersion), uid: `uid-${pod.namespace}-${pod.name}` };
    if (metadataOnly) return { kind, apiVersion: 'meta.k8s.io/v1', metadata };
    return { kind: 'Pod', apiVersion: 'v1', metadata, spec: { containers: [{ name: 'c', image: 'x' }] }, status: { phase: pod.phase ?? 'Pending' } };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    // A watcher that goes away aborts its request; that is not an error of the fake.
    req.on('error', () => undefined);
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams.entries());
    const accept = req.headers.accept;
    const method = req.method ?? 'GET';
    if (this.record) this.requests.push({ method, path: url.pathname, query, accept });
    if (req.headers.authorization !== 'Bearer fake-token') return json(res, 401, status(401, 'Unauthorized'));
    if (method !== 'GET') return json(res, 405, status(405, 'MethodNotAllowed'));
    const refusal = this.forbidden.get(url.pathname);
    if (refusal !== undefined) return json(res, 403, { ...(status(403, 'Forbidden') as object), message: refusal });
    const namespacePath = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(url.pathname);
    if (namespacePath) {
      const name = decodeURIComponent(namespacePath[1]!);
      const labels = this.namespaces.get(name);
      if (labels === undefined) return json(res, 404, { ...(status(404, 'NotFound') as object), message: `namespaces "${name}" not found` });
      return json(res, 200, { kind: 'Namespace', apiVersion: 'v1', metadata: { name, labels }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
    }
    if (url.pathname === '/api/v1/pods') return this.handlePods(res, query, accept ?? '');
    if (url.pathname === '/api/v1/namespaces') {
      const metadataOnly = (accept ?? '').includes('as=PartialObjectMetadataList;');
      const items = [...this.namespaces].map(([name, labels]) => ({ metadata: { name, labels } }));
      const kind = metadataOnly ? 'PartialObjectMetadataList' : 'NamespaceList';
      return json(res, 200, { kind, apiVersion: metadataOnly ? 'meta.k8s.io/v1' : 'v1', metadata: { resourceVersion: String(this.rv) }, items });
    }
    const policyPath = /^\/apis\/networking\.k8s\.io\/v1\/namespaces\/([^/]+)\/networkpolicies(?:\/([^/]+))?$/.exec(url.pathname);
    if (policyPath) {
      const [, namespace, name] = policyPath;
      const inNs = this.policies.filter((p) => p.metadata?.namespace === namespace);
      if (name === undefined) return json(res, 200, { kind: 'NetworkPolicyList', apiVersion: 'networking.k8s.io/v1', metadata: {}, items: inNs });
      const found = inNs.find((p) => p.metadata?.name === name);
      return found ? json(res, 200, { kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1', ...found }) : json(res, 404, status(404, 'NotFound'));
    }
    json(res, 404, status(404, 'NotFound'));
  }

  private handlePods(res: ServerResponse, query: Record<string, string>, accept: string): void {
    const excluded = parsePhaseSelector(query.fieldSelector ?? '');
    if (excluded === undefined) return json(res, 400, status(400, 'BadRequest'));
    const selected = this.selectedPods(excluded);
    if (query.watch === 'true') {
      const metadataOnly = accept.includes('as=PartialObjectMetadata;');
      res.writeHead(200, { 'content-type': 'application/json' });
      // Headers at once, as the API server does: the client learns the watch is open.
      res.flushHeaders();
      const watcher: Watcher = { res, metadataOnly, excluded };
      this.watchers.add(watcher);
      res.on('close', () => this.watchers.delete(watcher));
      if (query.resourceVersion === undefined || query.resourceVersion === '0') for (const p of selected) this.send(watcher, 'ADDED', p);
      return;
    }
    const metadataOnly = accept.includes('as=PartialObjectMetadataList;');
    const limit = Number(query.limit ?? '0') || selected.length;
    const start = query.continue === undefined ? 0 : Number(Buffer.from(query.continue, 'base64').toString('utf8'));
    const page = selected.slice(start, start + limit);
    const next = start + limit < selected.length ? Buffer.from(String(start + limit)).toString('base64') : undefined;
    json(res, 200, {
      kind: metadataOnly ? 'PartialObjectMetadataList' : 'PodList',
      apiVersion: metadataOnly ? 'meta.k8s.io/v1' : 'v1',
      metadata: { resourceVersion: String(this.rv), ...(next !== undefined && { continue: next }) },
      items: page.map((p) => this.encode(p, metadataOnly, 'PartialObjectMetadata')),
    });
  }
}

/** `status.phase!=A,status.phase!=B` → [A, B]; '' → []; anything else → undefined (400). */
function parsePhaseSelector(text: string): string[] | undefined {
  if (text === '') return [];
  const out: string[] = [];
  for (const part of text.split(',')) {
    const m = /^status\.phase!=(\w+)$/.exec(part);
    if (!m) return undefined;
    out.push(m[1]!);
  }
  return out;
}

function status(code: number, reason: string): unknown {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, code };
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
