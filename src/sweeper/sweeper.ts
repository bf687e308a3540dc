import { hostname } from 'node:os';
import type { KubeConfig, V1NetworkPolicy } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { GuardConfig } from '../config/types.js';
import { stringMap, TEMPORARY_LABEL_VALUE } from '../lifecycle/annotations.js';
import { describeApiError, httpStatusOf } from './apiErrors.js';
import { realSleep, systemClock, type Clock, type Sleep, type Timer } from './clock.js';
import { decideExpiry, type SweepDecision } from './decide.js';
import { createPolicyApi, type PolicyApi, type PolicyPage, type WatchEventType } from './kubeApi.js';
import { createLimiter, type Limiter } from './limiter.js';
import { createSweeperMetrics, type RelistReason, type SweeperMetrics } from './metrics.js';
import { GrantReaper, policyRef } from './reaper.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
import { GrantSchedule, type ScheduledGrant } from './schedule.js';

export interface SweeperOptions {
  /** Where the API server is; ignored when `api` is given. */
  kubeConfig?: KubeConfig;
  /** A ready PolicyApi (tests, or a host process that built its own). */
  api?: PolicyApi;
  config: Pick<GuardConfig, 'keys'>;
  /** Metrics are registered here; pass serve's Registry to share one /metrics. */
  registry: Registry;
  logger: Logger;
  /** Restrict to one namespace; undefined watches the whole cluster. */
  namespace?: string;
  dryRun?: boolean;
  /** Deletions in flight at once (default 4). */
  concurrency?: number;
  /** Watch mode: full relist period (default 5 minutes). */
  resyncMs?: number;
  /** List page size (default 500). */
  pageSize?: number;
  clock?: Clock;
  /** Waits between retries and between watch reconnects. */
  sleep?: Sleep;
  /** Jitter source for backoff, uniform in [0, 1). */
  random?: () => number;
  retry?: Partial<Pick<RetryPolicy, 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs' | 'maxRetryAfterMs'>>;
  /** reportingInstance on Events (default: the host name, i.e. the pod name). */
  instance?: string;
  /** Server-side watch timeout (default 5–10 minutes, randomised per watch like client-go). */
  watchTimeoutSeconds?: number;
}

export interface PassSummary {
  /** Policies the list returned (counting a restarted list's repeats). */
  listed: number;
  deleted: number;
  alreadyGone: number;
  dryRun: number;
  /** Valid grants not yet due. */
  kept: number;
  invalid: number;
  /** Returned by the list without the temporary label (the server ignored the selector); untouched. */
  ignored: number;
  failed: number;
  /** Times the list restarted from scratch because a continue token expired. */
  listRestarts: number;
  /** False when the list itself failed: some grants may not have been looked at. */
  complete: boolean;
}

export interface SweeperHealth {
  healthy: boolean;
  state: 'idle' | 'starting' | 'running' | 'stopped';
  lastSuccessfulPass: string | null;
  scheduled: number;
}

const DEFAULT_RESYNC_MS = 5 * 60_000;
const DEFAULT_PAGE_SIZE = 500;
const DEFAULT_CONCURRENCY = 4;
/** Timers are re-armed at least this often, so a wall-clock jump cannot delay an expiry for long. */
const MAX_TIMER_STRETCH_MS = 30_000;
/** A deletion that failed (after its own retries) is tried again this much later. */
const FAILED_DELETE_RETRY_MS = 10_000;
/**
 * Continue tokens expire with etcd compaction (about every 5 minutes), so a long pass can meet
 * several 410s; each restart is worth it while grants are being removed. Without progress, give
 * up after this many and leave the rest to the next pass.
 */
const MAX_LIST_RESTARTS_WITHOUT_PROGRESS = 3;
/** Consecutive failing watches before falling back to a full relist. */
const MAX_WATCH_FAILURES = 5;

/**
 * Finds temporary NetworkPolicy grants whose expires-at has passed and deletes them.
 *
 * `runOnce()` is one paginated pass (for a CronJob). `start()` runs until `stop()`: list, then
 * watch, keeping a min-heap of due times with one timer armed for the earliest; every `resyncMs`
 * the watch is dropped and everything relisted, so a missed watch event cannot keep a grant alive.
 * Memory: once mode holds one page at a time; watch mode holds a ScheduledGrant per live grant.
 */
