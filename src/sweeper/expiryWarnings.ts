import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describeApiError } from '../kube/apiErrors.js';
import type { Clock } from '../kube/clock.js';
import { type AnnotationKeys, readGrantAnnotations } from '../lifecycle/annotations.js';
import { formatTimestamp } from '../lifecycle/timestamp.js';
import { buildExpiringSoonEvent, type PolicyRef } from './events.js';
import { ExpiryQueue } from './expiryQueue.js';
import type { EventResult } from './kubeApi.js';

export interface ExpiryWarningsOptions {
  clock: Clock;
  /** The API server's time (ms), as the sweeper estimates it. */
  now: () => number;
  /** notify.beforeExpiry, read when a grant is scheduled (a reload applies through reschedule()). */
  beforeMs: () => number;
  keys: AnnotationKeys;
  /** Leadership: only the leader writes the Event and notifies. */
  mayAct: () => boolean;
  dryRun: boolean;
  createEvent: (event: ReturnType<typeof buildExpiringSoonEvent>) => Promise<EventResult>;
  instance: string;
  logger: Logger;
  /** Runs the Event write in the background (the Sweeper tracks it so stop() waits for it). */
  track: (work: Promise<unknown>) => void;
  onEventFailed: () => void;
  /** This process wrote the ExpiringSoon Event (or could not, and nothing says it was written before). */
  onWarned?: (policy: V1NetworkPolicy, expiresAt: Date, at: Date) => void;
}

interface WatchedGrant {
  policy: V1NetworkPolicy;
  ref: PolicyRef;
  expiresAtMs: number;
}

/**
 * The ExpiringSoon warning: a second schedule next to the deletion one, due `beforeExpiry`
 * ahead of each grant's expiry (at once for a grant that is already that close). Once per grant
 * per expiry: this process remembers which expiry it warned of, and the Event's name is derived
 * from uid and expiry, so a restarted or new leader that tries again gets 409 AlreadyExists and
 * sends no second webhook. Moving the expiry (extend) re-arms it. A grant past its expiry is not
 * warned of: its deletion is what comes next.
 */
export class ExpiryWarnings {
  private readonly opts: ExpiryWarningsOptions;
  private readonly queue: ExpiryQueue;
  private readonly grants = new Map<string, WatchedGrant>();
  /** uid → the expiry (ms) this process has warned of. */
  private readonly warned = new Map<string, number>();

  constructor(options: ExpiryWarningsOptions) {
    this.opts = options;
    this.queue = new ExpiryQueue({ clock: options.clock, now: options.now, onDue: (grant) => this.due(grant.uid, grant.expiresAtMs) });
  }

  /** A grant with a valid expiry was seen (added, updated or rescheduled). */
  put(policy: V1NetworkPolicy, ref: PolicyRef, expiresAtMs: number): void {
    this.grants.set(ref.uid, { policy, ref, expiresAtMs });
    if (this.warned.get(ref.uid) === expiresAtMs) return;
    this.warned.delete(ref.uid);
    this.arm(ref, expiresAtMs);
  }

  remove(uid: string): void {
    this.grants.delete(uid);
    this.warned.delete(uid);
    this.queue.remove(uid);
  }

  /** notify.beforeExpiry changed: move every warning not yet given. */
  reschedule(): void {
    for (const grant of this.grants.values()) if (this.warned.get(grant.ref.uid) !== grant.expiresAtMs) this.arm(grant.ref, grant.expiresAtMs);
  }

  start(): void {
    this.queue.start();
  }

  stop(): void {
    this.queue.stop();
  }

  private arm(ref: PolicyRef, expiresAtMs: number): void {
    this.queue.put({ ...ref, expiresAtMs, dueMs: expiresAtMs - this.opts.beforeMs() });
  }

  private due(uid: string, expiresAtMs: number): void {
    const grant = this.grants.get(uid);
    if (grant === undefined || grant.expiresAtMs !== expiresAtMs) return;
    if (!this.opts.mayAct()) {
      // Leadership ended as this fell due; the queue is being stopped. Keep it for the next term.
      this.arm(grant.ref, expiresAtMs);
      return;
    }
    this.warned.set(uid, expiresAtMs);
    const nowMs = this.opts.now();
    if (nowMs >= expiresAtMs) return;
    const expiresAt = new Date(expiresAtMs);
    const where = { namespace: grant.ref.namespace, name: grant.ref.name, uid, expiresAt: formatTimestamp(expiresAt) };
    if (this.opts.dryRun) {
      this.opts.logger.info({ ...where, dryRun: true }, 'grant expires soon');
      return;
    }
    const ticket = readGrantAnnotations(grant.policy, this.opts.keys).ticket;
    const at = new Date(nowMs);
    const event = buildExpiringSoonEvent(grant.ref, { expiresAt, ticket }, at, this.opts.instance);
    this.opts.track(
      this.opts.createEvent(event).then(
        (result) => {
          if (result === 'exists') {
            this.opts.logger.debug(where, 'ExpiringSoon already recorded (by an earlier leader)');
            return;
          }
          this.opts.logger.info(where, 'grant expires soon');
          this.opts.onWarned?.(grant.policy, expiresAt, at);
        },
        (err: unknown) => {
          // Nothing says an earlier leader warned: still tell the webhooks, which is the point.
          this.opts.onEventFailed();
          this.opts.logger.warn({ ...where, reason: 'ExpiringSoon', error: describeApiError(err) }, 'could not record Event');
          this.opts.onWarned?.(grant.policy, expiresAt, at);
        },
      ),
    );
  }
}
