/**
 * An in-memory fake of the kube-apiserver's NetworkPolicy and Event endpoints, served over real
 * HTTP(S) on 127.0.0.1 so tests and benchmarks drive the real @kubernetes/client-node through a
 * KubeConfig that points at it.
 *
 * Implemented (networking.k8s.io/v1 NetworkPolicy unless noted):
 *   list    GET  /apis/networking.k8s.io/v1[/namespaces/NS]/networkpolicies
 *           labelSelector (=, ==, !=, exists, !key, in, notin), limit + continue (tokens encode the
 *           last key, so deletions between pages skip nothing), resourceVersion in the list meta.
 *   watch   the same path with ?watch=true: JSON lines; resourceVersion resumes from history
 *           (ADDED/MODIFIED/DELETED, selector transitions become ADDED/DELETED like the watch
 *           cache), absent/"0" starts with synthetic ADDED events; too old → ERROR event 410;
 *           allowWatchBookmarks + sendBookmark(); timeoutSeconds ends the stream.
 *   get     GET    .../namespaces/NS/networkpolicies/NAME           404 when missing
 *   create  POST   .../namespaces/NS/networkpolicies                409 when it exists
 *   replace PUT    .../namespaces/NS/networkpolicies/NAME           409 on resourceVersion mismatch
 *   patch   PATCH  .../namespaces/NS/networkpolicies/NAME           merge-patch semantics (also for
 *           strategic-merge-patch, which is identical for metadata maps); 415 for json-patch
 *   delete  DELETE .../namespaces/NS/networkpolicies/NAME           DeleteOptions.preconditions
 *           (uid, resourceVersion) → 409 on mismatch; 404 when missing; ?dryRun=All deletes nothing
 *   events  POST   /api/v1/namespaces/NS/events (core/v1)            409 AlreadyExists on a name clash
 *
 * Differences from a real server, on purpose: no history snapshots (a continued list sees the
 * current state, not the first page's), a single global resourceVersion counter, no admission
 * unless a test installs one for UPDATEs (setUpdateAdmission: the patched or replaced object and
 * the stored one in, the object to store or a denial out), no field selectors (400), no namespace
 * objects.
 *
 * Fault injection: failNext(route, {status, headers, body, times, match}) answers the next
 * matching requests with that status instead of handling them; beforeNext(route, fn) runs fn
 * (e.g. a concurrent edit) just before the next matching request is handled; compact() makes every
 * resourceVersion and continue token issued so far too old (410); expireWatches() sends open
 * watches an ERROR 410 event; closeWatches() ends them cleanly.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig, type CoreV1Event, type V1NetworkPolicy } from '@kubernetes/client-node';
import { generate } from 'selfsigned';

export type FakeRoute = 'list' | 'watch' | 'get' | 'create' | 'replace' | 'patch' | 'delete' | 'createEvent';

export interface FakeRequest {
  route: FakeRoute | 'unknown';
  method: string;
  path: string;
  /** Query parameters (last value wins). */
  query: Record<string, string>;
  /** Parsed JSON body, or undefined when there was none. */
  body: unknown;
  /** The status answered (a watch records 200 when the stream opens). */
  status: number;
}

export interface FaultSpec {
  status: number;
  /** Extra response headers, e.g. { 'retry-after': '7' }. */
  headers?: Record<string, string>;
  /** Response body; defaults to a metav1.Status matching the code. */
  body?: unknown;
  /** How many matching requests get the fault (default 1). */
  times?: number;
  /** Only requests for which this returns true (default: all requests on the route). */
  match?: (request: FakeRequest) => boolean;
}

export interface FakeApiServerOptions {
  /** HTTPS with a throwaway self-signed certificate (default). false: plain HTTP, cheaper for benchmarks. */
  tls?: boolean;
  /** Bearer token clients must present; default random (kubeConfig() carries it); null disables the check. */
  token?: string | null;
  /** Keep every request in `requests` (default true; turn off when pushing 100k objects through). */
  recordRequests?: boolean;
  /**
   * Watch events kept for resuming; resuming from before them gets 410 (default 10_000), like the
   * watch cache. Continue tokens expire only on compact(), like etcd compaction.
   */
  historyLimit?: number;
  /** First resourceVersion handed out (default 1000). */
  initialResourceVersion?: number;
}

/** What an admission chain answers for one UPDATE: the object to store, or a denial. */
export type FakeAdmissionVerdict = { allowed: true; object: V1NetworkPolicy } | { allowed: false; status: number; message: string };
export type FakeUpdateAdmission = (update: { object: V1NetworkPolicy; oldObject: V1NetworkPolicy }) => FakeAdmissionVerdict;

/** Shorthand for building a grant-shaped NetworkPolicy in tests and benchmarks. */
export interface GrantPolicySpec {
  namespace: string;
  name: string;
  /** expires-at annotation; a Date is formatted as RFC 3339 UTC, a string is used verbatim. */
  expiresAt?: Date | string;
  /** Adds the temporary label (default true). */
  temporary?: boolean;
  ticket?: string;
  requestedBy?: string;
  grantedAt?: Date | string;
  /** Annotation prefix (default netpol-guard.io). */
  prefix?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
}

