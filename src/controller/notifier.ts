import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { WebhookTargetFile } from '../config/types.js';
import type { GrantNotification } from './notification.js';
import { type DeliveryOutcome, NotificationQueue, type QueuedNotification, type SendNotification } from './notificationQueue.js';
import { webhookSender } from './webhookTransport.js';

export interface NotifierOptions {
  /** The configured targets, read at every notification so a config reload applies at once. */
  targets: () => readonly WebhookTargetFile[];
  registry: Registry;
  logger: Logger;
  /** Default: HTTPS POST (webhookSender). */
  send?: SendNotification;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
  /** Per target (default 1000). */
  capacity?: number;
  /** Per notification (default 6: about a minute of retries with the default delays). */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export interface NotifierMetrics {
  notifications: Counter<'target' | 'event' | 'outcome'>;
  queueDepth: Gauge<'target'>;
}

export function createNotifierMetrics(registry: Registry): NotifierMetrics {
  const registers = [registry];
  return {
    notifications: new Counter({
      name: 'netpol_guard_notifications_total',
      help: 'Webhook notifications by target, event and outcome: sent (2xx), failed (after retries, or not retryable), dropped (queue full, or the controller stopped).',
      labelNames: ['target', 'event', 'outcome'],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'netpol_guard_notification_queue_depth',
      help: 'Notifications waiting to be sent, per webhook target.',
      labelNames: ['target'],
      registers,
    }),
  };
}

/**
 * Fans grant notifications out to the configured webhook targets, one NotificationQueue per
 * target name. notify() only enqueues: it never waits for a receiver. The leader alone calls it
 * (the recorder after a record write, the expiry warning after its Event), so standbys send
 * nothing. Logs name the target, never its URL.
 */
export class Notifier {
  readonly #opts: NotifierOptions;
  readonly #metrics: NotifierMetrics;
  readonly #send: SendNotification;
  readonly #queues = new Map<string, NotificationQueue>();
  #closed = false;

  constructor(options: NotifierOptions) {
    this.#opts = options;
    this.#metrics = createNotifierMetrics(options.registry);
    this.#send = options.send ?? webhookSender();
  }

  notify(notification: GrantNotification): void {
    if (this.#closed) return;
    for (const target of this.#opts.targets()) {
      if (!target.events.includes(notification.event)) continue;
      this.#queueFor(target.name).enqueue({ target, notification });
    }
  }

  /** After a config reload: close the queues of targets no longer configured (what waits there is dropped). */
  async reconcileTargets(): Promise<void> {
    const names = new Set(this.#opts.targets().map((t) => t.name));
    const gone = [...this.#queues].filter(([name]) => !names.has(name));
    for (const [name] of gone) this.#queues.delete(name);
    await Promise.all(gone.map(([, queue]) => queue.close()));
  }

  /** Every queue is empty and nothing is being sent. */
  async idle(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.idle()));
  }

  /** Stop sending; waiting notifications are dropped and counted. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
  }

  #queueFor(name: string): NotificationQueue {
    let queue = this.#queues.get(name);
    if (queue !== undefined) return queue;
    const { logger } = this.#opts;
    queue = new NotificationQueue({
      capacity: this.#opts.capacity ?? 1_000,
      maxAttempts: this.#opts.maxAttempts ?? 6,
      baseDelayMs: this.#opts.baseDelayMs ?? 1_000,
      maxDelayMs: this.#opts.maxDelayMs ?? 30_000,
      send: this.#send,
      sleep: this.#opts.sleep,
      random: this.#opts.random ?? Math.random,
      onDepth: (depth) => this.#metrics.queueDepth.set({ target: name }, depth),
      onRetry: (item, attempt, delayMs, reason) => logger.debug({ ...about(item), attempt, delayMs, reason }, 'notification not delivered; retrying'),
      onOutcome: (item, outcome, detail) => this.#report(item, outcome, detail),
    });
    this.#queues.set(name, queue);
    return queue;
  }

  #report(item: QueuedNotification, outcome: DeliveryOutcome, detail: { attempts: number; reason?: string }): void {
    this.#metrics.notifications.inc({ target: item.target.name, event: item.notification.event, outcome });
    const fields = { ...about(item), attempts: detail.attempts, ...(detail.reason !== undefined ? { reason: detail.reason } : {}) };
    if (outcome === 'sent') this.#opts.logger.info(fields, 'notification sent');
    else if (outcome === 'failed') this.#opts.logger.warn(fields, 'notification failed');
    else this.#opts.logger.warn(fields, 'notification dropped');
  }
}

/** What a log line says of a notification: the target's name, never its URL. */
function about(item: QueuedNotification): Record<string, string> {
  const n = item.notification;
  return { target: item.target.name, event: n.event, namespace: n.namespace, policy: n.policy, uid: n.uid };
}
