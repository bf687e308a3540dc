import { hostname } from 'node:os';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { TEMPORARY_LABEL_VALUE } from '../lifecycle/annotations.js';
import { describeApiError } from '../kube/apiErrors.js';
import { realSleep, systemClock, type Clock } from '../kube/clock.js';
import { Informer, type InformerEvent } from '../kube/informer.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../kube/retry.js';
import { ServerClock } from '../kube/serverClock.js';
import { ClockSkewReport } from './clockSkew.js';
import { decisionFields, hasTemporaryLabel, recordFields, sweepDecisionFor } from './decide.js';
import { ExpiryQueue } from './expiryQueue.js';
import { ExpiryWarnings } from './expiryWarnings.js';
import { createPolicyApi, policySource, type PolicyApi } from './kubeApi.js';
import { createLimiter, type Limiter } from './limiter.js';
import { createSweeperMetrics, type SweeperMetrics } from './metrics.js';
import { GrantReaper, policyRef } from './reaper.js';
import { runPass, warnUnselected, type PassSummary } from './runPass.js';
import type { ScheduledGrant } from './schedule.js';
import type { SweeperHealth, SweeperOptions } from './sweeperOptions.js';

export type { PassSummary } from './runPass.js';
export type { SweeperHealth, SweeperOptions } from './sweeperOptions.js';

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_PAGE_SIZE = 500;
const DEFAULT_RESYNC_MS = 5 * 60_000;
const DEFAULT_SKEW_TOLERANCE_MS = 5_000;
/** A deletion that failed (after its own retries) is tried again this much later. */
const FAILED_DELETE_RETRY_MS = 10_000;

/**
 * Finds temporary NetworkPolicy grants whose expires-at has passed and deletes them, judging
 * expiry by the API server's clock (see ServerClock). `runOnce()` is one paginated pass (for a
 * CronJob). `start()` runs until `stop()`: an Informer keeps the grants current, an ExpiryQueue
 * fires each at its expiry, and the GrantReaper deletes it with preconditions.
 */
export class Sweeper {
  private readonly opts: SweeperOptions;
  private readonly api: PolicyApi;
  private readonly logger: Logger;
  private readonly metrics: SweeperMetrics;
  private readonly reaper: GrantReaper;
  private readonly limiter: Limiter;
  private readonly clock: Clock;
  private readonly serverClock: ServerClock;
  private readonly skew: ClockSkewReport;
  private readonly resyncMs: number;
  private readonly labelSelector: string;
  private readonly shutdown = new AbortController();
  private readonly informer: Informer<V1NetworkPolicy, V1NetworkPolicy>;
  private readonly queue: ExpiryQueue;
  /** Present when built with `expiryWarning`. */
  private readonly warnings: ExpiryWarnings | undefined;
  private readonly inFlight = new Set<string>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly syncedPromise: Promise<void>;
  private state: SweeperHealth['state'] = 'idle';
  private pass = 0;
  private startedAtMs = 0;
  private lastSuccessfulPassMs: number | undefined;
  /** Leader election: the signal of the current leadership (aborted once it ended). */
  private leadership: AbortSignal | undefined;
  /** A full list is under way: its events are not watch events (see GrantObserver). */
  private listing = false;