export function grantPolicy(spec: GrantPolicySpec): V1NetworkPolicy {
  const prefix = spec.prefix ?? 'netpol-guard.io';
  const stamp = (v: Date | string): string => (typeof v === 'string' ? v : v.toISOString().replace(/\.\d{3}Z$/, 'Z'));
  const annotations: Record<string, string> = { ...spec.annotations };
  if (spec.expiresAt !== undefined) annotations[`${prefix}/expires-at`] = stamp(spec.expiresAt);
  if (spec.ticket !== undefined) annotations[`${prefix}/ticket`] = spec.ticket;
  if (spec.requestedBy !== undefined) annotations[`${prefix}/requested-by`] = spec.requestedBy;
  if (spec.grantedAt !== undefined) annotations[`${prefix}/granted-at`] = stamp(spec.grantedAt);
  const labels: Record<string, string> = { ...spec.labels };
  if (spec.temporary ?? true) labels[`${prefix}/temporary`] = 'true';
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      namespace: spec.namespace,
      name: spec.name,
      labels,
      annotations,
      ...(spec.uid !== undefined ? { uid: spec.uid } : {}),
    },
    spec: {
      podSelector: { matchLabels: { app: 'client' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '10.20.30.0/24' } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
    },
  };
}

// ---- internals ----

type Json = Record<string, unknown>;
type Policy = V1NetworkPolicy & { metadata: NonNullable<V1NetworkPolicy['metadata']> };

interface HistoryEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Policy;
  /** For MODIFIED: the previous state, so selector transitions can be computed per watcher. */
  previous: Policy | undefined;
}

interface Watcher {
  namespace: string | undefined;
  selector: Selector;
  bookmarks: boolean;
  res: ServerResponse;
  timer: NodeJS.Timeout | undefined;
}

/** A field selector term; the fake knows metadata.name and metadata.namespace, as every resource does. */
export interface FieldRequirement {
  field: 'metadata.name' | 'metadata.namespace';
  op: 'eq' | 'neq';
  value: string;
}

interface Selector {
  labels: Requirement[];
  fields: FieldRequirement[];
}

export type Requirement =
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'notexists'; key: string };

interface ContinueToken {
  rv: number;
  start: string;
}

interface PendingFault extends FaultSpec {
  route: FakeRoute;
  remaining: number;
}

interface PendingHook {
  route: FakeRoute;
  fn: (request: FakeRequest) => void | Promise<void>;
  remaining: number;
}

const NP_ALL = /^\/apis\/networking\.k8s\.io\/v1\/networkpolicies$/;
const NP_NS = /^\/apis\/networking\.k8s\.io\/v1\/namespaces\/([^/]+)\/networkpolicies$/;
const NP_ONE = /^\/apis\/networking\.k8s\.io\/v1\/namespaces\/([^/]+)\/networkpolicies\/([^/]+)$/;
const EVENTS_NS = /^\/api\/v1\/namespaces\/([^/]+)\/events$/;
const MAX_BODY_BYTES = 3 * 1024 * 1024;

let certificate: Promise<{ cert: string; key: string }> | undefined;
function testCertificate(): Promise<{ cert: string; key: string }> {
  // One per process: EC keys are cheap, but there is no reason to make one per test.
  certificate ??= generate([{ name: 'commonName', value: 'fake-kube-apiserver' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
    ],
  }).then((pems) => ({ cert: pems.cert, key: pems.private }));
  return certificate;
}

export class FakeApiServer {
  /** Every request, in arrival order (unless recordRequests is off). */
  readonly requests: FakeRequest[] = [];
  private extra: ExtraHandler | undefined;

  /**
   * Answer paths the fake does not model (GrantRequests, RBAC, namespaces) with `handler`
   * (recorded as route `unknown`); undefined from it falls through to 404. One at a time.
   */
  serveExtra(handler: ExtraHandler | undefined): void {
    this.extra = handler;
  }
  /** core/v1 Events created through the API, in creation order. */
  readonly events: CoreV1Event[] = [];

  private readonly server: Server;
  private readonly tls: boolean;
  private readonly token: string | null;
  private readonly caPem: string | undefined;
  private readonly record: boolean;
  private readonly historyLimit: number;
  private readonly policies = new Map<string, Policy>();
  private sortedKeys: string[] = [];
  private sortedDirty = false;
  private rv: number;
  private history: HistoryEvent[] = [];
  private historyHead = 0;
  /** Resuming a watch from a resourceVersion below this is "too old" (the watch history's start). */
  private oldestResumableRv: number;
  /** Everything issued before this was compacted away: continue tokens below it get 410. */
  private compactedRv: number;
  private readonly watchers = new Set<Watcher>();
  private faults: PendingFault[] = [];
  private hooks: PendingHook[] = [];
  private ignoreSelector = false;
  private dateSource: (() => Date) | undefined;
  private updateAdmission: FakeUpdateAdmission | undefined;
  private port = 0;
  private connections = 0;

  private constructor(server: Server, options: FakeApiServerOptions, caPem: string | undefined) {
    this.server = server;
    this.tls = options.tls ?? true;
    this.token = options.token === undefined ? randomBytes(16).toString('hex') : options.token;
    this.caPem = caPem;
    this.record = options.recordRequests ?? true;
    this.historyLimit = options.historyLimit ?? 10_000;
    this.rv = options.initialResourceVersion ?? 1000;
    this.oldestResumableRv = this.rv;
    this.compactedRv = this.rv;
  }

