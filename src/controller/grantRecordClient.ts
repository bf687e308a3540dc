import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { ApiStatusError } from '../kube/apiErrors.js';
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

/** The GrantRecordClient over client-node's CustomObjectsApi. */
export class KubeGrantRecordClient implements GrantRecordClient {
  private readonly api: CustomObjectsApi;

  constructor(api: CustomObjectsApi) {
    this.api = api;
  }

  static fromKubeConfig(kubeConfig: KubeConfig): KubeGrantRecordClient {
    return new KubeGrantRecordClient(kubeConfig.makeApiClient(CustomObjectsApi));
  }

  async list(labelSelector?: string): Promise<GrantRecord[]> {
    const records: GrantRecord[] = [];
    let token: string | undefined;
    do {
      const page = (await this.call('list', '', () =>
        this.api.listClusterCustomObject({ ...WHERE, limit: PAGE_SIZE, ...(token ? { _continue: token } : {}), ...(labelSelector ? { labelSelector } : {}) }),
      )) as { items?: GrantRecord[]; metadata?: { _continue?: string; continue?: string } };
      records.push(...(page.items ?? []));
      token = page.metadata?.continue ?? page.metadata?._continue;
      if (token === '') token = undefined;
    } while (token !== undefined);
    return records;
  }

  async get(name: string): Promise<GrantRecord | undefined> {
    try {
      return (await this.call('get', name, () => this.api.getClusterCustomObject({ ...WHERE, name }))) as GrantRecord;
    } catch (err) {
      if (err instanceof GrantRecordApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async create(record: GrantRecord): Promise<GrantRecord> {
    const name = record.metadata.name ?? '';
    return (await this.call('create', name, () => this.api.createClusterCustomObject({ ...WHERE, body: record }))) as GrantRecord;
  }

  async update(record: GrantRecord): Promise<GrantRecord> {
    const name = record.metadata.name ?? '';
    if (!record.metadata.resourceVersion) throw new TypeError(`update of grantrecord ${name} needs metadata.resourceVersion`);
    return (await this.call('update', name, () => this.api.replaceClusterCustomObject({ ...WHERE, name, body: record }))) as GrantRecord;
  }

  async delete(name: string, resourceVersion: string): Promise<boolean> {
    try {
      await this.call('delete', name, () => this.api.deleteClusterCustomObject({ ...WHERE, name, body: { preconditions: { resourceVersion } } }));
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