  constructor(options: SweeperOptions) {
    this.opts = options;
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.serverClock = options.serverClock ?? new ServerClock({ localNow: () => this.clock.now().getTime() });
    this.resyncMs = options.resyncMs ?? DEFAULT_RESYNC_MS;
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError(`pageSize must be a positive integer, got ${pageSize}`);
    this.labelSelector = `${options.config.keys.temporaryLabel}=${TEMPORARY_LABEL_VALUE}`;
    this.metrics = createSweeperMetrics(options.registry, () => this.informer.list());
    this.skew = new ClockSkewReport(this.serverClock, this.metrics.clockSkew, this.logger, options.clockSkewToleranceMs ?? DEFAULT_SKEW_TOLERANCE_MS);
    this.limiter = createLimiter(options.concurrency ?? DEFAULT_CONCURRENCY);
    const sleep = options.sleep ?? realSleep;
    const random = options.random ?? Math.random;
    this.api = options.api ?? this.connect({ ...DEFAULT_RETRY_POLICY, ...options.retry, sleep, random });
    const decisionClock = { now: () => this.serverClock.now() };
    this.reaper = new GrantReaper({
      api: this.api, config: options.config, clock: decisionClock, logger: this.logger, metrics: this.metrics,
      dryRun: options.dryRun ?? false, instance: options.instance ?? hostname(), mayAct: () => this.mayAct,
    });
    this.queue = new ExpiryQueue({ clock: this.clock, now: () => this.serverClock.now().getTime(), onDue: (grant) => this.dispatch(grant) });
    const warning = options.expiryWarning;
    this.warnings = warning && new ExpiryWarnings({
      clock: this.clock, now: () => this.serverClock.now().getTime(), beforeMs: warning.beforeMs, keys: options.config.keys,
      mayAct: () => this.mayAct, dryRun: options.dryRun ?? false, createEvent: (event) => this.api.createEvent(event),
      instance: options.instance ?? hostname(), logger: this.logger, track: (work) => this.track(work),
      onEventFailed: () => this.metrics.failures.inc({ operation: 'event' }),
      ...(warning.onWarned ? { onWarned: warning.onWarned } : {}),
    });
    this.informer = new Informer<V1NetworkPolicy, V1NetworkPolicy>({
      source: policySource(this.api, options.namespace),
      keyOf: (policy) => policyRef(policy)?.uid,
      // The recorder and the ExpiringSoon notification need who, ticket and spec; deleting needs only the expiry.
      project: (policy) => (options.observer || options.expiryWarning ? recordFields(policy) : decisionFields(policy, options.config)),
      labelSelector: this.labelSelector,
      pageSize, resyncMs: this.resyncMs, clock: this.clock, sleep, random, name: 'temporary grants', logger: this.logger,
      ...(options.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: options.watchTimeoutSeconds } : {}),
      hooks: {
        relisting: (reason) => {
          this.metrics.relists.inc({ reason });
          this.pass++;
          this.listing = true;
        },
        listed: () => {
          this.listing = false;
          this.opts.observer?.listed(this.informer.list());
          this.reaper.pruneInvalid(this.pass);
          this.markSuccessfulPass();
          this.skew.check();
        },
        listRestarted: () => this.metrics.relists.inc({ reason: 'list-expired' }),
        listFailed: () => {
          this.listing = false;
          this.metrics.failures.inc({ operation: 'list' });
        },
        watchFailed: () => this.metrics.failures.inc({ operation: 'watch' }),
      },
    });
    this.informer.subscribe((event) => this.onGrantEvent(event));
    this.syncedPromise = this.informer.whenSynced().then(() => {
      if (this.state === 'starting') this.state = 'running';
    }, () => Promise.reject(new Error('sweeper stopped before its first sync')));
    this.syncedPromise.catch(() => undefined);
  }

  /** One pass over every temporary grant, page by page. Never throws; see PassSummary.complete. */
  async runOnce(): Promise<PassSummary> {
    const startedMs = this.clock.now().getTime();
    const summary = await runPass({
      api: this.api, reaper: this.reaper, limiter: this.limiter, logger: this.logger, metrics: this.metrics, config: this.opts.config,
      decisionNow: () => this.serverClock.now(), namespace: this.opts.namespace, labelSelector: this.labelSelector,
      pageSize: this.opts.pageSize ?? DEFAULT_PAGE_SIZE,
    });
    this.metrics.liveGrants.set(summary.kept);
    if (summary.complete && summary.failed === 0) this.markSuccessfulPass();
    this.skew.check();
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
    // A standby keeps the schedule full but unarmed, so a takeover fires what is due at once.
    if (!this.opts.standby) {
      this.queue.start();
      this.warnings?.start();
    }
    this.informer.start();
  }

  /**
   * Leader election: act (delete, write Events) from now until `signal` aborts. The schedule is
   * already filled by the informer, so grants already due go at once. Resolves once the signal
   * has aborted and the deletions in flight have settled (each checked the signal before its
   * delete was sent, so none is sent after the abort).
   */
  async actWhile(signal: AbortSignal): Promise<void> {
    if (!this.opts.standby) throw new Error('actWhile needs a Sweeper built with standby: true');
    if (this.stopped || signal.aborted) return;
    this.leadership = signal;
    this.logger.info({ scheduled: this.queue.size }, 'leading: acting on the schedule');
    await new Promise<void>((resolve) => {
      const onEnd = (): void => {
        this.queue.stop();
        this.warnings?.stop();
        resolve();
      };
      signal.addEventListener('abort', onEnd, { once: true });
      this.shutdown.signal.addEventListener('abort', onEnd, { once: true });
      this.queue.start();
      this.warnings?.start();
    });
    this.logger.info('no longer leading: stopped acting');
    await this.limiter.idle();
    await Promise.all(this.background);
  }

  /** Whether deleting and writing Events is allowed right now. */
  private get mayAct(): boolean {
    if (this.stopped) return false;
    if (!this.opts.standby) return true;
    return this.leadership !== undefined && !this.leadership.aborted;
  }

  /** Resolves after the first complete list and the watch that follows it is connected. */
  synced(): Promise<void> {
    return this.syncedPromise;
  }

  /** Stop watching, cancel timers, let in-flight deletions finish. Idempotent. */
  async stop(): Promise<void> {
    const wasIdle = this.state === 'idle';
    this.state = 'stopped';
    if (wasIdle) return;
    this.shutdown.abort();
    this.queue.stop();
    this.warnings?.stop();
    await this.informer.stop();
    await this.limiter.idle();
    await Promise.all(this.background);
    this.api.close();
  }

  health(): SweeperHealth {
    const nowMs = this.clock.now().getTime();
    // Liveness: a pass (relist) should succeed every resync; allow a few misses before declaring
    // the loop wedged, since a restart cannot fix an API server outage anyway.
    const staleAfterMs = Math.max(3 * this.resyncMs, 5 * 60_000);
    const reference = this.lastSuccessfulPassMs ?? this.startedAtMs;
    return {
      healthy: (this.state === 'running' || this.state === 'starting') && nowMs - reference <= staleAfterMs,
      state: this.state,
      lastSuccessfulPass: this.lastSuccessfulPassMs === undefined ? null : new Date(this.lastSuccessfulPassMs).toISOString(),
      scheduled: this.queue.size,
      role: this.opts.standby ? (this.mayAct ? 'leader' : 'standby') : 'single',
    };
  }

  /** The API server's time, as estimated from its responses. */
  serverNow(): Date {
    return this.serverClock.now();
  }

  /** notify.beforeExpiry changed: move every ExpiringSoon warning not yet given. */
  rescheduleWarnings(): void {
    this.warnings?.reschedule();
  }

  /** The grants the informer holds now (watch mode). */
  liveGrants(): V1NetworkPolicy[] {
    return this.informer.list();
  }

  /** Grants waiting for their expiry (watch mode). */
  get scheduledCount(): number {
    return this.queue.size;
  }

  /** When the next scheduled grant falls due (watch mode, the API server's time), if any. */
  nextDueAt(): Date | undefined {
    const ms = this.queue.nextDueMs();
    return ms === undefined ? undefined : new Date(ms);
  }

  private get stopped(): boolean {
    return this.state === 'stopped';
  }

  private connect(retry: RetryPolicy): PolicyApi {
    if (this.opts.kubeConfig === undefined) throw new TypeError('Sweeper needs either kubeConfig or api');
    return createPolicyApi(this.opts.kubeConfig, {
      retry,
      connectionPoolSize: (this.opts.concurrency ?? DEFAULT_CONCURRENCY) + 2,
      signal: this.shutdown.signal,
      serverClock: this.serverClock,
      onRetry: (operation, notice, err) =>
        this.logger.warn(
          { operation, attempt: notice.attempt, delayMs: notice.delayMs, status: notice.status, cause: notice.cause, error: describeApiError(err) },
          'API call failed; retrying',
        ),
    });
  }

  /** Put one listed or watched grant where it belongs: the queue, the invalid report, or nowhere. */
  private onGrantEvent(event: InformerEvent<V1NetworkPolicy>): void {
    if (this.stopped) return;
    const uid = event.key;
    this.opts.observer?.observe(event, { listing: this.listing, reaping: this.inFlight.has(uid) });
    if (event.type === 'delete') {
      this.queue.remove(uid);
      this.warnings?.remove(uid);
      this.reaper.forgetInvalid(uid);
    } else {
      const policy = event.object;
      const decision = sweepDecisionFor(policy, this.opts.config, this.serverClock.now());
      if (decision.action === 'invalid') {
        this.queue.remove(uid);
        this.warnings?.remove(uid);
        this.track(this.reaper.reportInvalid(policy, decision, this.pass));
      } else if (decision.expiresAt === undefined) {
        // Unlabelled (the server ignored the selector) or already being deleted: not ours to schedule.
        this.reaper.forgetInvalid(uid);
        this.queue.remove(uid);
        this.warnings?.remove(uid);
        if (!hasTemporaryLabel(policy, this.opts.config)) warnUnselected(this.logger, policy, decision.reason);
      } else {
        this.reaper.forgetInvalid(uid);
        if (event.type === 'add' && !this.listing) this.metrics.grantsOpened.inc();
        this.schedule(policy, decision.expiresAt.getTime());
      }
    }
    this.metrics.liveGrants.set(this.queue.size);
  }

  private schedule(policy: V1NetworkPolicy, expiresAtMs: number, dueMs = expiresAtMs): void {
    const ref = policyRef(policy);
    if (ref === undefined) return;
    this.queue.put({ ...ref, expiresAtMs, dueMs });
    this.warnings?.put(policy, ref, expiresAtMs);
  }

  private dispatch(grant: ScheduledGrant): void {
    this.metrics.liveGrants.set(this.queue.size);
    // One job per grant: the running one re-reads the policy, so it already covers this trigger.
    if (this.inFlight.has(grant.uid)) return;
    this.inFlight.add(grant.uid);
    this.track(this.limiter.run(() => this.expireScheduled(grant)).finally(() => this.inFlight.delete(grant.uid)));
  }

  private async expireScheduled(grant: ScheduledGrant): Promise<void> {
    if (this.stopped) return;
    if (!this.mayAct) return this.keepForNextLeader(grant);
    const outcome = await this.reaper.reapByRef(grant);
    if (this.stopped) return;
    if (outcome.kind === 'stood-down') return this.keepForNextLeader(grant);
    if (outcome.kind === 'deleted') this.opts.observer?.reaped(grant.uid, { deletedAt: outcome.deletedAt, policy: outcome.policy });
    else this.opts.observer?.reaped(grant.uid, { gone: outcome.kind === 'already-gone' });
    this.skew.check();
    if (outcome.kind === 'kept') {
      // Extended (or relabelled) since it was scheduled; the watch usually says so first.
      const expiresAt = outcome.decision.expiresAt;
      const uid = policyRef(outcome.policy)?.uid;
      if (uid !== undefined && expiresAt !== undefined && !this.queue.has(uid)) this.schedule(outcome.policy, expiresAt.getTime());
    } else if (outcome.kind === 'failed' && !this.queue.has(grant.uid)) {
      this.queue.put({ ...grant, dueMs: this.serverClock.now().getTime() + FAILED_DELETE_RETRY_MS });
    }
    this.metrics.liveGrants.set(this.queue.size);
  }

  /** Leadership ended with this grant taken off the schedule: put it back, unarmed. */
  private keepForNextLeader(grant: ScheduledGrant): void {
    if (!this.queue.has(grant.uid)) this.queue.put(grant);
  }

  private markSuccessfulPass(): void {
    const nowMs = this.clock.now().getTime();
    this.lastSuccessfulPassMs = nowMs;
    this.metrics.lastSuccessfulPass.set(nowMs / 1_000);
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch((err: unknown) => {
      this.logger.error({ error: describeApiError(err) }, 'unexpected error in background sweeper work');
    });
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }
}