  static async start(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const tls = options.tls ?? true;
    let fake!: FakeApiServer;
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      fake.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sendStatus(res, 500, 'InternalError', `fake apiserver bug: ${(err as Error).message}`);
        else res.destroy();
      });
    };
    let server: Server;
    let caPem: string | undefined;
    if (tls) {
      const { cert, key } = await testCertificate();
      caPem = cert;
      server = createHttpsServer({ cert, key }, handler) as unknown as Server;
    } else {
      server = createHttpServer(handler);
    }
    fake = new FakeApiServer(server, options, caPem);
    server.on('connection', () => fake.connections++);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    fake.port = (server.address() as AddressInfo).port;
    return fake;
  }

  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /** The current (last issued) resourceVersion. */
  get resourceVersion(): string {
    return String(this.rv);
  }

  /** TCP connections accepted so far (shows whether clients reuse connections). */
  get connectionCount(): number {
    return this.connections;
  }

  /** Number of open watch streams. */
  get watchCount(): number {
    return this.watchers.size;
  }

  /** A KubeConfig for the real client library, trusting this server's certificate. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'fake',
          server: this.url,
          // client-node refuses http:// unless TLS verification is off; with TLS it verifies against our CA.
          skipTLSVerify: !this.tls,
          ...(this.caPem !== undefined ? { caData: Buffer.from(this.caPem).toString('base64') } : {}),
        },
      ],
      users: [{ name: 'fake', ...(this.token !== null ? { token: this.token } : {}) }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** The same configuration as a kubeconfig file's text, for `--kubeconfig`. */
  kubeconfigText(): string {
    const cluster: Json = { server: this.url };
    if (this.caPem !== undefined) cluster['certificate-authority-data'] = Buffer.from(this.caPem).toString('base64');
    if (!this.tls) cluster['insecure-skip-tls-verify'] = true;
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster }],
      users: [{ name: 'fake', user: this.token !== null ? { token: this.token } : {} }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
      'current-context': 'fake',
    }, null, 2);
  }

  async stop(): Promise<void> {
    for (const w of [...this.watchers]) this.endWatcher(w);
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---- state, bypassing HTTP ----

  /**
   * Create or replace a policy as if someone had written it: assigns uid (kept across updates),
   * creationTimestamp and a new resourceVersion, and tells open watches unless notify is false
   * (simulating a watch event the client never got). Accepts the client-node model shape
   * (`ingress[]._from`) as well as the wire shape (`ingress[].from`).
   */
  putPolicy(policy: V1NetworkPolicy, options: { notify?: boolean } = {}): V1NetworkPolicy {
    const ns = policy.metadata?.namespace;
    const name = policy.metadata?.name;
    if (!ns || !name) throw new Error('putPolicy: metadata.namespace and metadata.name are required');
    const key = `${ns}/${name}`;
    const previous = this.policies.get(key);
    const stored = toWire(clone(policy) as Policy);
    stored.apiVersion = 'networking.k8s.io/v1';
    stored.kind = 'NetworkPolicy';
    stored.metadata.uid = previous?.metadata.uid ?? policy.metadata?.uid ?? randomUUID();
    stored.metadata.creationTimestamp = (previous?.metadata.creationTimestamp ??
      new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')) as unknown as Date;
    stored.metadata.generation = (previous?.metadata.generation ?? 0) + 1;
    stored.metadata.resourceVersion = String(++this.rv);
    this.policies.set(key, stored);
    if (!previous) this.sortedDirty = true;
    this.emit(previous ? 'MODIFIED' : 'ADDED', stored, previous, options.notify ?? true);
    return clone(stored);
  }

  /** Remove a policy as if someone had deleted it; false when it did not exist. */
  removePolicy(namespace: string, name: string, options: { notify?: boolean } = {}): boolean {
    const key = `${namespace}/${name}`;
    const previous = this.policies.get(key);
    if (!previous) return false;
    this.policies.delete(key);
    const gone = clone(previous);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit('DELETED', gone, undefined, options.notify ?? true);
    return true;
  }

  getPolicy(namespace: string, name: string): V1NetworkPolicy | undefined {
    const p = this.policies.get(`${namespace}/${name}`);
    return p ? clone(p) : undefined;
  }

  hasPolicy(namespace: string, name: string): boolean {
    return this.policies.has(`${namespace}/${name}`);
  }

  get policyCount(): number {
    return this.policies.size;
  }

  /** All stored policies, sorted by namespace/name. */
  listPolicies(): V1NetworkPolicy[] {
    return this.orderedKeys().flatMap((k) => {
      const p = this.policies.get(k);
      return p ? [clone(p)] : [];
    });
  }

  /**
   * A fresh world for the next test on a shared server: every policy removed (open watches see
   * the deletions), faults and hooks dropped, recorded requests and events forgotten.
   */
  reset(): void {
    for (const p of this.listPolicies()) this.removePolicy(p.metadata!.namespace!, p.metadata!.name!);
    this.clearFaults();
    this.requests.length = 0;
    this.events.length = 0;
  }

  // ---- fault injection ----

  /** Answer the next `times` requests on `route` (matching `match`) with `status` instead. */
  failNext(route: FakeRoute, fault: FaultSpec): void {
    this.faults.push({ ...fault, route, remaining: fault.times ?? 1 });
  }

  /** Run `fn` just before the next `times` requests on `route` are handled (after faults). */
  beforeNext(route: FakeRoute, fn: (request: FakeRequest) => void | Promise<void>, times = 1): void {
    this.hooks.push({ route, fn, remaining: times });
  }

  /** Drop all pending faults and hooks. */
  clearFaults(): void {
    this.faults = [];
    this.hooks = [];
  }

  /** Misbehave like a server (or proxy) that ignores labelSelector on list and watch. */
  setIgnoreLabelSelector(ignore: boolean): void {
    this.ignoreSelector = ignore;
  }

  /**
   * Compact history: every resourceVersion and continue token issued so far becomes too old
   * (watch → ERROR 410, continue → HTTP 410). Open watches keep running, as on a real server.
   */
  compact(): void {
    this.rv++;
    this.oldestResumableRv = this.rv;
    this.compactedRv = this.rv;
    this.history = [];
    this.historyHead = 0;
  }

  /** Send every open watch an ERROR event with code 410 (Expired) and end it. */
  expireWatches(): void {
    for (const w of [...this.watchers]) {
      writeLine(w.res, { type: 'ERROR', object: statusBody(410, 'Expired', 'too old resource version') });
      this.endWatcher(w);
    }
  }

  /** End every open watch cleanly, as a server does when timeoutSeconds elapses. */
  closeWatches(): void {
    for (const w of [...this.watchers]) this.endWatcher(w);
  }

  /**
   * The clock behind every response's Date header (HTTP-date, whole seconds, as a real server
   * sends). Unset (the default), responses carry no Date header, so tests that drive a fake local
   * clock see no skew against the machine's real time.
   */
  setDateSource(source: (() => Date) | undefined): void {
    this.dateSource = source;
  }

  /**
   * Run `admission` on every UPDATE (patch and replace) after the resourceVersion and uid checks
   * and before storing, as the API server runs its webhooks; undefined removes it. Kept across reset().
   */
  setUpdateAdmission(admission: FakeUpdateAdmission | undefined): void {
    this.updateAdmission = admission;
  }

  /** Send every open watch an ERROR event with this status (e.g. 500) and end it. */
  failWatches(code: number, reason = reasonFor(code)): void {
    for (const w of [...this.watchers]) {
      writeLine(w.res, { type: 'ERROR', object: statusBody(code, reason, `injected watch error: ${code}`) });
      this.endWatcher(w);
    }
  }

  /** Cut every open watch's connection without ending the response (a reset, not a clean close). */
  resetWatches(): void {
    for (const w of [...this.watchers]) {
      this.watchers.delete(w);
      if (w.timer) clearTimeout(w.timer);
      w.res.socket?.destroy();
    }
  }

  /** Send a BOOKMARK at the current resourceVersion to watches that asked for bookmarks. */
  sendBookmark(): void {
    for (const w of this.watchers) {
      if (w.bookmarks) {
        writeLine(w.res, {
          type: 'BOOKMARK',
          object: { kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1', metadata: { resourceVersion: String(this.rv) } },
        });
      }
    }
  }

  /** Requests recorded on `route`. */
  requestsFor(route: FakeRoute): FakeRequest[] {
    return this.requests.filter((r) => r.route === route);
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.sendDate = false;
    if (this.dateSource !== undefined) res.setHeader('date', this.dateSource().toUTCString());
    const url = new URL(req.url ?? '/', 'http://fake');
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const route = routeOf(method, path, query);
    let body: unknown;
    try {
      body = await readJsonBody(req);
    } catch (err) {
      this.recordAndSend(res, { route, method, path, query, body: undefined, status: 400 }, 400, 'BadRequest', (err as Error).message);
      return;
    }
    const request: FakeRequest = { route, method, path, query, body, status: 0 };

    if (this.token !== null && req.headers.authorization !== `Bearer ${this.token}`) {
      this.recordAndSend(res, request, 401, 'Unauthorized', 'Unauthorized');
      return;
    }
    if (route === 'unknown') {
      const extra = this.extra?.(method, path, query, body);
      if (extra !== undefined) {
        this.recordAndSendJson(res, request, extra.status, extra.body);
        return;
      }
      this.recordAndSend(res, request, 404, 'NotFound', 'the server could not find the requested resource');
      return;
    }
    const fault = this.takeFault(request);
    if (fault) {
      request.status = fault.status;
      if (this.record) this.requests.push(request);
      const payload = fault.body ?? statusBody(fault.status, reasonFor(fault.status), `injected fault: HTTP ${fault.status}`);
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      res.end(JSON.stringify(payload));
      return;
    }
    for (const hook of this.takeHooks(request)) await hook.fn(request);

    switch (route) {
      case 'list':
        return this.handleList(res, request, namespaceOf(path));
      case 'watch':
        return this.handleWatch(res, request, namespaceOf(path));
      case 'get':
        return this.handleGet(res, request, path);
      case 'create':
        return this.handleCreate(res, request, path);
      case 'replace':
        return this.handleReplace(res, request, path);
      case 'patch':
        return this.handlePatch(req, res, request, path);
      case 'delete':
        return this.handleDelete(res, request, path);
      case 'createEvent':
        return this.handleCreateEvent(res, request, path);
    }
  }

  private handleList(res: ServerResponse, request: FakeRequest, namespace: string | undefined): void {
    const selector = this.selectorOf(request, res);
    if (selector === undefined) return;
    const limitText = request.query.limit;
    const limit = limitText === undefined || limitText === '' ? 0 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 0) {
      this.recordAndSend(res, request, 400, 'BadRequest', `invalid limit "${limitText}"`);
      return;
    }
    let listRv = this.rv;
    let startAfter: string | undefined;
    const cont = request.query.continue;
    if (cont !== undefined && cont !== '') {
      const token = decodeContinue(cont);
      if (token === undefined) {
        this.recordAndSend(res, request, 400, 'BadRequest', 'continue key is not valid');
        return;
      }
      if (token.rv < this.compactedRv) {
        this.recordAndSend(
          res,
          request,
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        );
        return;
      }
      listRv = token.rv;
      startAfter = token.start;
    }

    const keys = this.orderedKeys();
    let i = startAfter === undefined ? lowerBound(keys, namespace === undefined ? '' : `${namespace}/`) : upperBound(keys, startAfter);
    const items: Policy[] = [];
    let lastKey: string | undefined;
    let more = false;
    for (; i < keys.length; i++) {
      const key = keys[i]!;
      if (namespace !== undefined && !key.startsWith(`${namespace}/`)) break;
      const p = this.policies.get(key);
      if (!p || !this.selects(selector, p)) continue;
      if (limit > 0 && items.length === limit) {
        more = true;
        break;
      }
      items.push(p);
      lastKey = key;
    }
    const metadata: Json = { resourceVersion: String(listRv) };
    if (more && lastKey !== undefined) metadata.continue = encodeContinue({ rv: listRv, start: lastKey });
    request.status = 200;
    if (this.record) this.requests.push(request);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'NetworkPolicyList', apiVersion: 'networking.k8s.io/v1', metadata, items }));
  }

  private handleWatch(res: ServerResponse, request: FakeRequest, namespace: string | undefined): void {
    const selector = this.selectorOf(request, res);
    if (selector === undefined) return;
    const rvText = request.query.resourceVersion;
    const fromScratch = rvText === undefined || rvText === '' || rvText === '0';
    const fromRv = fromScratch ? 0 : Number(rvText);
    if (!fromScratch && (!/^[0-9]+$/.test(rvText!) || !Number.isSafeInteger(fromRv))) {
      this.recordAndSend(res, request, 400, 'BadRequest', `invalid resourceVersion "${rvText}"`);
      return;
    }
    request.status = 200;
    if (this.record) this.requests.push(request);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const watcher: Watcher = {
      namespace,
      selector,
      bookmarks: request.query.allowWatchBookmarks === 'true',
      res,
      timer: undefined,
    };
    if (!fromScratch && fromRv < this.oldestResumableRv) {
      writeLine(res, {
        type: 'ERROR',
        object: statusBody(410, 'Expired', `too old resource version: ${fromRv} (${this.oldestResumableRv})`),
      });
      res.end();
      return;
    }
    this.watchers.add(watcher);
    res.on('close', () => this.endWatcher(watcher));
    const timeoutSeconds = Number(request.query.timeoutSeconds);
    if (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0) {
      watcher.timer = setTimeout(() => this.endWatcher(watcher), timeoutSeconds * 1_000);
      watcher.timer.unref();
    }
    if (fromScratch) {
      for (const key of this.orderedKeys()) {
        const p = this.policies.get(key);
        if (p && this.inScope(watcher, p) && this.selects(selector, p)) writeLine(res, { type: 'ADDED', object: p });
      }
    } else {
      for (let i = this.historyHead; i < this.history.length; i++) {
        const e = this.history[i]!;
        if (e.rv > fromRv) this.deliver(watcher, e);
      }
    }
  }

  private handleGet(res: ServerResponse, request: FakeRequest, path: string): void {
    const [ns, name] = pathParts(path);
    const p = this.policies.get(`${ns}/${name}`);
    if (!p) {
      this.notFound(res, request, name);
      return;
    }
    this.recordAndSendJson(res, request, 200, p);
  }

  private handleCreate(res: ServerResponse, request: FakeRequest, path: string): void {
    const ns = namespaceOf(path)!;
    const body = request.body as Policy | undefined;
    const name = body?.metadata?.name;
    if (!body || typeof name !== 'string' || name === '') {
      this.recordAndSend(res, request, 422, 'Invalid', 'metadata.name: Required value');
      return;
    }
    if (body.metadata.namespace !== undefined && body.metadata.namespace !== ns) {
      this.recordAndSend(res, request, 400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
      return;
    }
    if (this.policies.has(`${ns}/${name}`)) {
      this.recordAndSend(res, request, 409, 'AlreadyExists', `networkpolicies.networking.k8s.io "${name}" already exists`);
      return;
    }
    const { uid: _uid, resourceVersion: _rv, ...metadata } = body.metadata;
    const stored = this.putPolicy({ ...body, metadata: { ...metadata, namespace: ns } });
    this.recordAndSendJson(res, request, 201, stored);
  }

  private handleReplace(res: ServerResponse, request: FakeRequest, path: string): void {
    const [ns, name] = pathParts(path);
    const current = this.policies.get(`${ns}/${name}`);
    const body = request.body as Policy | undefined;
    if (!current) {
      this.notFound(res, request, name);
      return;
    }
    if (!body?.metadata || body.metadata.name !== name) {
      this.recordAndSend(res, request, 400, 'BadRequest', 'the name of the object does not match the name on the URL');
      return;
    }
    const wantRv = body.metadata.resourceVersion;
    if (wantRv !== undefined && wantRv !== current.metadata.resourceVersion) {
      this.recordAndSend(res, request, 409, 'Conflict', `Operation cannot be fulfilled on networkpolicies.networking.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`);
      return;
    }
    const admitted = this.admitUpdate(res, request, { ...body, metadata: { ...body.metadata, namespace: ns, uid: current.metadata.uid } }, current);
    if (admitted === undefined) return;
    const stored = this.putPolicy(admitted);
    this.recordAndSendJson(res, request, 200, stored);
  }

  private handlePatch(req: IncomingMessage, res: ServerResponse, request: FakeRequest, path: string): void {
    const [ns, name] = pathParts(path);
    const current = this.policies.get(`${ns}/${name}`);
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (type !== 'application/merge-patch+json' && type !== 'application/strategic-merge-patch+json') {
      this.recordAndSend(res, request, 415, 'UnsupportedMediaType', `the fake apiserver only supports merge patches, not "${type}"`);
      return;
    }
    if (!current) {
      this.notFound(res, request, name);
      return;
    }
    const patch = request.body;
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
      this.recordAndSend(res, request, 400, 'BadRequest', 'patch body must be a JSON object');
      return;
    }
    const wantRv = (patch as Policy).metadata?.resourceVersion;
    if (wantRv !== undefined && wantRv !== current.metadata.resourceVersion) {
      this.recordAndSend(res, request, 409, 'Conflict', `Operation cannot be fulfilled on networkpolicies.networking.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`);
      return;
    }
    const wantUid = (patch as Policy).metadata?.uid;
    if (wantUid !== undefined && wantUid !== current.metadata.uid) {
      this.recordAndSend(res, request, 409, 'Conflict', `Operation cannot be fulfilled on networkpolicies.networking.k8s.io "${name}": Precondition failed: UID in precondition: ${String(wantUid)}, UID in object meta: ${current.metadata.uid}`);
      return;
    }
    const merged = mergePatch(clone(current), patch) as Policy;
    merged.metadata = { ...merged.metadata, namespace: ns, name, uid: current.metadata.uid };
    const admitted = this.admitUpdate(res, request, merged, current);
    if (admitted === undefined) return;
    const stored = this.putPolicy(admitted);
    this.recordAndSendJson(res, request, 200, stored);
  }

  /** The object to store after the installed admission, or undefined when it denied (and answered). */
  private admitUpdate(res: ServerResponse, request: FakeRequest, object: Policy, stored: Policy): Policy | undefined {
    if (this.updateAdmission === undefined) return object;
    const verdict = this.updateAdmission({ object: clone(object), oldObject: clone(stored) });
    if (!verdict.allowed) {
      this.recordAndSend(res, request, verdict.status, verdict.status === 403 ? 'Forbidden' : 'Invalid', verdict.message);
      return undefined;
    }
    const admitted = clone(verdict.object) as Policy;
    admitted.metadata = { ...admitted.metadata, namespace: stored.metadata.namespace, name: stored.metadata.name, uid: stored.metadata.uid };
    return admitted;
  }

  private handleDelete(res: ServerResponse, request: FakeRequest, path: string): void {
    const [ns, name] = pathParts(path);
    const current = this.policies.get(`${ns}/${name}`);
    if (!current) {
      this.notFound(res, request, name);
      return;
    }
    const pre = (request.body as { preconditions?: { uid?: string; resourceVersion?: string } } | undefined)?.preconditions;
    if (pre?.uid !== undefined && pre.uid !== current.metadata.uid) {
      this.recordAndSend(res, request, 409, 'Conflict', `Operation cannot be fulfilled on networkpolicies.networking.k8s.io "${name}": Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`);
      return;
    }
    if (pre?.resourceVersion !== undefined && pre.resourceVersion !== current.metadata.resourceVersion) {
      this.recordAndSend(res, request, 409, 'Conflict', `Operation cannot be fulfilled on networkpolicies.networking.k8s.io "${name}": Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`);
      return;
    }
    if (request.query.dryRun !== 'All') this.removePolicy(ns, name);
    this.recordAndSendJson(res, request, 200, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name, group: 'networking.k8s.io', kind: 'networkpolicies', uid: current.metadata.uid },
    });
  }

  private handleCreateEvent(res: ServerResponse, request: FakeRequest, path: string): void {
    const ns = EVENTS_NS.exec(path)![1]!;
    const body = request.body as CoreV1Event | undefined;
    if (!body?.metadata || !body.involvedObject) {
      this.recordAndSend(res, request, 422, 'Invalid', 'an Event needs metadata and involvedObject');
      return;
    }
    if (body.metadata.namespace !== undefined && body.metadata.namespace !== ns) {
      this.recordAndSend(res, request, 400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
      return;
    }
    if (body.involvedObject.namespace !== undefined && body.involvedObject.namespace !== ns) {
      this.recordAndSend(res, request, 422, 'Invalid', 'involvedObject.namespace: Invalid value: does not match event.namespace');
      return;
    }
    let name = body.metadata.name;
    if (!name) {
      if (!body.metadata.generateName) {
        this.recordAndSend(res, request, 422, 'Invalid', 'metadata.name: Required value: name or generateName is required');
        return;
      }
      name = `${body.metadata.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
    }
    if (this.events.some((e) => e.metadata.namespace === ns && e.metadata.name === name)) {
      this.recordAndSend(res, request, 409, 'AlreadyExists', `events "${name}" already exists`);
      return;
    }
    const stored = clone(body);
    stored.metadata = { ...stored.metadata, name, namespace: ns, uid: randomUUID(), resourceVersion: String(++this.rv) };
    this.events.push(stored);
    this.recordAndSendJson(res, request, 201, stored);
  }

  // ---- helpers ----

  private emit(type: HistoryEvent['type'], object: Policy, previous: Policy | undefined, notify: boolean): void {
    if (!notify) return;
    const event: HistoryEvent = { rv: Number(object.metadata.resourceVersion), type, object, previous };
    this.history.push(event);
    if (this.history.length - this.historyHead > this.historyLimit) {
      this.oldestResumableRv = this.history[this.historyHead]!.rv;
      this.historyHead++;
      if (this.historyHead > 1024 && this.historyHead * 2 > this.history.length) {
        this.history = this.history.slice(this.historyHead);
        this.historyHead = 0;
      }
    }
    for (const w of this.watchers) this.deliver(w, event);
  }

  /** Send one history event to one watcher, translating selector transitions like the watch cache. */
  private deliver(w: Watcher, e: HistoryEvent): void {
    if (!this.inScope(w, e.object)) return;
    const now = this.selects(w.selector, e.object);
    if (e.type === 'MODIFIED') {
      const before = e.previous !== undefined && this.selects(w.selector, e.previous);
      if (now && before) writeLine(w.res, { type: 'MODIFIED', object: e.object });
      else if (now) writeLine(w.res, { type: 'ADDED', object: e.object });
      else if (before) writeLine(w.res, { type: 'DELETED', object: e.object });
      return;
    }
    if (now) writeLine(w.res, { type: e.type, object: e.object });
  }

  private endWatcher(w: Watcher): void {
    if (!this.watchers.delete(w)) return;
    if (w.timer) clearTimeout(w.timer);
    w.res.end();
  }

  private inScope(w: Watcher, p: Policy): boolean {
    return w.namespace === undefined || p.metadata.namespace === w.namespace;
  }

  private selects(selector: Selector, p: Policy): boolean {
    if (!matchesFields(selector.fields, p)) return false;
    return this.ignoreSelector || matchesSelector(selector.labels, (p.metadata.labels ?? {}) as Record<string, string>);
  }

  private selectorOf(request: FakeRequest, res: ServerResponse): Selector | undefined {
    const parsed = parseSelector(request.query.labelSelector ?? '');
    if (typeof parsed === 'string') {
      this.recordAndSend(res, request, 400, 'BadRequest', `unable to parse requirement: ${parsed}`);
      return undefined;
    }
    const fields = parseFieldSelector(request.query.fieldSelector ?? '');
    if (typeof fields === 'string') {
      this.recordAndSend(res, request, 400, 'BadRequest', `invalid field selector: ${fields}`);
      return undefined;
    }
    return { labels: parsed, fields };
  }

  private orderedKeys(): string[] {
    if (this.sortedDirty) {
      this.sortedKeys = [...this.policies.keys()].sort();
      this.sortedDirty = false;
    } else if (this.sortedKeys.length > 2 * this.policies.size + 1024) {
      // Deleted keys are skipped lazily; drop them once they dominate.
      this.sortedKeys = this.sortedKeys.filter((k) => this.policies.has(k));
    }
    return this.sortedKeys;
  }

  private takeFault(request: FakeRequest): PendingFault | undefined {
    const index = this.faults.findIndex((f) => f.route === request.route && (f.match === undefined || f.match(request)));
    if (index < 0) return undefined;
    const fault = this.faults[index]!;
    if (--fault.remaining <= 0) this.faults.splice(index, 1);
    return fault;
  }

  private takeHooks(request: FakeRequest): PendingHook[] {
    const due = this.hooks.filter((h) => h.route === request.route);
    for (const h of due) h.remaining--;
    this.hooks = this.hooks.filter((h) => h.remaining > 0);
    return due;
  }

  private notFound(res: ServerResponse, request: FakeRequest, name: string): void {
    this.recordAndSend(res, request, 404, 'NotFound', `networkpolicies.networking.k8s.io "${name}" not found`);
  }

  private recordAndSend(res: ServerResponse, request: FakeRequest, status: number, reason: string, message: string): void {
    this.recordAndSendJson(res, request, status, statusBody(status, reason, message));
  }

  private recordAndSendJson(res: ServerResponse, request: FakeRequest, status: number, payload: unknown): void {
    request.status = status;
    if (this.record) this.requests.push(request);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(payload));
  }
}

export type ExtraHandler = (method: string, path: string, query: Record<string, string>, body: unknown) => { status: number; body: unknown } | undefined;

function routeOf(method: string, path: string, query: Record<string, string>): FakeRoute | 'unknown' {
  const watch = query.watch === 'true' || query.watch === '1';
  if (NP_ALL.test(path)) return method === 'GET' ? (watch ? 'watch' : 'list') : 'unknown';
  if (NP_NS.test(path)) {
    if (method === 'GET') return watch ? 'watch' : 'list';
    if (method === 'POST') return 'create';
    return 'unknown';
  }
  if (NP_ONE.test(path)) {
    switch (method) {
      case 'GET':
        return 'get';
      case 'PUT':
        return 'replace';
      case 'PATCH':
        return 'patch';
      case 'DELETE':
        return 'delete';
      default:
        return 'unknown';
    }
  }
  if (EVENTS_NS.test(path) && method === 'POST') return 'createEvent';
  return 'unknown';
}

function namespaceOf(path: string): string | undefined {
  const m = NP_NS.exec(path) ?? NP_ONE.exec(path) ?? EVENTS_NS.exec(path);
  return m ? decodeURIComponent(m[1]!) : undefined;
}

function pathParts(path: string): [string, string] {
  const m = NP_ONE.exec(path)!;
  return [decodeURIComponent(m[1]!), decodeURIComponent(m[2]!)];
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new Error('request body is not valid JSON');
  }
}

/** `metadata.name=x,metadata.namespace!=y` (= and == mean the same); a string is an error. */
export function parseFieldSelector(text: string): FieldRequirement[] | string {
  const out: FieldRequirement[] = [];
  for (const raw of text.split(',')) {
    const term = raw.trim();
    if (term === '') continue;
    const m = /^([a-z.]+)\s*(!=|==|=)\s*(.*)$/.exec(term);
    if (m === null) return `"${term}" is not field=value or field!=value`;
    const field = m[1]!;
    if (field !== 'metadata.name' && field !== 'metadata.namespace') return `field label not supported: ${field}`;
    out.push({ field, op: m[2] === '!=' ? 'neq' : 'eq', value: m[3]! });
  }
  return out;
}

function matchesFields(fields: FieldRequirement[], p: Policy): boolean {
  return fields.every((f) => {
    const actual = f.field === 'metadata.name' ? p.metadata.name : p.metadata.namespace;
    return f.op === 'eq' ? actual === f.value : actual !== f.value;
  });
}

function writeLine(res: ServerResponse, event: unknown): void {
  if (!res.writableEnded) res.write(`${JSON.stringify(event)}\n`);
}

function statusBody(code: number, reason: string, message: string): Json {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(statusBody(code, reason, message)));
}

function reasonFor(status: number): string {
  const reasons: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    409: 'Conflict',
    410: 'Expired',
    422: 'Invalid',
    429: 'TooManyRequests',
    500: 'InternalError',
    503: 'ServiceUnavailable',
    504: 'Timeout',
  };
  return reasons[status] ?? 'Unknown';
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'fake/1', rv: token.rv, start: token.start })).toString('base64url');
}

function decodeContinue(text: string): ContinueToken | undefined {
  try {
    const t = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as { v?: unknown; rv?: unknown; start?: unknown };
    if (t.v !== 'fake/1' || typeof t.rv !== 'number' || typeof t.start !== 'string') return undefined;
    return { rv: t.rv, start: t.start };
  } catch {
    return undefined;
  }
}

/** First index whose key is >= target. */
function lowerBound(keys: string[], target: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose key is > target. */
function upperBound(keys: string[], target: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid]! <= target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const KEY = '[A-Za-z0-9][-A-Za-z0-9_./]*';
const VALUE = '[-A-Za-z0-9_.]*';
const RE_EQ = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const RE_SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s+\\(([^)]*)\\)$`);
const RE_EXISTS = new RegExp(`^(${KEY})$`);
const RE_NOT_EXISTS = new RegExp(`^!\\s*(${KEY})$`);

/** Parse a label selector; a string result is the error. */
export function parseSelector(text: string): Requirement[] | string {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  const requirements: Requirement[] = [];
  for (const raw of parts) {
    const part = raw.trim();
    if (part === '') {
      if (text.trim() === '') continue;
      return `empty requirement in "${text}"`;
    }
    let m: RegExpExecArray | null;
    if ((m = RE_SET.exec(part))) {
      const values = m[3]!.split(',').map((v) => v.trim());
      if (values.some((v) => !new RegExp(`^${VALUE}$`).test(v))) return `invalid value in "${part}"`;
      requirements.push({ op: m[2] as 'in' | 'notin', key: m[1]!, values });
    } else if ((m = RE_EQ.exec(part))) {
      requirements.push({ op: m[2] === '!=' ? 'neq' : 'eq', key: m[1]!, value: m[3]! });
    } else if ((m = RE_NOT_EXISTS.exec(part))) {
      requirements.push({ op: 'notexists', key: m[1]! });
    } else if ((m = RE_EXISTS.exec(part))) {
      requirements.push({ op: 'exists', key: m[1]! });
    } else {
      return `"${part}"`;
    }
  }
  return requirements;
}

export function matchesSelector(requirements: Requirement[], labels: Record<string, string>): boolean {
  return requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    const value = labels[r.key];
    switch (r.op) {
      case 'eq':
        return has && value === r.value;
      case 'neq':
        return !has || value !== r.value;
      case 'in':
        return has && r.values.includes(value!);
      case 'notin':
        return !has || !r.values.includes(value!);
      case 'exists':
        return has;
      case 'notexists':
        return !has;
    }
  });
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Json = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Json) } : {};
  for (const [k, v] of Object.entries(patch as Json)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** client-node's models rename the one reserved word in NetworkPolicy: ingress[].from is `_from`. */
function toWire(policy: Policy): Policy {
  for (const rule of (policy.spec?.ingress ?? []) as Array<Record<string, unknown>>) {
    if ('_from' in rule) {
      rule.from = rule._from;
      delete rule._from;
    }
  }
  return policy;
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
