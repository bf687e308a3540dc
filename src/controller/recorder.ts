import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describeApiError } from '../kube/apiErrors.js';
import type { InformerEvent } from '../kube/informer.js';
import {
  closeReason,
  type GrantRecord,
  type RecordConfig,
  recordChanged,
  recordClosed,
  recordName,
  recordOpened,
  isPastRetention,
} from './grantRecord.js';
import { GrantRecordApiError, type GrantRecordClient } from './grantRecordClient.js';
import { parseTimestamp } from '../lifecycle/timestamp.js';
import { createLimiter, type Limiter } from '../sweeper/limiter.js';

/** How the Sweeper tells the recorder what it saw and did (see Sweeper's `observer` option). */
export interface GrantObserver {
  /** Every informer event. `listing`: it came from a full list (startup or resync), not the watch. `reaping`: this process is deleting that grant right now. */
  observe(event: InformerEvent<V1NetworkPolicy>, context: { listing: boolean; reaping: boolean }): void;
  /** This process finished reaping `uid`: `deletedAt` when it deleted it, else whether it was gone. */
  reaped(uid: string, result: { deletedAt: Date; policy: V1NetworkPolicy } | { gone: boolean }): void;
  /** A full list completed: the grants alive now. */
  listed(live: V1NetworkPolicy[]): void;
}

export interface GrantRecorderOptions {
  client: GrantRecordClient;
  config: RecordConfig;
  /** The API server's time, as the sweeper estimates it. */
  now: () => Date;
  logger: Logger;
  /** Closed records older than this are deleted (history.retention). */
  retentionMs: number;
  /** Only this namespace's grants are watched: only its records may be closed as unobserved. */
  namespace?: string;
  /** Between failed writes (attempt 1, 2, …); resolves early when the signal aborts. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * API calls in flight at once (default 8). A takeover or a first install queues a write per
   * grant; sent all at once they were a connection storm (10,000 sockets, 1.3 GB, writes timing
   * out), so they wait their turn instead. Order per record is kept either way.
   */
  writeConcurrency?: number;
  /** Attempts per write (default 5). */
  maxAttempts?: number;
  /**
   * After each successful write: the record before (undefined when new) and as written. The
   * notifier hangs here, so notifications are exactly the record transitions. Must not block.
   */
  onWritten?: (before: GrantRecord | undefined, after: GrantRecord) => void;
  /** The GrantRequest and approvals that opened a grant, when one did (the approval controller knows). */
  approvalOf?: (policy: V1NetworkPolicy) => { grantRequest: string; approvals: { by: string; at: string }[] } | undefined;
  /**
   * Why a grant was deleted when netpol-guard itself is the reason beyond the revoke flow (its
   * GrantRequest was deleted): the record closes Revoked with this note instead of Deleted.
   */
  closeNote?: (lastSeen: V1NetworkPolicy) => string | undefined;
}

type Transform = (current: GrantRecord | undefined) => GrantRecord | undefined;

/**
 * Keeps one GrantRecord per grant, written by the leader only from what the Sweeper observes:
 * opened on add (late when found by a list without a record), a change per moved expiry or spec,
 * closed on delete as Expired (this process deleted it), Revoked (revoked-by stamp) or Deleted,
 * and DeletedNotObserved for open records whose grant a list no longer finds. Writes go one at a
 * time per record, each retried and re-applied to a fresh copy on 409; they run in the background
 * and never hold up a deletion. Closed records past the retention are pruned after each list.
 */
export class GrantRecorder implements GrantObserver {
  private readonly opts: GrantRecorderOptions;
  /** uid → the open record as last written or read. */
  private readonly records = new Map<string, GrantRecord>();
  /**
   * uid → what is kept of a closed record: enough to prune it and to know it is closed (a late
   * DELETED must not reopen or re-close it). A closed record never changes again, so holding it
   * whole would only cost memory: 100,000 closed records are a normal quarter's history.
   */
  private readonly closed = new Map<string, ClosedRecord>();
  private readonly limiter: Limiter;
  private readonly chains = new Map<string, Promise<void>>();
  /** Grants whose DELETED arrived while this process was reaping them. */
  private readonly goneWhileReaping = new Map<string, V1NetworkPolicy>();
  /** Deleted by this process after leadership began but before the records were loaded. */
  private readonly expiredBeforeLoad = new Map<string, { deletedAt: Date; policy: V1NetworkPolicy }>();
  private leadership: AbortSignal | undefined;
  private loaded = false;
  /** whenLoaded() callers of this term, told after the first reconcile. */
  private loadedWaiters: (() => void)[] = [];

  constructor(options: GrantRecorderOptions) {
    this.opts = options;
    this.limiter = createLimiter(options.writeConcurrency ?? DEFAULT_WRITE_CONCURRENCY);
  }

  /**
   * Record while `signal` is not aborted: load every record, reconcile with `live` (the grants the
   * informer holds now), then follow events. Resolves when the signal aborts and writes settled.
   */
  async actWhile(signal: AbortSignal, live: () => V1NetworkPolicy[]): Promise<void> {
    this.leadership = signal;
    if (!(await this.load(signal, live))) return;
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    this.loaded = false;
    this.expiredBeforeLoad.clear();
    await this.idle();
  }