export class Sweeper {
  private readonly api: PolicyApi;
  private readonly config: Pick<GuardConfig, 'keys'>;
  private readonly logger: Logger;
  private readonly metrics: SweeperMetrics;
  private readonly reaper: GrantReaper;
  private readonly limiter: Limiter;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly namespace: string | undefined;
  private readonly labelSelector: string;
  private readonly pageSize: number;
  private readonly resyncMs: number;
  private readonly watchTimeoutSeconds: number | undefined;
  private readonly shutdown = new AbortController();

  private readonly schedule = new GrantSchedule();
  private readonly inFlight = new Set<string>();
  private readonly background = new Set<Promise<unknown>>();
  private state: SweeperHealth['state'] = 'idle';
  private loop: Promise<void> | undefined;
  private timer: Timer | undefined;
  private armedForMs: number | undefined;
  private resyncTimer: Timer | undefined;
  private resyncDue = false;
  private abortWatch: (() => void) | undefined;
  private pass = 0;
  private startedAtMs = 0;
  private lastSuccessfulPassMs: number | undefined;
  private readonly syncedPromise: Promise<void>;
  private settleSynced!: (err?: Error) => void;

  constructor(options: SweeperOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.namespace = options.namespace;
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    this.resyncMs = options.resyncMs ?? DEFAULT_RESYNC_MS;
    this.watchTimeoutSeconds = options.watchTimeoutSeconds;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1) throw new RangeError(`pageSize must be a positive integer, got ${this.pageSize}`);
    if (!(this.resyncMs > 0)) throw new RangeError(`resyncMs must be positive, got ${this.resyncMs}`);
    this.labelSelector = `${options.config.keys.temporaryLabel}=${TEMPORARY_LABEL_VALUE}`;
    this.metrics = createSweeperMetrics(options.registry);
    this.limiter = createLimiter(options.concurrency ?? DEFAULT_CONCURRENCY);

