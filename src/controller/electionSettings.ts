import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Counter, Gauge, type Registry } from 'prom-client';

/** The knobs of leader election, their defaults and checks, its clock and its metrics. */

/** Time as the election sees it; structurally the sweeper's Clock, so the same object fits both. */
export interface ElectionClock {
  now(): Date;
  /** Run `fn` once, `delayMs` from now. */
  setTimer(fn: () => void, delayMs: number): { cancel(): void };
}

export const systemElectionClock: ElectionClock = {
  now: () => new Date(),
  setTimer(fn, delayMs) {
    const handle = setTimeout(fn, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(handle) };
  },
};

export const DEFAULT_LEASE_NAME = 'netpol-guard-controller';
export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;

export interface ElectionTiming {
  /** How long standbys wait, from seeing the last change of the Lease, before taking it (whole seconds). */
  leaseDurationMs: number;
  /** How long after the start of its last successful renewal the leader keeps acting. */
  renewDeadlineMs: number;
  /** Pause between attempts to acquire or to renew. */
  retryPeriodMs: number;
}

export interface LeaderMetrics {
  leader: Gauge;
  transitions: Counter;
}

export function createLeaderMetrics(registry: Registry): LeaderMetrics {
  const registers = [registry];
  return {
    leader: new Gauge({
      name: 'netpol_guard_controller_leader',
      help: '1 while this process holds the controller Lease and may act, 0 otherwise.',
      registers,
    }),
    transitions: new Counter({
      name: 'netpol_guard_controller_leader_transitions_total',
      help: 'Times this process became leader (summed over replicas: leadership changes).',
      registers,
    }),
  };
}

/** `<pod name>_<random hex>`: unique even when a restarted pod keeps its name. */
export function defaultIdentity(podName: string = process.env.POD_NAME ?? hostname()): string {
  return `${podName}_${randomBytes(6).toString('hex')}`;
}

export function resolveTiming(timing: Partial<ElectionTiming> = {}): ElectionTiming {
  const resolved: ElectionTiming = {
    leaseDurationMs: timing.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS,
    renewDeadlineMs: timing.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS,
    retryPeriodMs: timing.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS,
  };
  for (const [key, value] of Object.entries(resolved)) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`leader election ${key} must be a positive number, got ${value}`);
  }
  if (resolved.leaseDurationMs % 1_000 !== 0) {
    throw new RangeError(`leader election leaseDurationMs must be whole seconds (the Lease stores seconds), got ${resolved.leaseDurationMs}`);
  }
  if (resolved.renewDeadlineMs >= resolved.leaseDurationMs) {
    throw new RangeError(
      `leader election renewDeadlineMs (${resolved.renewDeadlineMs}) must be shorter than leaseDurationMs (${resolved.leaseDurationMs}): the leader must stop before a standby may take over`,
    );
  }
  if (resolved.retryPeriodMs >= resolved.renewDeadlineMs) {
    throw new RangeError(
      `leader election retryPeriodMs (${resolved.retryPeriodMs}) must be shorter than renewDeadlineMs (${resolved.renewDeadlineMs}): the leader needs more than one try per deadline`,
    );
  }
  return resolved;
}