  /**
   * Load every record and reconcile it with the live grants; false when leadership ended meanwhile.
   * A method of its own on purpose: the listed records (whole objects, about 3.5 KB each) must not
   * stay reachable from actWhile's frame, which stays suspended for the whole leadership term.
   */
  private async load(signal: AbortSignal, live: () => V1NetworkPolicy[]): Promise<boolean> {
    try {
      const all = await this.opts.client.list();
      if (signal.aborted) return false;
      this.records.clear();
      this.closed.clear();
      for (const record of all) this.remember(record.spec.policy.uid, record);
      this.loaded = true;
      this.opts.logger.info({ records: all.length }, 'grant records loaded');
      // A takeover deletes what is already due at once, usually before the records are in.
      for (const [uid, expired] of this.expiredBeforeLoad) this.reaped(uid, expired);
      this.expiredBeforeLoad.clear();
      this.reconcile(live());
      for (const tell of this.loadedWaiters.splice(0)) tell();
    } catch (err) {
      this.opts.logger.error({ error: describeApiError(err) }, 'could not load grant records; recording resumes after the next list');
    }
    return true;
  }

  /**
   * Resolves once this leadership term has loaded the records and queued what reconciling them with
   * the live grants calls for (the point from which every event is recorded; the takeover benchmark
   * measures up to here, then up to idle()).
   */
  whenLoaded(): Promise<void> {
    if (this.acting) return Promise.resolve();
    return new Promise((resolve) => this.loadedWaiters.push(resolve));
  }

