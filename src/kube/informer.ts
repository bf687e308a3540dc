import type { Logger } from 'pino';
import { describeApiError, httpStatusOf } from './apiErrors.js';
import { realSleep, systemClock, type Clock, type Sleep, type Timer } from './clock.js';
import { listPages, type ListPage } from './pagedList.js';
import { backoffDelay, DEFAULT_RETRY_POLICY } from './retry.js';
import type { WatchEventType, WatchParams, WatchStream } from './watchStream.js';

export interface ListRequest {
  labelSelector?: string;
  fieldSelector?: string;
  limit: number;
  continueToken: string | undefined;
}

/** Where an Informer's objects come from: one resource's list and watch (any kind, any scope). */
export interface ListWatchSource<R> {
  list(request: ListRequest): Promise<ListPage<R>>;
  watch(params: WatchParams, onEvent: (type: WatchEventType, object: unknown) => void): WatchStream;
}

export type InformerEvent<T> =
  | { type: 'add'; key: string; object: T }
  | { type: 'update'; key: string; object: T; previous: T }
  | { type: 'delete'; key: string; object: T };

export type RelistReason = 'startup' | 'resync' | 'watch-expired' | 'watch-failing';

/** Progress reports, for metrics; the Informer logs on its own. */
export interface InformerHooks {
  /** A full list begins. */
  relisting?(reason: RelistReason): void;
  /** A full list completed; `vanished` objects were dropped (deleted while no watch ran). */
  listed?(summary: { reason: RelistReason; listed: number; vanished: number; resourceVersion: string }): void;
  listFailed?(error: unknown): void;
  /** A continue token expired mid-list; the list restarted from the top. */
  listRestarted?(): void;
  watchFailed?(error: string): void;
}

export interface InformerOptions<R, T> {
  source: ListWatchSource<R>;
  /** Identity of an object (e.g. its uid, or namespace/name); undefined skips the object. */
  keyOf(object: R): string | undefined;
  /** What to keep of each object: only the fields callers need, so memory stays small. */
  project(object: R): T;
  labelSelector?: string;
  fieldSelector?: string;
  /** List page size (default 500). */
  pageSize?: number;
  /** Full relist period (default 5 minutes), so a missed watch event cannot live for ever. */
  resyncMs?: number;
  /** stale() once no watch has been connected for this long (default 2 minutes). */
  maxStalenessMs?: number;
  /** Server-side watch timeout (default 5–10 minutes, randomised per watch like client-go). */
  watchTimeoutSeconds?: number;
  clock?: Clock;
  /** Waits between list retries and watch reconnects; resolves early on abort. */
  sleep?: Sleep;
  /** Jitter for backoff, uniform in [0, 1). */
  random?: () => number;
  /** What the objects are, for log lines, e.g. "temporary grants". */
  name: string;
  logger?: Logger;
  hooks?: InformerHooks;
}

/** Anything with metadata.resourceVersion: every Kubernetes object. */
export type HasResourceVersion = { metadata?: { resourceVersion?: string } | null } | null | undefined;
type WatchEnd = { end: 'expired' | 'closed' | 'aborted' | 'error'; resourceVersion: string; events: number; error?: string };

const DEFAULT_PAGE_SIZE = 500;
const DEFAULT_RESYNC_MS = 5 * 60_000;
const DEFAULT_MAX_STALENESS_MS = 2 * 60_000;
/** Consecutive failing watches before falling back to a full relist. */
const MAX_WATCH_FAILURES = 5;

/**
 * A local, projected copy of one resource, kept current by list+watch: paginated list, watch from
 * the list's resourceVersion, relist on 410 Gone and every resyncMs, and — unlike client-node's
 * own informer, which stops on any other error — reconnect with backoff after every watch failure
 * (HTTP error, reset connection, ERROR event, early end). Listed objects are delivered as they
 * arrive, page by page; objects a relist no longer sees are deleted at its end.
 */
export class Informer<R extends HasResourceVersion, T> {
  private readonly opts: InformerOptions<R, T>;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly pageSize: number;
  private readonly resyncMs: number;
  private readonly maxStalenessMs: number;
  private readonly store = new Map<string, T>();
  private readonly listeners = new Set<(event: InformerEvent<T>) => void>();
  private readonly shutdown = new AbortController();
  private running = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private resyncTimer: Timer | undefined;
  private resyncDue = false;
  private abortWatch: (() => void) | undefined;
  private hasSynced = false;
  private listedOnce = false;
  private disconnectedSinceMs: number | undefined;
  private readonly syncedPromise: Promise<void>;
  private settleSynced!: (err?: Error) => void;

