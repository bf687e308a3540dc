import { type ConfigurationOptions, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { ApiStatusError } from '../kube/apiErrors.js';
import { type AgentReuser, createAgentReuser } from '../kube/connectionReuse.js';
import { requestOptions } from '../kube/requestOptions.js';
import { GRANT_RECORD_GROUP, GRANT_RECORD_PLURAL, GRANT_RECORD_VERSION, type GrantRecord } from './grantRecord.js';

/**
 * A failed GrantRecord call: `status` is the HTTP status when the API server answered (404: no such
 * record, 409: exists on create or moved on update), undefined when there was no answer.
 */
export class GrantRecordApiError extends ApiStatusError {
  override name = 'GrantRecordApiError';
}

/**
 * The calls the recorder and `history` need on the cluster-scoped grantrecords. `update` is a
 * full replace that must carry metadata.resourceVersion (409 when the record moved on), so two
 * writers can never silently drop each other's entries.
 */
export interface GrantRecordClient {
  /** Every record (all pages), optionally filtered by a label selector. */
  list(labelSelector?: string): Promise<GrantRecord[]>;
  /** The record, or undefined when there is none. */
  get(name: string): Promise<GrantRecord | undefined>;
  create(record: GrantRecord): Promise<GrantRecord>;
  update(record: GrantRecord): Promise<GrantRecord>;
  /** Delete with a resourceVersion precondition; false when it was already gone. */
  delete(name: string, resourceVersion: string): Promise<boolean>;
}

const PAGE_SIZE = 500;
const WHERE = { group: GRANT_RECORD_GROUP, version: GRANT_RECORD_VERSION, plural: GRANT_RECORD_PLURAL } as const;

/** Per call: a hung API server must not stall a record's write chain (and the writes queued behind it). */
const REQUEST_TIMEOUT_MS = 30_000;
/** As many as the recorder sends at once (its writeConcurrency default), plus a list. */
const CONNECTION_POOL_SIZE = 9;

/**
 * The GrantRecordClient over client-node's CustomObjectsApi, on pooled keep-alive connections:
 * without them every write paid a TLS handshake, which the controller benchmark measured as
 * most of the CPU of writing 10,000 records.
 */
export class KubeGrantRecordClient implements GrantRecordClient {
  private readonly api: CustomObjectsApi;
  private readonly options: ConfigurationOptions | undefined;
  private readonly agents: AgentReuser | undefined;

  constructor(api: CustomObjectsApi, connection?: { agents: AgentReuser; timeoutMs: number }) {
    this.api = api;
    this.agents = connection?.agents;
    this.options = connection === undefined ? undefined : requestOptions(connection);
  }

  static fromKubeConfig(kubeConfig: KubeConfig, options: { timeoutMs?: number } = {}): KubeGrantRecordClient {
    const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    const agents = createAgentReuser({ maxSockets: CONNECTION_POOL_SIZE, retireAfterMs: timeoutMs });
    return new KubeGrantRecordClient(kubeConfig.makeApiClient(CustomObjectsApi), { agents, timeoutMs });
  }

  /** Close idle pooled connections (on shutdown). */
  close(): void {
    this.agents?.close();
  }

  async list(labelSelector?: string): Promise<GrantRecord[]> {
    const records: GrantRecord[] = [];
    let token: string | undefined;
    do {
      const page = (await this.call('list', '', () =>
        this.api.listClusterCustomObject({ ...WHERE, limit: PAGE_SIZE, ...(token ? { _continue: token } : {}), ...(labelSelector ? { labelSelector } : {}) }, this.options),
      )) as { items?: GrantRecord[]; metadata?: { _continue?: string; continue?: string } };
      records.push(...(page.items ?? []));
      token = page.metadata?.continue ?? page.metadata?._continue;
      if (token === '') token = undefined;
    } while (token !== undefined);
    return records;
  }

  async get(name: string): Promise<GrantRecord | undefined> {
    try {
      return (await this.call('get', name, () => this.api.getClusterCustomObject({ ...WHERE, name }, this.options))) as GrantRecord;
    } catch (err) {
      if (err instanceof GrantRecordApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async create(record: GrantRecord): Promise<GrantRecord> {
    const name = record.metadata.name ?? '';
    return (await this.call('create', name, () => this.api.createClusterCustomObject({ ...WHERE, body: record }, this.options))) as GrantRecord;
  }

  async update(record: GrantRecord): Promise<GrantRecord> {
    const name = record.metadata.name ?? '';
    if (!record.metadata.resourceVersion) throw new TypeError(`update of grantrecord ${name} needs metadata.resourceVersion`);
    return (await this.call('update', name, () => this.api.replaceClusterCustomObject({ ...WHERE, name, body: record }, this.options))) as GrantRecord;
  }

  async delete(name: string, resourceVersion: string): Promise<boolean> {
    try {
      await this.call('delete', name, () => this.api.deleteClusterCustomObject({ ...WHERE, name, body: { preconditions: { resourceVersion } } }, this.options));
      return true;
    } catch (err) {
      if (err instanceof GrantRecordApiError && err.status === 404) return false;
      throw err;
    }
  }

  private async call(verb: string, name: string, send: () => Promise<unknown>): Promise<unknown> {
    try {
      return await send();
    } catch (err) {
      throw new GrantRecordApiError(`${verb} grantrecord${name ? ` ${name}` : 's'}`, err);
    }
  }
}
