/**
 * List and watch any resource as metadata only (meta.k8s.io/v1 PartialObjectMetadata), which
 * every API server serves when asked through the Accept header. client-node's typed clients and
 * its Watch send their own Accept, so this speaks HTTP directly, with the KubeConfig's TLS
 * material and credentials (applyToHTTPSOptions). A pod's metadata is a few hundred bytes where
 * the full object is several kilobytes: the difference between holding 100k pods or not.
 */
import { type Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { type Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig, V1ObjectMeta } from '@kubernetes/client-node';
import { type AgentReuser, createAgentReuser } from './connectionReuse.js';
import type { ListPage } from './pagedList.js';
import type { WatchEventType, WatchParams, WatchStream } from './watchStream.js';

/** What the API server sends for one object when asked for metadata only. */
export interface PartialObjectMetadata {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
}

export const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
export const METADATA_WATCH_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/**
 * Pooled keep-alive connections per client. Each open watch holds one for its whole life, so this
 * must stay above the watches a client runs at once (the pod source: one watch, two list pages).
 */
const MAX_SOCKETS = 8;

const WATCH_EVENT_TYPES = new Set<string>(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

/**
 * An HTTP status from the API server (the shape httpStatusOf reads), with its metav1.Status body
 * when it sent one (the shape describeApiError and describeFailure read: who was refused what).
 */
export class MetadataRequestError extends Error {
  readonly statusCode: number | undefined;
  readonly body: unknown;
  constructor(message: string, statusCode: number | undefined, body?: string) {
    super(message);
    this.statusCode = statusCode;
    this.body = parseStatusBody(body);
  }
}

function parseStatusBody(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export interface MetadataListRequest {
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  limit: number;
  continueToken: string | undefined;
}

export class MetadataClient {
  private readonly kubeConfig: KubeConfig;
  private readonly timeoutMs: number;
  private readonly agents: AgentReuser;

  constructor(kubeConfig: KubeConfig, options: { timeoutMs?: number } = {}) {
    this.kubeConfig = kubeConfig;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.agents = createAgentReuser({ maxSockets: MAX_SOCKETS, retireAfterMs: this.timeoutMs });
  }

  /** One page of `path` (a collection URL such as /api/v1/pods), metadata only. */
  async listPage(path: string, request: MetadataListRequest): Promise<ListPage<PartialObjectMetadata>> {
    const query: Record<string, string> = { limit: String(request.limit) };
    if (request.labelSelector) query.labelSelector = request.labelSelector;
    if (request.fieldSelector) query.fieldSelector = request.fieldSelector;
    if (request.continueToken !== undefined) query.continue = request.continueToken;
    const response = await this.open(path, query, METADATA_LIST_ACCEPT, AbortSignal.timeout(this.timeoutMs));
    const text = await readBody(response);
    if (response.statusCode !== 200) throw new MetadataRequestError(`list ${path}: HTTP ${response.statusCode}: ${text.slice(0, 200)}`, response.statusCode, text);
    const list = JSON.parse(text) as { kind?: string; items?: PartialObjectMetadata[] | null; metadata?: { continue?: string; resourceVersion?: string } };
    // A server (or proxy) that ignored the Accept header would send full objects: refuse, so the
    // memory bound does not silently vanish.
    if (list.kind !== 'PartialObjectMetadataList') throw new MetadataRequestError(`list ${path}: expected PartialObjectMetadataList, got ${String(list.kind)}`, undefined);
    const token = list.metadata?.continue;
    return { items: list.items ?? [], continueToken: token === undefined || token === '' ? undefined : token, resourceVersion: list.metadata?.resourceVersion };
  }

  /** One object or list at `path` as plain JSON (wire field names, e.g. `from`); undefined on 404. */
  async getJson(path: string): Promise<unknown> {
    const response = await this.open(path, {}, 'application/json', AbortSignal.timeout(this.timeoutMs));
    const text = await readBody(response);
    if (response.statusCode === 404) return undefined;
    if (response.statusCode !== 200) throw new MetadataRequestError(`get ${path}: HTTP ${response.statusCode}: ${text.slice(0, 200)}`, response.statusCode, text);
    return JSON.parse(text) as unknown;
  }

  /** A watch of `path`, metadata only, in the shape the Informer consumes. */
  watch(path: string, params: WatchParams, onEvent: (type: WatchEventType, object: unknown) => void): WatchStream {
    const controller = new AbortController();
    let finished = false;
    let markConnected!: (ok: boolean) => void;
    const connected = new Promise<boolean>((resolve) => (markConnected = resolve));
    let markEnded!: (err: unknown) => void;
    const ended = new Promise<unknown>((resolve) => (markEnded = resolve));
    const finish = (err: unknown): void => {
      if (finished) return;
      finished = true;
      markConnected(false);
      markEnded(err ?? null);
      controller.abort();
      // Destroyed without an error first, so the socket's close cannot raise "aborted" on it.
      opened?.destroy();
    };
    let opened: IncomingMessage | undefined;
    const query: Record<string, string> = {
      watch: 'true',
      allowWatchBookmarks: 'true',
      resourceVersion: params.resourceVersion,
      timeoutSeconds: String(params.timeoutSeconds),
    };
    if (params.labelSelector) query.labelSelector = params.labelSelector;
    if (params.fieldSelector) query.fieldSelector = params.fieldSelector;
    this.open(path, query, METADATA_WATCH_ACCEPT, controller.signal).then(
      (response) => {
        opened = response;
        if (finished) {
          response.destroy();
          return;
        }
        if (response.statusCode !== 200) {
          response.resume();
          finish(new MetadataRequestError(`watch ${path}: HTTP ${response.statusCode}`, response.statusCode));
          return;
        }
        markConnected(true);
        const lines = createInterface({ input: response, crlfDelay: Infinity });
        // readline re-emits the response's errors (a connection reset mid-stream when the API
        // server goes away): unheard, that would crash the process instead of ending the watch.
        lines.on('error', (err) => finish(err));
        lines.on('line', (line) => {
          if (finished || line.trim() === '') return;
          let event: { type?: string; object?: unknown };
          try {
            event = JSON.parse(line) as { type?: string; object?: unknown };
          } catch {
            finish(new MetadataRequestError(`watch ${path}: a line is not JSON`, undefined));
            return;
          }
          if (typeof event.type === 'string' && WATCH_EVENT_TYPES.has(event.type)) onEvent(event.type as WatchEventType, event.object);
        });
        response.on('error', (err) => finish(err));
        response.on('close', () => finish(null));
      },
      (err: unknown) => finish(err),
    );
    return {
      connected,
      ended,
      abort: () => finish(null),
    };
  }

  private async open(path: string, query: Record<string, string>, accept: string, signal: AbortSignal): Promise<IncomingMessage> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    const options: RequestOptions = { method: 'GET', headers: { Accept: accept }, signal };
    await this.kubeConfig.applyToHTTPSOptions(options);
    // client-node hands each request a fresh Agent without keep-alive: a TCP and TLS handshake per
    // list page (200 of them for 100,000 pods), which made a sync wait mostly on handshakes.
    options.agent = this.agents.reuse(options.agent as HttpAgent | HttpsAgent | undefined);
    (options.headers as Record<string, string>).Accept = accept;
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, options, (response) => {
        // Aborting a watch destroys its response with "aborted"; the watch settles through
        // finish() and a list through readBody's iteration, so the event itself is not needed.
        response.on('error', () => undefined);
        resolve(response);
      });
      req.on('error', reject);
      req.end();
    });
  }
}

async function readBody(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