  constructor(options: InformerOptions<R, T>) {
    this.opts = options;
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    this.resyncMs = options.resyncMs ?? DEFAULT_RESYNC_MS;
    this.maxStalenessMs = options.maxStalenessMs ?? DEFAULT_MAX_STALENESS_MS;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1) throw new RangeError(`pageSize must be a positive integer, got ${this.pageSize}`);
    if (!(this.resyncMs > 0)) throw new RangeError(`resyncMs must be positive, got ${this.resyncMs}`);
    this.syncedPromise = new Promise<void>((resolve, reject) => {
      this.settleSynced = (err) => (err ? reject(err) : resolve());
    });
    // Nobody has to wait for the first sync; an early stop() must not become an unhandled rejection.
    this.syncedPromise.catch(() => undefined);
  }

  /** Begin listing and watching in the background; returns at once. */
  start(): void {
    if (this.running || this.stopped) throw new Error('informer already started');
    this.running = true;
    this.disconnectedSinceMs = this.clock.now().getTime();
    this.loop = this.run().catch((err: unknown) => {
      // run() handles its own errors; reaching here is a bug, and a dead loop must be visible.
      this.opts.logger?.fatal({ error: err instanceof Error ? err.stack : String(err) }, `${this.opts.name}: informer loop crashed`);
    });
  }

  /** Stop watching and cancel timers. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.shutdown.abort();
    this.resyncTimer?.cancel();
    this.resyncTimer = undefined;
    this.abortWatch?.();
    this.settleSynced(new Error('informer stopped before its first sync'));
    await this.loop;
  }

  /** Every change, in order. Returns the unsubscribe function. */
  subscribe(listener: (event: InformerEvent<T>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  /** The keys of every cached object. */
  keys(): string[] {
    return [...this.store.keys()];
  }

  get size(): number {
    return this.store.size;
  }

  /** True once the first full list is in and a watch has connected after it; stays true. */
  synced(): boolean {
    return this.hasSynced;
  }

  /** Resolves when synced() first becomes true; rejects if stopped before. */
  whenSynced(): Promise<void> {
    return this.syncedPromise;
  }

  /** True while no watch has been connected for longer than maxStalenessMs: the copy may be out of date. */
  stale(): boolean {
    if (!this.running || this.stopped || this.disconnectedSinceMs === undefined) return false;
    return this.clock.now().getTime() - this.disconnectedSinceMs > this.maxStalenessMs;
  }

  private async run(): Promise<void> {
    let reason: RelistReason = 'startup';
    let listFailures = 0;
    while (!this.stopped) {
      let resourceVersion: string;
      try {
        resourceVersion = await this.relist(reason);
        listFailures = 0;
      } catch (err) {
        if (this.stopped) return;
        listFailures++;
        this.opts.hooks?.listFailed?.(err);
        const delayMs = this.backoff(listFailures);
        this.opts.logger?.error({ error: describeApiError(err), delayMs }, `could not list ${this.opts.name}; will retry`);
        await this.sleep(delayMs, this.shutdown.signal);
        continue;
      }
      this.armResync();
      const next = await this.watchUntilRelist(resourceVersion);
      if (next === undefined) return;
      reason = next;
    }
  }

  /** Full list into the store; returns the list's resourceVersion for the watch to start from. */
  private async relist(reason: RelistReason): Promise<string> {
    this.opts.hooks?.relisting?.(reason);
    this.resyncDue = false;
    let seen = new Set<string>();
    let resourceVersion = '';
    let listed = 0;
    const pages = listPages((continueToken) => this.requestPage(continueToken), {
      onRestart: (restartsWithoutProgress) => {
        seen = new Set();
        this.opts.hooks?.listRestarted?.();
        this.opts.logger?.warn({ restartsWithoutProgress }, 'list continue token expired; restarting the list from the beginning');
      },
    });
    for await (const page of pages) {
      if (this.stopped) throw new Error('stopped');
      for (const object of page.items) {
        const key = this.opts.keyOf(object);
        if (key === undefined) continue;
        seen.add(key);
        this.put(key, object);
      }
      listed += page.items.length;
      resourceVersion = page.resourceVersion ?? resourceVersion;
    }
    let vanished = 0;
    for (const [key, object] of this.store) {
      if (seen.has(key)) continue;
      this.store.delete(key);
      vanished++;
      this.emit({ type: 'delete', key, object });
    }
    this.listedOnce = true;
    this.opts.hooks?.listed?.({ reason, listed, vanished, resourceVersion });
    this.opts.logger?.info({ reason, listed, cached: this.store.size, vanished }, `${this.opts.name} listed`);
    return resourceVersion;
  }

  private requestPage(continueToken: string | undefined): Promise<ListPage<R>> {
    return this.opts.source.list({
      ...(this.opts.labelSelector !== undefined ? { labelSelector: this.opts.labelSelector } : {}),
      ...(this.opts.fieldSelector !== undefined ? { fieldSelector: this.opts.fieldSelector } : {}),
      limit: this.pageSize,
      continueToken,
    });
  }

  /** Watch from `resourceVersion` until a relist is needed; undefined once stopped. */
  private async watchUntilRelist(resourceVersion: string): Promise<RelistReason | undefined> {
    let rv = resourceVersion;
    let failures = 0;
    for (;;) {
      if (this.stopped) return undefined;
      if (this.resyncDue) return 'resync';
      const result = await this.watchOnce(rv);
      rv = result.resourceVersion;
      // Every end, a resync's abort included, leaves no watch running until the next one connects.
      this.disconnectedSinceMs ??= this.clock.now().getTime();
      if (result.end === 'expired') {
        this.opts.logger?.info({ resourceVersion: rv }, 'watch expired (410 Gone); relisting');
        return 'watch-expired';
      }
      if (result.end === 'closed') {
        // Normal (the server's timeoutSeconds). Only a server that keeps closing at once with
        // nothing to say could make this spin; a short pause in that case costs nothing.
        failures = 0;
        if (result.events === 0) await this.sleep(this.backoff(1), this.shutdown.signal);
        continue;
      }
      if (result.end === 'aborted') continue;
      if (this.stopped) return undefined;
      failures++;
      this.opts.hooks?.watchFailed?.(result.error ?? 'unknown');
      if (failures >= MAX_WATCH_FAILURES) {
        this.opts.logger?.warn({ failures, error: result.error }, 'watch keeps failing; relisting');
        return 'watch-failing';
      }
      const delayMs = this.backoff(failures);
      this.opts.logger?.warn({ failures, delayMs, error: result.error }, 'watch failed; reconnecting');
      await this.sleep(delayMs, this.shutdown.signal);
    }
  }

  private async watchOnce(resourceVersion: string): Promise<WatchEnd> {
    let rv = resourceVersion;
    let expired = false;
    let errorEvent: string | undefined;
    let aborted = false;
    let events = 0;
    const timeoutSeconds = this.opts.watchTimeoutSeconds ?? 300 + Math.floor(this.random() * 300);
    const stream = this.opts.source.watch(
      {
        ...(this.opts.labelSelector !== undefined ? { labelSelector: this.opts.labelSelector } : {}),
        ...(this.opts.fieldSelector !== undefined ? { fieldSelector: this.opts.fieldSelector } : {}),
        resourceVersion: rv,
        timeoutSeconds,
      },
      (type, object) => {
        if (type === 'ERROR') {
          const status = object as { code?: unknown; reason?: unknown } | null;
          if (status?.code === 410 || status?.reason === 'Expired' || status?.reason === 'Gone') expired = true;
          else errorEvent = `watch ERROR event: ${describeApiError({ code: status?.code, body: status })}`;
          stream.abort();
          return;
        }
        events++;
        const eventRv = (object as R)?.metadata?.resourceVersion;
        if (typeof eventRv === 'string' && eventRv !== '') rv = eventRv;
        this.noteConnected();
        this.onWatchEvent(type, object as R);
      },
    );
    this.abortWatch = () => {
      aborted = true;
      stream.abort();
    };
    if (this.stopped || this.resyncDue) this.abortWatch();
    if (await stream.connected) this.noteConnected();
    const ended = await stream.ended;
    this.abortWatch = undefined;
    if (expired) return { end: 'expired', resourceVersion: rv, events };
    if (errorEvent !== undefined) return { end: 'error', resourceVersion: rv, events, error: errorEvent };
    if (aborted) return { end: 'aborted', resourceVersion: rv, events };
    if (ended === null) return { end: 'closed', resourceVersion: rv, events };
    if (httpStatusOf(ended) === 410) return { end: 'expired', resourceVersion: rv, events };
    return { end: 'error', resourceVersion: rv, events, error: describeApiError(ended) };
  }

  private onWatchEvent(type: Exclude<WatchEventType, 'ERROR'>, object: R): void {
    if (type === 'BOOKMARK') return;
    const key = object === null || typeof object !== 'object' ? undefined : this.opts.keyOf(object);
    if (key === undefined) return;
    if (type === 'DELETED') {
      const previous = this.store.get(key);
      this.store.delete(key);
      this.emit({ type: 'delete', key, object: previous ?? this.opts.project(object) });
      return;
    }
    this.put(key, object);
  }

  private put(key: string, object: R): void {
    const projected = this.opts.project(object);
    const previous = this.store.get(key);
    this.store.set(key, projected);
    this.emit(previous === undefined ? { type: 'add', key, object: projected } : { type: 'update', key, object: projected, previous });
  }

  private emit(event: InformerEvent<T>): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        // A subscriber's bug must not stop the copy from staying current for the others.
        this.opts.logger?.error({ key: event.key, error: err instanceof Error ? err.stack : String(err) }, `${this.opts.name}: subscriber failed`);
      }
    }
  }

  private noteConnected(): void {
    this.disconnectedSinceMs = undefined;
    if (!this.hasSynced && this.listedOnce && !this.stopped) {
      this.hasSynced = true;
      this.settleSynced();
    }
  }

  private armResync(): void {
    this.resyncTimer?.cancel();
    this.resyncTimer = this.clock.setTimer(() => {
      this.resyncTimer = undefined;
      this.resyncDue = true;
      this.abortWatch?.();
    }, this.resyncMs);
  }

  private backoff(attempt: number): number {
    return backoffDelay(attempt, { ...DEFAULT_RETRY_POLICY, random: this.random });
  }
}