  /** Every write queued so far has finished (or given up). */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.all(this.chains.values());
  }

  observe(event: InformerEvent<V1NetworkPolicy>, context: { listing: boolean; reaping: boolean }): void {
    const uid = event.key;
    if (event.type === 'delete' && context.reaping && this.leading) {
      this.goneWhileReaping.set(uid, event.object);
      return;
    }
    if (!this.acting) return;
    if (event.type === 'delete') {
      const note = context.listing ? undefined : this.opts.closeNote?.(event.object);
      const how = context.listing ? { how: 'DeletedNotObserved' as const } : note !== undefined ? { how: 'Revoked' as const } : closeReason(event.object, false, this.opts.config);
      this.close(uid, how.how, how.by, event.object, note);
      return;
    }
    const policy = event.object;
    const previous = event.type === 'update' ? event.previous : undefined;
    const late = context.listing;
    this.mutate(uid, (current) => {
      if (current === undefined) return this.opened(policy, this.opts.now(), late);
      return recordChanged(current, previous, policy, this.opts.now(), this.opts.config);
    });
  }

  reaped(uid: string, result: { deletedAt: Date; policy: V1NetworkPolicy } | { gone: boolean }): void {
    const seenGone = this.goneWhileReaping.get(uid);
    this.goneWhileReaping.delete(uid);
    if (!this.acting) {
      if (this.leading && 'deletedAt' in result) this.expiredBeforeLoad.set(uid, result);
      return;
    }
    if ('deletedAt' in result) {
      const at = result.deletedAt;
      this.mutate(uid, (current) => recordClosed(current ?? this.opened(result.policy, at, true), 'Expired', at));
    } else if (result.gone || seenGone !== undefined) {
      const how = closeReason(seenGone, false, this.opts.config);
      this.close(uid, how.how, how.by, seenGone);
    }
  }

  listed(live: V1NetworkPolicy[]): void {
    // Before the records are loaded there is nothing to compare with; actWhile reconciles then.
    if (this.acting) this.reconcile(live);
  }

  /** Leadership is held (the records may still be loading). */
  private get leading(): boolean {
    return this.leadership !== undefined && !this.leadership.aborted;
  }

  /** Leadership is held and the records are loaded: writes may go. */
  private get acting(): boolean {
    return this.loaded && this.leading;
  }

  /** Open what has no record, close open records whose grant is gone, prune old closed ones. */
  private reconcile(live: V1NetworkPolicy[]): void {
    const liveUids = new Set<string>();
    for (const policy of live) {
      const uid = policy.metadata?.uid;
      if (uid === undefined) continue;
      liveUids.add(uid);
      if (!this.records.has(uid) && !this.closed.has(uid)) this.mutate(uid, (current) => current ?? this.opened(policy, this.opts.now(), true));
    }
    const now = this.opts.now();
    for (const [uid, record] of this.records) {
      const inScope = this.opts.namespace === undefined || record.spec.policy.namespace === this.opts.namespace;
      if (inScope && !liveUids.has(uid) && !this.goneWhileReaping.has(uid)) this.close(uid, 'DeletedNotObserved');
    }
    for (const [uid, record] of this.closed) {
      if (isPastRetention(record.closedAtMs, now, this.opts.retentionMs)) this.prune(uid, record);
    }
  }

  /**
   * Close the record of `uid`. A grant seen (`lastSeen`) but without a record (its opening write
   * failed) is opened late and closed in the same write, so nothing seen ends unrecorded.
   */
  private close(uid: string, how: Parameters<typeof recordClosed>[1], by?: string, lastSeen?: V1NetworkPolicy, note?: string): void {
    this.mutate(uid, (current) => {
      const now = this.opts.now();
      const open = current ?? (lastSeen?.metadata?.uid !== undefined ? this.opened(lastSeen, now, true) : undefined);
      return open === undefined ? undefined : recordClosed(open, how, now, by, note);
    });
  }

  /** A new record for `policy`, with the approvals that opened it when a GrantRequest did. */
  private opened(policy: V1NetworkPolicy, at: Date, late: boolean): GrantRecord {
    const approval = this.opts.approvalOf?.(policy);
    return recordOpened(policy, at, this.opts.config, { late, ...(approval !== undefined ? { approval } : {}) });
  }

  /** Queue `transform` on the record of `uid`, after that record's earlier writes. */
  private mutate(uid: string, transform: Transform): void {
    const previous = this.chains.get(uid) ?? Promise.resolve();
    const next = previous.then(() => this.write(uid, transform));
    this.chains.set(uid, next);
    void next.finally(() => {
      if (this.chains.get(uid) === next) this.chains.delete(uid);
    });
  }

  private async write(uid: string, transform: Transform): Promise<void> {
    const signal = this.leadership;
    const maxAttempts = this.opts.maxAttempts ?? 5;
    // Every transform leaves a closed record as it is: nothing to write.
    if (this.closed.has(uid)) return;
    let current = this.records.get(uid);
    for (let attempt = 1; ; attempt++) {
      if (signal === undefined || signal.aborted) return;
      const next = transform(current);
      if (next === undefined || next === current) return;
      try {
        const update = current?.metadata.resourceVersion !== undefined;
        const written = await this.limiter.run(() => (update ? this.opts.client.update(next) : this.opts.client.create(next)));
        this.remember(uid, written);
        this.opts.logger.info({ record: written.metadata.name, state: written.status.state, policy: written.spec.policy }, current === undefined ? 'grant record opened' : 'grant record written');
        this.announce(current, written);
        return;
      } catch (err) {
        const status = err instanceof GrantRecordApiError ? err.status : undefined;
        if (status === 409 || status === 404) {
          // Someone (a previous leader) wrote it since: start again from the stored copy.
          try {
            current = await this.limiter.run(() => this.opts.client.get(recordName(uid)));
            if (current !== undefined) this.remember(uid, current);
            else this.records.delete(uid);
            if (this.closed.has(uid)) return;
          } catch {
            // Counted as this attempt's failure; the next attempt reads again.
          }
        }
        if (attempt >= maxAttempts) {
          this.opts.logger.error({ uid, attempts: attempt, error: describeApiError(err) }, 'could not write grant record; giving up until the next list');
          return;
        }
        await this.opts.sleep(Math.min(200 * 2 ** (attempt - 1), 5_000), signal);
      }
    }
  }

  private announce(before: GrantRecord | undefined, after: GrantRecord): void {
    try {
      this.opts.onWritten?.(before, after);
    } catch (err) {
      this.opts.logger.error({ error: (err as Error).message }, 'grant record listener failed');
    }
  }

  /** Keep `record` as the latest state of `uid`: whole while open, as a ClosedRecord once closed. */
  private remember(uid: string, record: GrantRecord): void {
    if (record.status.state === 'Open') {
      this.records.set(uid, record);
      this.closed.delete(uid);
      return;
    }
    this.records.delete(uid);
    const closedAt = record.status.closedAt === undefined ? undefined : parseTimestamp(record.status.closedAt);
    this.closed.set(uid, {
      name: record.metadata.name,
      resourceVersion: record.metadata.resourceVersion,
      closedAtMs: closedAt?.ok ? closedAt.date.getTime() : undefined,
    });
  }

  private prune(uid: string, record: ClosedRecord): void {
    const { name, resourceVersion: rv } = record;
    if (name === undefined || rv === undefined) return;
    this.closed.delete(uid);
    const previous = this.chains.get(uid) ?? Promise.resolve();
    const next = previous.then(async () => {
      const closedAt = record.closedAtMs === undefined ? undefined : new Date(record.closedAtMs).toISOString();
      try {
        await this.limiter.run(() => this.opts.client.delete(name, rv));
        this.opts.logger.info({ record: name, closedAt }, 'grant record pruned (past retention)');
      } catch (err) {
        this.opts.logger.warn({ record: name, error: describeApiError(err) }, 'could not prune grant record; trying after the next list');
        if (!this.records.has(uid) && !this.closed.has(uid)) this.closed.set(uid, record);
      }
    });
    this.chains.set(uid, next);
    void next.finally(() => {
      if (this.chains.get(uid) === next) this.chains.delete(uid);
    });
  }
}

const DEFAULT_WRITE_CONCURRENCY = 8;

/** What the recorder keeps of a closed record (see GrantRecorder.closed). */
interface ClosedRecord {
  name: string | undefined;
  resourceVersion: string | undefined;
  /** Undefined when closedAt is missing or unreadable: such a record is never pruned. */
  closedAtMs: number | undefined;
}

