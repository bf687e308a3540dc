import type { KubeConfig, V1NetworkPolicy } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { GuardConfig } from '../config/types.js';
import type { Clock, Sleep } from '../kube/clock.js';
import type { RetryPolicy } from '../kube/retry.js';
import type { ServerClock } from '../kube/serverClock.js';
import type { GrantObserver } from '../controller/recorder.js';
import type { PolicyApi } from './kubeApi.js';

/** How a Sweeper is built (see sweeper.ts), and what its health() reports. */
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
  /** Local-vs-API-server clock difference tolerated without a warning (default 5 s). */
  clockSkewToleranceMs?: number;
  /** Measures the API server's clock; built from `clock` when absent (pass one along with `api`). */
  serverClock?: ServerClock;
  /**
   * Leader-elected: start() fills the cache and the schedule but deletes nothing and writes no
   * Event until actWhile(signal) is called, and stops acting the moment that signal aborts.
   */
  standby?: boolean;
  /**
   * Told every informer event, each reap's result and each completed list (the GrantRecorder).
   * With one, the informer keeps labels, annotations and spec of each grant, not only the
   * decision fields.
   */
  observer?: GrantObserver;
  /**
   * The ExpiringSoon warning (see ExpiryWarnings): a Warning Event `beforeMs()` ahead of each
   * expiry, written by the leader only; `onWarned` after this process wrote it.
   */
  expiryWarning?: {
    beforeMs: () => number;
    onWarned?: (policy: V1NetworkPolicy, expiresAt: Date, at: Date) => void;
  };
}

export interface SweeperHealth {
  healthy: boolean;
  state: 'idle' | 'starting' | 'running' | 'stopped';
  lastSuccessfulPass: string | null;
  scheduled: number;
  /** 'single' without leader election; otherwise whether this process is acting now. */
  role: 'single' | 'leader' | 'standby';
}
