import type { Clock, Timer } from '../kube/clock.js';
import { GrantSchedule, type ScheduledGrant } from './schedule.js';

export interface ExpiryQueueOptions {
  /** Arms the single timer (delays are durations, so the local clock's offset does not matter). */
  clock: Clock;
  /** The time due times are compared with: the API server's, as estimated (ms since the epoch). */
  now: () => number;
  /** Called once for each grant as it falls due; the grant has left the queue by then. */
  onDue: (grant: ScheduledGrant) => void;
}

/** Timers are re-armed at least this often, so a wall-clock jump cannot delay an expiry for long. */
const MAX_TIMER_STRETCH_MS = 30_000;

/**
 * Grants waiting for their expiry, with one timer armed for the earliest. Due times are in the
 * API server's time; each arming measures the remaining wait against `now`, so a changed skew
 * estimate is picked up at the next arming (at most MAX_TIMER_STRETCH_MS later).
 */
export class ExpiryQueue {
  private readonly opts: ExpiryQueueOptions;
  private readonly schedule = new GrantSchedule();
  private timer: Timer | undefined;
  private armedForMs: number | undefined;
  private active = false;

  constructor(options: ExpiryQueueOptions) {
    this.opts = options;
  }

  get size(): number {
    return this.schedule.size;
  }

  has(uid: string): boolean {
    return this.schedule.has(uid);
  }

  /** Due time of the earliest grant (server time, ms), if any. */
  nextDueMs(): number | undefined {
    return this.schedule.nextDueMs();
  }

  /** Add or move a grant. */
  put(grant: ScheduledGrant): void {
    this.schedule.upsert(grant);
    this.rearm();
  }

  remove(uid: string): void {
    if (this.schedule.remove(uid)) this.rearm();
  }

  /** Begin firing (grants put before this wait until now). */
  start(): void {
    this.active = true;
    this.rearm();
  }

  /** Cancel the timer; nothing fires afterwards. */
  stop(): void {
    this.active = false;
    this.timer?.cancel();
    this.timer = undefined;
    this.armedForMs = undefined;
  }

  /** Arm the single timer for the earliest due grant (no-op if it is already armed for it). */
  private rearm(): void {
    if (!this.active) return;
    const next = this.schedule.nextDueMs();
    if (next === this.armedForMs && this.timer !== undefined) return;
    this.timer?.cancel();
    this.timer = undefined;
    this.armedForMs = undefined;
    if (next === undefined) return;
    const delayMs = Math.min(next - this.opts.now(), MAX_TIMER_STRETCH_MS);
    this.armedForMs = next;
    this.timer = this.opts.clock.setTimer(() => {
      this.timer = undefined;
      this.armedForMs = undefined;
      this.fireDue();
    }, delayMs);
  }

  private fireDue(): void {
    if (!this.active) return;
    for (const grant of this.schedule.takeDue(this.opts.now())) this.opts.onDue(grant);
    this.rearm();
  }
}
