/**
 * A read-only fake of the kube-apiserver for the `view` and `effect` benchmarks, in its own process
 * (so its CPU and memory are not the webhook's): HTTPS with a CA the client verifies, a bearer token,
 * and for each resource the webhook's view reads a paginated list (limit + continue) and a watch:
 *   /api/v1/namespaces                              NamespaceList
 *   /apis/networking.k8s.io/v1/networkpolicies       NetworkPolicyList (all namespaces)
 *   /apis/netpol-guard.io/v1alpha1/grantrecords      GrantRecordList
 *   /api/v1/pods                                     PartialObjectMetadataList (metadata only, as the
 *                                                    pod source asks; other Accept headers: 406)
 * labelSelector: comma-separated `k=v`, `k==v`, `k!=v` (anything else: 400). fieldSelector on pods:
 * `status.phase!=X` terms are accepted and select every pod (the dataset has no finished pods).
 * List pages are serialised once (those of 500 without a label selector before the server reports
 * ready), so a sync measures the client rather than this fake. A watch answers 200 at once and
 * stays open until its timeoutSeconds. With CHURN > 0, that many
 * grants per second are MODIFIED (a fresh resourceVersion) on every open policy watch, so the
 * informers and the view's indexes are updating while the webhook is under load.
 *
 * The objects are generated here from bench/view/dataset.ts' counts; the webhook worker builds the
 * same admission from the same counts.
 *
 * usage: node clusterApiServer.js KUBECONFIG_OUT DATASET_JSON [CHURN]   (IPC: sends {ready, counts}; answers {churned}
 * with {churned, connections}: events sent and TLS connections accepted so far; exits on disconnect)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type ClusterDataset, liveGrant, namespaces, pods, policies, records, toWire } from './dataset.js';
import { fakeApiIdentity, writeFakeKubeconfig } from '../fakeApiIdentity.js';

const [kubeconfigOut, datasetJson, churnText] = process.argv.slice(2);
if (kubeconfigOut === undefined || datasetJson === undefined) {
  process.stderr.write('usage: clusterApiServer.js KUBECONFIG_OUT DATASET_JSON [CHURN]\n');
  process.exit(2);
}
const dataset = JSON.parse(datasetJson) as ClusterDataset;
const churnPerSecond = Number(churnText ?? '0');

type Labelled = { metadata?: { labels?: Record<string, string> } | null };

interface Collection {
  kind: string;
  apiVersion: string;
  items: Labelled[];
  /** Items filtered by label selector, computed once per selector. */
  selections: Map<string, Labelled[]>;
  /** Serialised list pages by selector, limit and start: the data is static, so each page is built once. */
  pages: Map<string, string>;
  watchers: Set<ServerResponse>;
}

function collection(kind: string, apiVersion: string, items: Iterable<Labelled>): Collection {
  return { kind, apiVersion, items: [...items], selections: new Map(), pages: new Map(), watchers: new Set() };
}

const collections = new Map<string, Collection>([
  ['/api/v1/namespaces', collection('NamespaceList', 'v1', namespaces(dataset))],
  ['/apis/networking.k8s.io/v1/networkpolicies', collection('NetworkPolicyList', 'networking.k8s.io/v1', policies(dataset))],
  ['/apis/netpol-guard.io/v1alpha1/grantrecords', collection('GrantRecordList', 'netpol-guard.io/v1alpha1', records(dataset))],
  ['/api/v1/pods', collection('PartialObjectMetadataList', 'meta.k8s.io/v1', pods(dataset))],
]);
const INITIAL_RESOURCE_VERSION = 1_000_000;
let resourceVersion = INITIAL_RESOURCE_VERSION;
/** The informers' page size: these pages are built before the server reports ready, so a sync measures the client, not the fake. */
const INFORMER_PAGE_SIZE = 500;

type Requirement = { key: string; equal: boolean; value: string };

/** `a=b,c!=d` → requirements; undefined when a term is not one of the supported forms. */
function parseLabelSelector(text: string): Requirement[] | undefined {
  if (text === '') return [];
  const out: Requirement[] = [];
  for (const term of text.split(',')) {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(term.trim());
    if (!m) return undefined;
    out.push({ key: m[1]!, equal: m[2] !== '!=', value: m[3]! });
  }
  return out;
}