    const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry, sleep: this.sleep, random: this.random };
    if (options.api) {
      this.api = options.api;
    } else if (options.kubeConfig) {
      this.api = createPolicyApi(options.kubeConfig, {
        retry,
        connectionPoolSize: (options.concurrency ?? DEFAULT_CONCURRENCY) + 2,
        signal: this.shutdown.signal,
        onRetry: (operation, notice, err) =>
          this.logger.warn(
            { operation, attempt: notice.attempt, delayMs: notice.delayMs, status: notice.status, cause: notice.cause, error: describeApiError(err) },
            'API call failed; retrying',
          ),
      });
    } else {
      throw new TypeError('Sweeper needs either kubeConfig or api');
    }
    this.reaper = new GrantReaper({
      api: this.api,
      config: this.config,
      clock: this.clock,
      logger: this.logger,
      metrics: this.metrics,
      dryRun: options.dryRun ?? false,
      instance: options.instance ?? hostname(),
    });
    this.syncedPromise = new Promise<void>((resolve, reject) => {
      this.settleSynced = (err) => (err ? reject(err) : resolve());
    });
    // Nobody has to wait for the first sync; an early stop() must not become an unhandled rejection.
    this.syncedPromise.catch(() => undefined);
  }

  /** One pass over every temporary grant, page by page. Never throws; see PassSummary.complete. */
  async runOnce(): Promise<PassSummary> {
    const summary: PassSummary = {
      listed: 0, deleted: 0, alreadyGone: 0, dryRun: 0, kept: 0, invalid: 0, ignored: 0, failed: 0, listRestarts: 0, complete: false,
    };
    const startedMs = this.clock.now().getTime();
    try {
      const progress = (): number => summary.deleted + summary.alreadyGone;
      for await (const page of this.listPages(() => summary.listRestarts++, progress)) {
        summary.listed += page.items.length;
        await this.sweepPage(page.items, summary);
      }
      summary.complete = true;
    } catch (err) {
      this.metrics.failures.inc({ operation: 'list' });
      this.logger.error({ error: describeApiError(err) }, 'could not list temporary grants; pass incomplete');
    }
    await this.limiter.idle();
    this.metrics.liveGrants.set(summary.kept);
    if (summary.complete && summary.failed === 0) this.markSuccessfulPass();
    this.logger.info({ ...summary, durationMs: this.clock.now().getTime() - startedMs }, 'sweep pass finished');
    return summary;
  }

  /**
   * Begin watch mode in the background and return at once: an unreachable API server must not
   * block a host process. Await synced() to know the first list is in and the watch is open.
   */
  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error(`sweeper already ${this.state}`);
    this.state = 'starting';
    this.startedAtMs = this.clock.now().getTime();
    this.loop = this.watchLoop().catch((err: unknown) => {
      // watchLoop handles its own errors; reaching here is a bug, and a dead loop must be visible.
      this.logger.fatal({ error: err instanceof Error ? err.stack : String(err) }, 'sweeper loop crashed');
      this.state = 'stopped';
    });
  }

  /** Resolves after the first complete list and the watch that follows it is connected. */
  synced(): Promise<void> {
    return this.syncedPromise;
  }

  /** Stop watching, cancel timers, let in-flight deletions finish. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'idle') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopped';
    this.shutdown.abort();
    this.timer?.cancel();
    this.timer = undefined;
    this.armedForMs = undefined;
    this.resyncTimer?.cancel();
    this.abortWatch?.();
    this.settleSynced(new Error('sweeper stopped before its first sync'));
    await this.loop;
    await this.limiter.idle();
    await Promise.all(this.background);
    this.api.close();
  }

  private get stopped(): boolean {
    return this.state === 'stopped';
  }

  health(): SweeperHealth {
    const nowMs = this.clock.now().getTime();
    // Liveness: a pass (relist) should succeed every resync; allow a few misses before declaring
    // the loop wedged, since a restart cannot fix an API server outage anyway.
    const staleAfterMs = Math.max(3 * this.resyncMs, 5 * 60_000);
    const reference = this.lastSuccessfulPassMs ?? this.startedAtMs;
    const fresh = nowMs - reference <= staleAfterMs;
    return {
      healthy: (this.state === 'running' || this.state === 'starting') && fresh,
      state: this.state,
      lastSuccessfulPass: this.lastSuccessfulPassMs === undefined ? null : new Date(this.lastSuccessfulPassMs).toISOString(),
      scheduled: this.schedule.size,
    };
  }

  /** Grants waiting for their expiry (watch mode). */
  get scheduledCount(): number {
    return this.schedule.size;
  }

  /** When the next scheduled grant falls due (watch mode), if any. */
  nextDueAt(): Date | undefined {
    const ms = this.schedule.nextDueMs();
    return ms === undefined ? undefined : new Date(ms);
  }

  // ---- once mode ----

  /**
   * Sweep one listed page. Nearly every grant on it is not yet due; those are settled right here
   * from the listed copy (a keep needs no API call, so no limiter job or promise per grant). Every
   * other policy goes to the reaper, which decides again on its own and is the only one to act.
   */
  private sweepPage(items: V1NetworkPolicy[], summary: PassSummary): Promise<void> {
    const now = this.clock.now();
    let reaping: Promise<void>[] | undefined;
    for (const policy of items) {
      let decision: SweepDecision | undefined;
      try {
        decision = decideExpiry(policy, this.config, now);
      } catch {
        // Left to sweepListed, which reports whatever the reaper throws without ending the pass.
        decision = undefined;
      }
      if (decision?.action === 'keep') {
        this.countKept(policy, decision, summary);
        continue;
      }
      (reaping ??= []).push(this.limiter.run(() => this.sweepListed(policy, summary)));
    }
    return reaping === undefined ? Promise.resolve() : Promise.all(reaping).then(() => undefined);
  }

  private async sweepListed(policy: V1NetworkPolicy, summary: PassSummary): Promise<void> {
    let outcome;
    try {
      outcome = await this.reaper.reap(policy);
    } catch (err) {
      // reap() reports API failures as outcomes; anything thrown is a bug, but must not end the pass.
      summary.failed++;
      this.logger.error(
        { namespace: policy.metadata?.namespace, name: policy.metadata?.name, error: err instanceof Error ? err.stack : String(err) },
        'unexpected error while sweeping a grant',
      );
      return;
    }
    switch (outcome.kind) {
      case 'deleted':
        summary.deleted++;
        return;
      case 'already-gone':
        summary.alreadyGone++;
        return;
      case 'dry-run':
        summary.dryRun++;
        return;
      case 'invalid':
        summary.invalid++;
        return;
      case 'failed':
        summary.failed++;
        return;
      case 'kept':
        this.countKept(outcome.policy, outcome.decision, summary);
    }
  }

  private countKept(policy: V1NetworkPolicy, decision: SweepDecision, summary: PassSummary): void {
    if (decision.expiresAt !== undefined) {
      summary.kept++;
    } else if (!this.isLabelled(policy)) {
      summary.ignored++;
      this.warnUnselected(policy, decision.reason);
    }
  }

  /**
   * Pages of labelled policies; a 410 on a continue token restarts the list from the top.
   * `progress` counts work done so far (it must grow between restarts for unbounded restarts).
   *
   * The next page is requested as soon as a page arrives, before that page is handed out, so the
   * API server prepares it while the caller sweeps: one request ahead, never more, so at most two
   * pages are held. The prefetched page's outcome (retries happen inside listPage) is only looked
   * at once the caller asks for it, so a failure is handled exactly as if the request had been
   * made then, and the 410 check sees the progress made on the page before it.
   */
  private async *listPages(onRestart: () => void, progress: () => number = () => 0): AsyncGenerator<PolicyPage> {
    let continueToken: string | undefined;
    let restarts = 0;
    let progressAtRestart = progress();
    let prefetched: Promise<PolicyPage> | undefined;
    for (;;) {
      let page: PolicyPage;
      try {
        page = await (prefetched ?? this.requestPage(continueToken));
      } catch (err) {
        if (continueToken !== undefined && httpStatusOf(err) === 410) {
          const done = progress();
          restarts = done > progressAtRestart ? 1 : restarts + 1;
          progressAtRestart = done;
          if (restarts <= MAX_LIST_RESTARTS_WITHOUT_PROGRESS) {
            onRestart();
            this.logger.warn({ restartsWithoutProgress: restarts - 1 }, 'list continue token expired; restarting the list from the beginning');
            continueToken = undefined;
            prefetched = undefined;
            continue;
          }
        }
        throw err;
      }
      continueToken = page.continueToken;
      if (continueToken === undefined) {
        yield page;
        return;
      }
      prefetched = this.requestPage(continueToken);
      // Judged when awaited above; if the caller stops early it is never awaited and must not
      // surface as an unhandled rejection.
      prefetched.catch(() => undefined);
      // client-node hands the request to the socket only after several promise and nextTick hops.
      // A sweep that never waits for I/O (every grant kept, or a dry run) would otherwise finish
      // before the request even left, and nothing would overlap.
      await new Promise<void>((resolve) => setImmediate(resolve));
      yield page;
    }
  }

  private requestPage(continueToken: string | undefined): Promise<PolicyPage> {
    return this.api.listPage({ namespace: this.namespace, labelSelector: this.labelSelector, limit: this.pageSize, continueToken });
  }

  // ---- watch mode ----

  private async watchLoop(): Promise<void> {
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
        this.metrics.failures.inc({ operation: 'list' });
        const delayMs = backoffDelay(listFailures, { ...DEFAULT_RETRY_POLICY, random: this.random });
        this.logger.error({ error: describeApiError(err), delayMs }, 'could not list temporary grants; will retry');
        await this.sleep(delayMs, this.shutdown.signal);
        continue;
      }
      this.armResync();
      const next = await this.watchUntilRelist(resourceVersion);
      if (next === undefined) return;
      reason = next;
    }
  }

  /** Full list into the schedule; returns the list's resourceVersion for the watch to start from. */
  private async relist(reason: RelistReason): Promise<string> {
    this.metrics.relists.inc({ reason });
    this.resyncDue = false;
    const pass = ++this.pass;
    let resourceVersion = '';
    let listed = 0;
    for await (const page of this.listPages(() => this.metrics.relists.inc({ reason: 'list-expired' }))) {
      if (this.stopped) throw new Error('stopped');
      for (const policy of page.items) this.observe(policy, pass);
      listed += page.items.length;
      resourceVersion = page.resourceVersion ?? resourceVersion;
      this.rearm();
    }
    const vanished = this.schedule.sweepUnseen(pass);
    this.reaper.pruneInvalid(pass);
    this.rearm();
    this.updateLiveGauge();
    this.markSuccessfulPass();
    this.logger.info({ reason, listed, scheduled: this.schedule.size, vanished: vanished.length }, 'temporary grants listed');
    return resourceVersion;
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
      if (result.end === 'expired') {
        this.logger.info({ resourceVersion: rv }, 'watch expired (410 Gone); relisting');
        return 'watch-expired';
      }
      if (result.end === 'closed') {
        // Normal (the server's timeoutSeconds). Only a server that keeps closing at once with
        // nothing to say could make this spin; a short pause in that case costs nothing.
        failures = 0;
        if (result.events === 0) await this.sleep(backoffDelay(1, { ...DEFAULT_RETRY_POLICY, random: this.random }), this.shutdown.signal);
        continue;
      }
      if (result.end === 'aborted') continue;
      if (this.stopped) return undefined;
      failures++;
      this.metrics.failures.inc({ operation: 'watch' });
      if (failures >= MAX_WATCH_FAILURES) {
        this.logger.warn({ failures, error: result.error }, 'watch keeps failing; relisting');
        return 'watch-failing';
      }
      const delayMs = backoffDelay(failures, { ...DEFAULT_RETRY_POLICY, random: this.random });
      this.logger.warn({ failures, delayMs, error: result.error }, 'watch failed; reconnecting');
      await this.sleep(delayMs, this.shutdown.signal);
    }
  }

  private async watchOnce(resourceVersion: string): Promise<{
    end: 'expired' | 'closed' | 'aborted' | 'error';
    resourceVersion: string;
    events?: number;
    error?: string;
  }> {
    let rv = resourceVersion;
    let expired = false;
    let errorEvent: string | undefined;
    let aborted = false;
    let events = 0;
    const timeoutSeconds = this.watchTimeoutSeconds ?? 300 + Math.floor(this.random() * 300);
    const stream = this.api.watch(
      { namespace: this.namespace, labelSelector: this.labelSelector, resourceVersion: rv, timeoutSeconds },
      (type, object) => {
        if (type === 'ERROR') {
          const status = object as { code?: unknown; reason?: unknown; message?: unknown } | null;
          if (status?.code === 410 || status?.reason === 'Expired' || status?.reason === 'Gone') expired = true;
          else errorEvent = `watch ERROR event: ${describeApiError({ code: status?.code, body: status })}`;
          stream.abort();
          return;
        }
        events++;
        const eventRv = (object as V1NetworkPolicy | null)?.metadata?.resourceVersion;
        if (typeof eventRv === 'string' && eventRv !== '') rv = eventRv;
        this.onWatchEvent(type, object as V1NetworkPolicy);
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
    if (expired) return { end: 'expired', resourceVersion: rv };
    if (errorEvent !== undefined) return { end: 'error', resourceVersion: rv, error: errorEvent };
    if (aborted) return { end: 'aborted', resourceVersion: rv };
    if (ended === null) return { end: 'closed', resourceVersion: rv, events };
    if (httpStatusOf(ended) === 410) return { end: 'expired', resourceVersion: rv };
    return { end: 'error', resourceVersion: rv, error: describeApiError(ended) };
  }

  private onWatchEvent(type: Exclude<WatchEventType, 'ERROR'>, policy: V1NetworkPolicy): void {
    this.noteConnected();
    if (type === 'BOOKMARK') return;
    if (type === 'DELETED') {
      const uid = policy?.metadata?.uid;
      if (typeof uid === 'string') {
        this.schedule.remove(uid);
        this.reaper.forgetInvalid(uid);
      }
    } else {
      this.observe(policy, this.pass);
    }
    this.rearm();
    this.updateLiveGauge();
  }

  /** Put one listed or watched policy where it belongs: the schedule, the invalid report, or nowhere. */
  private observe(policy: V1NetworkPolicy, pass: number): void {
    const ref = policyRef(policy);
    if (ref === undefined) return;
    const decision = decideExpiry(policy, this.config, this.clock.now());
    if (decision.action === 'invalid') {
      this.schedule.remove(ref.uid);
      this.track(this.reaper.reportInvalid(policy, decision, pass));
      return;
    }
    this.reaper.forgetInvalid(ref.uid);
    if (decision.expiresAt === undefined) {
      // Unlabelled (the server ignored the selector) or already being deleted: not ours to schedule.
      this.schedule.remove(ref.uid);
      if (!this.isLabelled(policy)) this.warnUnselected(policy, decision.reason);
      return;
    }
    const expiresAtMs = decision.expiresAt.getTime();
    this.schedule.upsert({ ...ref, expiresAtMs, dueMs: expiresAtMs }, pass);
  }

  /** Arm the single timer for the earliest due grant (no-op if it is already armed for it). */
  private rearm(): void {
    if (this.stopped || this.state === 'idle') return;
    const next = this.schedule.nextDueMs();
    if (next === this.armedForMs && this.timer !== undefined) return;
    this.timer?.cancel();
    this.timer = undefined;
    this.armedForMs = undefined;
    if (next === undefined) return;
    const delayMs = Math.min(next - this.clock.now().getTime(), MAX_TIMER_STRETCH_MS);
    this.armedForMs = next;
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      this.armedForMs = undefined;
      this.fireDue();
    }, delayMs);
  }

  private fireDue(): void {
    if (this.stopped) return;
    for (const grant of this.schedule.takeDue(this.clock.now().getTime())) this.dispatch(grant);
    this.rearm();
    this.updateLiveGauge();
  }

  private dispatch(grant: ScheduledGrant): void {
    // One job per grant: the running one re-reads the policy, so it already covers this trigger.
    if (this.inFlight.has(grant.uid)) return;
    this.inFlight.add(grant.uid);
    this.track(
      this.limiter.run(() => this.expireScheduled(grant)).finally(() => {
        this.inFlight.delete(grant.uid);
      }),
    );
  }

  private async expireScheduled(grant: ScheduledGrant): Promise<void> {
    if (this.stopped) return;
    const outcome = await this.reaper.reapByRef(grant);
    if (this.stopped) return;
    if (outcome.kind === 'kept') {
      // Extended (or relabelled) since it was scheduled; the watch usually says so first.
      const ref = policyRef(outcome.policy);
      const expiresAt = outcome.decision.expiresAt;
      if (ref !== undefined && expiresAt !== undefined && !this.schedule.has(ref.uid)) {
        this.schedule.upsert({ ...ref, expiresAtMs: expiresAt.getTime(), dueMs: expiresAt.getTime() }, this.pass);
      }
    } else if (outcome.kind === 'failed' && !this.schedule.has(grant.uid)) {
      this.schedule.upsert({ ...grant, dueMs: this.clock.now().getTime() + FAILED_DELETE_RETRY_MS }, this.pass);
    }
    this.rearm();
    this.updateLiveGauge();
  }

  private armResync(): void {
    this.resyncTimer?.cancel();
    this.resyncTimer = this.clock.setTimer(() => {
      this.resyncTimer = undefined;
      this.resyncDue = true;
      this.abortWatch?.();
    }, this.resyncMs);
  }

  private noteConnected(): void {
    if (this.state === 'starting') {
      this.state = 'running';
      this.settleSynced();
    }
  }

  private markSuccessfulPass(): void {
    const nowMs = this.clock.now().getTime();
    this.lastSuccessfulPassMs = nowMs;
    this.metrics.lastSuccessfulPass.set(nowMs / 1_000);
  }

  private updateLiveGauge(): void {
    this.metrics.liveGrants.set(this.schedule.size);
  }

  private isLabelled(policy: V1NetworkPolicy): boolean {
    return stringMap(policy.metadata?.labels)[this.config.keys.temporaryLabel] === TEMPORARY_LABEL_VALUE;
  }

  private warnUnselected(policy: V1NetworkPolicy, reason: string): void {
    this.logger.warn(
      { namespace: policy.metadata?.namespace, name: policy.metadata?.name, reason },
      'API server returned a policy the label selector should have excluded; leaving it alone',
    );
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch((err: unknown) => {
      this.logger.error({ error: describeApiError(err) }, 'unexpected error in background sweeper work');
    });
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }
}
