/** An in-memory GrantRecordClient that enforces resourceVersion like the API server, with injectable faults. */
import type { GrantRecord } from '../../../src/controller/grantRecord.js';
import { GrantRecordApiError, type GrantRecordClient } from '../../../src/controller/grantRecordClient.js';

type Verb = 'list' | 'get' | 'create' | 'update' | 'delete';

export class MemoryGrantRecordClient implements GrantRecordClient {
  readonly records = new Map<string, GrantRecord>();
  readonly calls: { verb: Verb; name: string; status: number }[] = [];
  private faults: { verb: Verb; status: number | undefined }[] = [];
  private nextResourceVersion = 1;
  private listGate: Promise<void> | undefined;

  /** Lists wait until the returned function is called (records still loading at a takeover). */
  holdLists(): () => void {
    let release!: () => void;
    this.listGate = new Promise<void>((resolve) => (release = resolve));
    return release;
  }

  /** The next call of `verb` fails with `status` (undefined: no answer). */
  failNext(verb: Verb, status: number | undefined): void {
    this.faults.push({ verb, status });
  }

  /** Store a record as another writer would (no precondition). */
  put(record: GrantRecord): GrantRecord {
    const stored = clone(record);
    stored.metadata = { ...stored.metadata, resourceVersion: String(this.nextResourceVersion++) };
    this.records.set(stored.metadata.name!, stored);
    return clone(stored);
  }

  byPolicy(name: string): GrantRecord | undefined {
    return [...this.records.values()].find((r) => r.spec.policy.name === name);
  }

  writes(): { verb: Verb; name: string; status: number }[] {
    return this.calls.filter((c) => c.verb === 'create' || c.verb === 'update' || c.verb === 'delete');
  }

  /** `name` of a list call is its label selector. */
  async list(labelSelector?: string): Promise<GrantRecord[]> {
    await this.listGate;
    await this.hop('list', labelSelector ?? '');
    return [...this.records.values()].map(clone);
  }

  async get(name: string): Promise<GrantRecord | undefined> {
    await this.hop('get', name);
    const found = this.records.get(name);
    return found === undefined ? undefined : clone(found);
  }

  async create(record: GrantRecord): Promise<GrantRecord> {
    const name = record.metadata.name!;
    await this.hop('create', name, this.records.has(name) ? 409 : 200);
    return this.put(record);
  }

  async update(record: GrantRecord): Promise<GrantRecord> {
    const name = record.metadata.name!;
    const stored = this.records.get(name);
    const status = stored === undefined ? 404 : stored.metadata.resourceVersion !== record.metadata.resourceVersion ? 409 : 200;
    await this.hop('update', name, status);
    return this.put(record);
  }

  async delete(name: string, resourceVersion: string): Promise<boolean> {
    const stored = this.records.get(name);
    if (stored === undefined) {
      await this.hop('delete', name, 404).catch(() => undefined);
      return false;
    }
    await this.hop('delete', name, stored.metadata.resourceVersion === resourceVersion ? 200 : 409);
    this.records.delete(name);
    return true;
  }

  private async hop(verb: Verb, name: string, status = 200): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const index = this.faults.findIndex((f) => f.verb === verb);
    if (index >= 0) {
      const fault = this.faults.splice(index, 1)[0]!;
      this.calls.push({ verb, name, status: fault.status ?? 0 });
      throw new GrantRecordApiError(`${verb} ${name} (injected)`, undefined, fault.status);
    }
    this.calls.push({ verb, name, status });
    if (status !== 200) throw new GrantRecordApiError(`${verb} ${name}`, undefined, status);
  }
}

function clone(record: GrantRecord): GrantRecord {
  return JSON.parse(JSON.stringify(record)) as GrantRecord;
}
