import { type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import {
  createLeaderMetrics,
  DEFAULT_LEASE_NAME,
  type ElectionClock,
  type ElectionTiming,
  type LeaderMetrics,
  resolveTiming,
  systemElectionClock,
} from './electionSettings.js';
import { LeaseApiError, type LeaseClient, type LeaseRef } from './leaseClient.js';

/**
 * Leader election on a coordination.k8s.io/v1 Lease, with the semantics of client-go's
 * leaderelection package (which controller-runtime uses):
 *
 * - A candidate acquires the Lease when it is absent, released (empty holder), or expired. Expiry
 *   is judged by THIS candidate's clock: a Lease is expired when the record has not changed for
 *   leaseDurationSeconds since this candidate last saw it change. The renewTime another machine
 *   wrote is never compared with our clock, so clock skew between nodes cannot cause a takeover.
 * - Every write is a replace with the resourceVersion last read: of two candidates racing, the
 *   API server lets one through and answers 409 to the other, which stays standby.
 * - The leader renews every retryPeriod. Its authority lasts until renewDeadline after the START
 *   of its last successful renewal (the write may have landed any time after it was sent, and a
 *   standby waits a full leaseDuration from when it sees that write). When that deadline comes
 *   without a newer success, a timer stops it: the signal given to onStartedLeading aborts and
 *   onStoppedLeading runs, even while a renewal request is still hanging. leaseDuration -
 *   renewDeadline is the margin left for timers firing late and for in-flight work to notice.
 * - Seeing another holder in the Lease while leading stops leadership at once.
 * - Shutdown (the signal given to run, e.g. on SIGTERM): stop acting, wait for the leader's work
 *   to settle, then release the Lease (empty holder, leaseDurationSeconds 1) so a standby takes
 *   over on its next retry instead of waiting out the lease.
 *
 * run() resolves once this candidate is done. `{ reason: 'lost' }` means leadership ended without
 * being asked to: the process must exit non-zero so the kubelet restarts it as a fresh candidate
 * (this module never exits the process itself; the caller decides, and this is the contract).
 * Not done, on purpose: jitter on retries (candidates are few), preferredHolder/strategy
 * (coordinated leader election), re-entering candidacy after a loss (a restart does that).
 */

export interface LeaderElectionOptions {
  client: LeaseClient;
  /** The Lease; name defaults to netpol-guard-controller. The namespace is the controller's own. */
  lease: { namespace: string; name?: string };
  /** Unique per process: see defaultIdentity(). */
  identity: string;
  timing?: Partial<ElectionTiming>;
  clock?: ElectionClock;
  /** When given, the leader gauge and transitions counter are registered on it. */
  registry?: Registry;
  /**
   * Called when this process becomes leader. Act only while `signal` is not aborted. A returned
   * promise is awaited (bounded by the renew deadline) before the Lease is released on shutdown.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<unknown>;
  /** Called once when leadership ends, for any reason, right after `signal` aborts. */
  onStoppedLeading?(): void;
  /** Called when the holder this candidate observes changes to a new non-empty identity (itself included). */
  onNewLeader?(identity: string): void;
  /** Failed API calls and throwing callbacks, for logging; the election carries on. */
  onError?(error: unknown, during: 'acquire' | 'renew' | 'release' | 'callback'): void;
}

export type ElectionEnd =
  /** Leadership ended without shutdown being asked for: exit non-zero. */
  | { reason: 'lost'; detail: string }
  /** Shutdown was asked for; `released` says whether the Lease was handed back. */
  | { reason: 'shutdown'; released: boolean };

/** What one acquire-or-renew attempt found. */
type Attempt = 'holding' | 'held-by-other' | 'failed';

export class LeaderElector {
  readonly identity: string;
  private readonly options: LeaderElectionOptions;
  private readonly ref: LeaseRef;
  private readonly timing: ElectionTiming;
  private readonly clock: ElectionClock;
  private readonly metrics: LeaderMetrics | undefined;
  /** The Lease as last read or written, and when (our clock) its record last changed. */
  private observed: V1Lease | undefined;
  private observedRecordKey = '';
  private observedAtMs = 0;
  private reportedLeader: string | undefined;
  private leading = false;
  private started = false;

  constructor(options: LeaderElectionOptions) {
    if (options.identity.trim() === '') throw new RangeError('leader election identity must not be empty');
    if (options.lease.namespace === '') throw new RangeError('leader election lease namespace must not be empty');
    this.options = options;
    this.identity = options.identity;
    this.ref = { namespace: options.lease.namespace, name: options.lease.name ?? DEFAULT_LEASE_NAME };
    this.timing = resolveTiming(options.timing);
    this.clock = options.clock ?? systemElectionClock;
    this.metrics = options.registry ? createLeaderMetrics(options.registry) : undefined;
    this.metrics?.leader.set(0);
  }

  /** True only while this process may act as leader. */
  get isLeader(): boolean {
    return this.leading;
  }

  /** Campaign until leadership ends or `shutdown` aborts. One run per elector. */
  async run(shutdown: AbortSignal): Promise<ElectionEnd> {
    if (this.started) throw new Error('LeaderElector.run may be called only once');
    this.started = true;
    while (!shutdown.aborted) {
      const attemptStartMs = this.nowMs();
      const attempt = this.tryAcquireOrRenew(attemptStartMs, 'acquire');
      // A hung API call must not keep a standby from shutting down. Should that call still win
      // the Lease later, it is handed straight back rather than held unused until it expires.
      if ((await untilAborted(attempt, shutdown)) === 'aborted') {
        void attempt.then((late) => late === 'holding' && this.settleThenRelease([], attemptStartMs + this.timing.renewDeadlineMs));
        return { reason: 'shutdown', released: false };
      }
      if ((await attempt) === 'holding') {
        // Won just as shutdown was asked for: never start acting, hand the Lease straight back.
        if (shutdown.aborted) {
          return { reason: 'shutdown', released: await this.settleThenRelease([], attemptStartMs + this.timing.renewDeadlineMs) };
        }
        return this.lead(shutdown, attemptStartMs);
      }
      await this.sleep(this.timing.retryPeriodMs, shutdown);
    }
    return { reason: 'shutdown', released: false };
  }

  private lead(shutdown: AbortSignal, acquiredAtMs: number): Promise<ElectionEnd> {
    const leadership = new AbortController();
    const renewLoopStop = new AbortController();
    let deadlineMs = acquiredAtMs + this.timing.renewDeadlineMs;
    let ended = false;
    let inFlight: Promise<unknown> = Promise.resolve();
    let work: Promise<unknown> = Promise.resolve();
    let finish!: (end: ElectionEnd) => void;
    const done = new Promise<ElectionEnd>((resolve) => (finish = resolve));

    const stopActing = (why: string): void => {
      ended = true;
      this.leading = false;
      this.metrics?.leader.set(0);
      deadlineTimer.cancel();
      renewLoopStop.abort();
      shutdown.removeEventListener('abort', onShutdown);
      leadership.abort(new Error(why));
      this.callback(() => this.options.onStoppedLeading?.());
    };
    const lose = (detail: string): void => {
      if (ended) return;
      stopActing(detail);
      finish({ reason: 'lost', detail });
    };
    const onShutdown = (): void => {
      if (ended) return;
      stopActing('shutting down');
      void this.settleThenRelease([work, inFlight], deadlineMs).then((released) => finish({ reason: 'shutdown', released }));
    };
    const armDeadline = (): { cancel(): void } =>
      this.clock.setTimer(
        () => lose(`could not renew lease ${this.ref.namespace}/${this.ref.name} within ${this.timing.renewDeadlineMs} ms`),
        deadlineMs - this.nowMs(),
      );
    let deadlineTimer = armDeadline();

    this.leading = true;
    this.metrics?.leader.set(1);
    this.metrics?.transitions.inc();
    shutdown.addEventListener('abort', onShutdown, { once: true });
    this.callback(() => {
      const result = this.options.onStartedLeading(leadership.signal);
      if (isPromiseLike(result)) work = Promise.resolve(result).catch((err: unknown) => this.options.onError?.(err, 'callback'));
    });

    void (async () => {
      while (!ended) {
        await this.sleep(this.timing.retryPeriodMs, renewLoopStop.signal);
        if (ended) return;
        const attemptStartMs = this.nowMs();
        const attempt = this.tryAcquireOrRenew(attemptStartMs, 'renew');
        inFlight = attempt;
        const outcome = await attempt;
        // An answer that arrives after leadership ended changes nothing: we already stopped.
        if (ended) return;
        if (outcome === 'holding') {
          deadlineMs = attemptStartMs + this.timing.renewDeadlineMs;
          deadlineTimer.cancel();
          deadlineTimer = armDeadline();
        } else if (outcome === 'held-by-other') {
          lose(`lease ${this.ref.namespace}/${this.ref.name} is now held by ${this.observed?.spec?.holderIdentity ?? 'someone else'}`);
        }
      }
    })();
    return done;
  }

  /**
   * One attempt, as client-go's tryAcquireOrRenew: read the Lease (create it when absent), give up
   * when another holder's record is still valid by our observation clock, otherwise write our
   * record with the resourceVersion just read.
   */
  private async tryAcquireOrRenew(nowMs: number, during: 'acquire' | 'renew'): Promise<Attempt> {
    let current: V1Lease;
    try {
      current = await this.options.client.get(this.ref);
    } catch (err) {
      if (err instanceof LeaseApiError && err.status === 404) return this.createLease(nowMs, during);
      this.options.onError?.(err, during);
      return 'failed';
    }
    this.observe(current, nowMs);
    const holder = current.spec?.holderIdentity ?? '';
    if (holder !== '' && holder !== this.identity && this.observedAtMs + this.observedDurationMs() > nowMs) {
      return 'held-by-other';
    }
    const weHeldIt = holder === this.identity;
    const spec = current.spec ?? {};
    const next: V1Lease = {
      ...current,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: this.timing.leaseDurationMs / 1_000,
        renewTime: new V1MicroTime(nowMs),
        acquireTime: weHeldIt && spec.acquireTime !== undefined ? spec.acquireTime : new V1MicroTime(nowMs),
        leaseTransitions: weHeldIt ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      this.observe(await this.options.client.update(this.ref, next), nowMs);
      return 'holding';
    } catch (err) {
      // 409: someone else wrote first (a race, or the holder renewed): not an error worth a log line.
      if (!(err instanceof LeaseApiError && err.status === 409)) this.options.onError?.(err, during);
      return 'failed';
    }
  }

  private async createLease(nowMs: number, during: 'acquire' | 'renew'): Promise<Attempt> {
    const lease: V1Lease = {
      metadata: { namespace: this.ref.namespace, name: this.ref.name },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: this.timing.leaseDurationMs / 1_000,
        acquireTime: new V1MicroTime(nowMs),
        renewTime: new V1MicroTime(nowMs),
        leaseTransitions: 0,
      },
    };
    try {
      this.observe(await this.options.client.create(this.ref, lease), nowMs);
      return 'holding';
    } catch (err) {
      if (!(err instanceof LeaseApiError && err.status === 409)) this.options.onError?.(err, during);
      return 'failed';
    }
  }

  /** Remember the record; restart the expiry clock only when its content changed. */
  private observe(lease: V1Lease, nowMs: number): void {
    const key = recordKey(lease);
    if (this.observed === undefined || key !== this.observedRecordKey) {
      this.observedRecordKey = key;
      this.observedAtMs = nowMs;
    }
    this.observed = lease;
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder !== '' && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      this.callback(() => this.options.onNewLeader?.(holder));
    }
  }

  /** The duration the holder announced; a missing or nonsensical one counts as ours. */
  private observedDurationMs(): number {
    const seconds = this.observed?.spec?.leaseDurationSeconds;
    return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1_000 : this.timing.leaseDurationMs;
  }

  /**
   * Hand the Lease back after shutdown, but only once the leader's work and any in-flight renewal
   * have settled, and only before the renew deadline: past it a standby may already have taken
   * over, and work still running must not overlap with a new leader sooner than the lease allows.
   */
  private async settleThenRelease(pending: Promise<unknown>[], deadlineMs: number): Promise<boolean> {
    let timer: { cancel(): void } | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = this.clock.setTimer(() => resolve('deadline'), deadlineMs - this.nowMs());
    });
    const settled = await Promise.race([Promise.allSettled(pending).then(() => 'settled' as const), deadline]);
    timer?.cancel();
    if (settled === 'deadline' || this.observed?.spec?.holderIdentity !== this.identity) return false;
    const nowMs = this.nowMs();
    const released: V1Lease = {
      ...this.observed,
      spec: {
        ...this.observed.spec,
        holderIdentity: '',
        leaseDurationSeconds: 1,
        acquireTime: new V1MicroTime(nowMs),
        renewTime: new V1MicroTime(nowMs),
      },
    };
    try {
      this.observe(await this.options.client.update(this.ref, released), nowMs);
      return true;
    } catch (err) {
      this.options.onError?.(err, 'release');
      return false;
    }
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const onAbort = (): void => {
        timer.cancel();
        resolve();
      };
      const timer = this.clock.setTimer(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private callback(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.options.onError?.(err, 'callback');
    }
  }

  private nowMs(): number {
    return this.clock.now().getTime();
  }
}

/** The record's content (what client-go compares), without resourceVersion or other metadata. */
function recordKey(lease: V1Lease): string {
  const s = lease.spec ?? {};
  return JSON.stringify([
    s.holderIdentity ?? '',
    s.leaseDurationSeconds ?? null,
    timeKey(s.acquireTime),
    timeKey(s.renewTime),
    s.leaseTransitions ?? null,
  ]);
}

/** A time field as a comparable value, whatever a LeaseClient handed back (it should be a Date). */
function timeKey(value: unknown): number | string | null {
  if (value instanceof Date) return value.getTime();
  return typeof value === 'string' ? value : null;
}

/** `promise`'s value, or 'aborted' as soon as `signal` aborts, whichever comes first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | 'aborted'> {
  if (signal.aborted) return Promise.resolve('aborted');
  return new Promise((resolve) => {
    const onAbort = (): void => resolve('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then((value) => {
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    });
  });
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}
