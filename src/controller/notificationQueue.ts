import type { WebhookTargetFile } from '../config/types.js';
import type { GrantNotification } from './notification.js';

/** One attempt's result. `retry`: worth trying again (network error, timeout, 408, 429, 5xx). */
export type SendOutcome = { ok: true } | { ok: false; retry: boolean; reason: string };

/** Sends one notification to one target once; never throws, and ends by itself (its own timeout). */
export type SendNotification = (target: WebhookTargetFile, notification: GrantNotification, signal: AbortSignal) => Promise<SendOutcome>;

export type DeliveryOutcome = 'sent' | 'failed' | 'dropped';

export interface NotificationQueueOptions {
  /** Pending notifications kept at most; when full the oldest is dropped (and reported). */
  capacity: number;
  send: SendNotification;
  /** Attempts per notification, the first included. */
  maxAttempts: number;
  /** Wait after the first failed attempt; doubled per attempt up to maxDelayMs, then jittered. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Uniform in [0, 1): jitter, so many controllers do not retry a recovering receiver in step. */
  random: () => number;
  /** Each notification's end: sent, failed (after its attempts, or not retryable) or dropped. */
  onOutcome: (item: QueuedNotification, outcome: DeliveryOutcome, detail: { attempts: number; reason?: string }) => void;
  /** After every change of the number waiting. */
  onDepth?: (depth: number) => void;
  /** Before each retry wait (for a debug line). */
  onRetry?: (item: QueuedNotification, attempt: number, delayMs: number, reason: string) => void;
}

/** A notification and the target it goes to, as configured when it was queued. */
export interface QueuedNotification {
  target: WebhookTargetFile;
  notification: GrantNotification;
}

/**
 * The outbound queue of one webhook target: bounded, delivered one at a time in order (so a
 * receiver sees opened before expiring before expired), each retried with exponential backoff
 * and jitter. Nothing here is awaited by the code that enqueues: a dead or slow receiver fills
 * this queue and then loses its oldest notifications, and never holds up a deletion or a record.
 */
export class NotificationQueue {
  readonly #opts: NotificationQueueOptions;
  readonly #items: QueuedNotification[] = [];
  readonly #closing = new AbortController();
  #worker: Promise<void> | undefined;

  constructor(options: NotificationQueueOptions) {
    if (!(Number.isInteger(options.capacity) && options.capacity >= 1)) throw new RangeError(`queue capacity must be a positive integer, got ${options.capacity}`);
    if (!(Number.isInteger(options.maxAttempts) && options.maxAttempts >= 1)) throw new RangeError(`maxAttempts must be a positive integer, got ${options.maxAttempts}`);
    this.#opts = options;
  }

  /** Waiting to be sent (the one being sent is not counted). */
  get depth(): number {
    return this.#items.length;
  }

  enqueue(item: QueuedNotification): void {
    if (this.#closing.signal.aborted) {
      this.#opts.onOutcome(item, 'dropped', { attempts: 0, reason: 'queue closed' });
      return;
    }
    if (this.#items.length >= this.#opts.capacity) {
      const oldest = this.#items.shift()!;
      this.#opts.onOutcome(oldest, 'dropped', { attempts: 0, reason: 'queue full' });
    }
    this.#items.push(item);
    this.#opts.onDepth?.(this.#items.length);
    this.#worker ??= this.#drain().finally(() => (this.#worker = undefined));
  }

  /** Resolves once nothing waits and nothing is being sent. */
  async idle(): Promise<void> {
    while (this.#worker !== undefined) await this.#worker;
  }

  /**
   * Stop: the delivery in progress is abandoned at its next wait (its request still ends by its
   * own timeout), and everything still waiting is dropped and reported.
   */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.idle();
  }

  async #drain(): Promise<void> {
    for (;;) {
      const item = this.#items.shift();
      if (item === undefined) return;
      this.#opts.onDepth?.(this.#items.length);
      if (this.#closing.signal.aborted) {
        this.#opts.onOutcome(item, 'dropped', { attempts: 0, reason: 'queue closed' });
        continue;
      }
      await this.#deliver(item);
    }
  }

  async #deliver(item: QueuedNotification): Promise<void> {
    const signal = this.#closing.signal;
    for (let attempt = 1; ; attempt++) {
      let outcome: SendOutcome;
      try {
        outcome = await this.#opts.send(item.target, item.notification, signal);
      } catch {
        // A send must not throw; if one does, say nothing of its error (it could quote the URL).
        outcome = { ok: false, retry: true, reason: 'internal error' };
      }
      if (outcome.ok) return this.#opts.onOutcome(item, 'sent', { attempts: attempt });
      if (signal.aborted) return this.#opts.onOutcome(item, 'dropped', { attempts: attempt, reason: 'queue closed' });
      if (!outcome.retry || attempt >= this.#opts.maxAttempts) return this.#opts.onOutcome(item, 'failed', { attempts: attempt, reason: outcome.reason });
      const delayMs = backoffDelay(attempt, this.#opts.baseDelayMs, this.#opts.maxDelayMs, this.#opts.random());
      this.#opts.onRetry?.(item, attempt, delayMs, outcome.reason);
      await this.#opts.sleep(delayMs, signal);
      if (signal.aborted) return this.#opts.onOutcome(item, 'dropped', { attempts: attempt, reason: 'queue closed' });
    }
  }
}

/**
 * The wait after failed attempt `attempt` (1-based): base · 2^(attempt−1), capped at max, then
 * scaled into [½, 1) of that by `random` ("equal jitter": never zero, never over the cap).
 */
export function backoffDelay(attempt: number, baseDelayMs: number, maxDelayMs: number, random: number): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling * (0.5 + 0.5 * random));
}