function selected(c: Collection, selector: string): Labelled[] | undefined {
  let items = c.selections.get(selector);
  if (items !== undefined) return items;
  const requirements = parseLabelSelector(selector);
  if (requirements === undefined) return undefined;
  items = c.items.filter((item) => requirements.every((r) => (item.metadata?.labels?.[r.key] === r.value) === r.equal));
  c.selections.set(selector, items);
  return items;
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function failure(res: ServerResponse, code: number, reason: string, message: string): void {
  send(res, code, JSON.stringify({ apiVersion: 'v1', kind: 'Status', status: 'Failure', code, reason, message }));
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.headers.authorization !== `Bearer ${token}`) return failure(res, 401, 'Unauthorized', 'bad token');
  const url = new URL(req.url ?? '/', 'https://127.0.0.1');
  const c = collections.get(url.pathname);
  if (req.method !== 'GET' || c === undefined) return failure(res, 404, 'NotFound', `no route for ${req.method} ${url.pathname}`);
  if (c.kind === 'PartialObjectMetadataList' && !(req.headers.accept ?? '').includes('as=PartialObjectMetadata')) {
    return failure(res, 406, 'NotAcceptable', 'this fake serves pods as metadata only');
  }
  const fieldSelector = url.searchParams.get('fieldSelector') ?? '';
  if (fieldSelector !== '' && !fieldSelector.split(',').every((t) => /^status\.phase!=\w+$/.test(t))) return failure(res, 400, 'BadRequest', `unsupported fieldSelector ${fieldSelector}`);
  const items = selected(c, url.searchParams.get('labelSelector') ?? '');
  if (items === undefined) return failure(res, 400, 'BadRequest', 'unsupported labelSelector');
  const query = url.searchParams;
  if (query.get('watch') === 'true' || query.get('watch') === '1') {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    c.watchers.add(res);
    const timeout = setTimeout(() => res.end(), Number(query.get('timeoutSeconds') ?? '600') * 1000);
    res.on('close', () => {
      clearTimeout(timeout);
      c.watchers.delete(res);
    });
    return;
  }
  const limit = Number(query.get('limit') ?? '0') || items.length;
  const start = Number(query.get('continue') ?? '0');
  send(res, 200, page(c, url.searchParams.get('labelSelector') ?? '', items, limit, start));
}

/** One list page as JSON, built once (the list's resourceVersion is the one at startup: the churn only touches watches). */
function page(c: Collection, selector: string, items: Labelled[], limit: number, start: number): string {
  const key = `${selector}|${limit}|${start}`;
  let text = c.pages.get(key);
  if (text === undefined) {
    const next = start + limit < items.length ? String(start + limit) : undefined;
    text = `{"kind":${JSON.stringify(c.kind)},"apiVersion":${JSON.stringify(c.apiVersion)},"metadata":{"resourceVersion":"${INITIAL_RESOURCE_VERSION}"${next === undefined ? '' : `,"continue":"${next}"`}},"items":${toWire(items.slice(start, start + limit))}}`;
    c.pages.set(key, text);
  }
  return text;
}

const identity = await fakeApiIdentity('bench-kube-apiserver');
const { token } = identity;
const server = createServer({ key: identity.key, cert: identity.cert }, handle);
server.keepAliveTimeout = 60_000;
let connections = 0;
server.on('secureConnection', () => connections++);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;
writeFakeKubeconfig(kubeconfigOut, port, identity);

// Churn: re-send live grants as MODIFIED, in ten batches a second.
let churned = 0;
if (churnPerSecond > 0 && dataset.grants > 0) {
  const policyWatchers = collections.get('/apis/networking.k8s.io/v1/networkpolicies')!.watchers;
  const perTick = Math.max(1, Math.round(churnPerSecond / 10));
  setInterval(() => {
    if (policyWatchers.size === 0) return;
    for (let k = 0; k < perTick; k++) {
      const grant = liveGrant((churned++ * 7_919) % dataset.grants, dataset);
      grant.metadata!.resourceVersion = String(++resourceVersion);
      const line = `{"type":"MODIFIED","object":${toWire(grant)}}\n`;
      for (const watcher of policyWatchers) watcher.write(line);
    }
  }, 100).unref();
}

for (const c of collections.values()) {
  const items = selected(c, '')!;
  for (let start = 0; start < items.length; start += INFORMER_PAGE_SIZE) page(c, '', items, INFORMER_PAGE_SIZE, start);
}
const counts = Object.fromEntries([...collections].map(([path, c]) => [path, c.items.length]));
process.send?.({ ready: true, counts });
process.on('message', (message: { churned?: boolean }) => {
  if (message.churned) process.send?.({ churned, connections });
});
process.on('disconnect', () => {
  for (const c of collections.values()) for (const w of c.watchers) w.end();
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
