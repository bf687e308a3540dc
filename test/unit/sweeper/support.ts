/** Test doubles shared by the sweeper tests: a manual clock, a recording sleep, a log capture, a wired Sweeper. */
import { pino, type Logger } from 'pino';
import type { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { defaultConfig } from '../../../src/config/load.js';
import type { Clock, Sleep, Timer } from '../../../src/kube/clock.js';
import { Sweeper, type SweeperOptions } from '../../../src/sweeper/sweeper.js';

interface PendingTimer {
  id: number;
  dueMs: number;
  fn: () => void;
}

/** A clock that only moves when told to; timers fire in due order as it passes them. */
export class FakeClock implements Clock {
  private nowMs: number;
  private timers: PendingTimer[] = [];
  private nextId = 1;

  constructor(start: Date) {
    this.nowMs = start.getTime();
  }

  now(): Date {
    return new Date(this.nowMs);
  }

  setTimer(fn: () => void, delayMs: number): Timer {
    const timer: PendingTimer = { id: this.nextId++, dueMs: this.nowMs + Math.max(0, delayMs), fn };
    this.timers.push(timer);
    if (delayMs <= 0) {
      // Already due: fires on its own, as setTimeout(fn, 0) would, without time having to move.
      setImmediate(() => this.fire(timer.id));
    }
    return {
      cancel: () => {
        this.timers = this.timers.filter((t) => t.id !== timer.id);
      },
    };
  }

  private fire(id: number): void {
    const timer = this.timers.find((t) => t.id === id);
    if (timer === undefined) return;
    this.timers = this.timers.filter((t) => t.id !== id);
    timer.fn();
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Move forward by `ms`, firing each timer due on the way at its own due time. */
  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    for (;;) {
      // A zero-delay timer set by a callback is due now; it fires before time moves on.
      const next = this.timers.filter((t) => t.dueMs <= target).sort((a, b) => a.dueMs - b.dueMs || a.id - b.id)[0];
      if (next === undefined) break;
      this.nowMs = Math.max(this.nowMs, next.dueMs);
      this.fire(next.id);
      await settle();
    }
    this.nowMs = target;
    await settle();
  }
}

/** Let promise chains and already-arrived I/O callbacks run. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Poll `condition` (real time, short interval) until true; fail naming `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  }
}

/** A sleep that returns at once and remembers what it was asked for. */
export function recordingSleep(): { sleep: Sleep; delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms: number) => {
      delays.push(ms);
      // Yield like a real timer would, so retry loops cannot starve the event loop.
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
}

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

/** A pino logger writing parsed JSON lines into an array. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (chunk: string) => void lines.push(JSON.parse(chunk) as LogLine) });
  return { logger, lines };
}

/** A Sweeper wired to test doubles, and the doubles to inspect afterwards. */
export interface SweeperHarness {
  sweeper: Sweeper;
  registry: Registry;
  clock: FakeClock;
  delays: number[];
  lines: LogLine[];
}

/**
 * A Sweeper against `kubeConfig` with a fresh registry, the manual `clock`, a recording sleep,
 * a captured logger, fixed jitter and the default config; `overrides` replace any of them.
 */
export function sweeperHarness(kubeConfig: KubeConfig, clock: FakeClock, overrides: Partial<SweeperOptions> = {}): SweeperHarness {
  const registry = new Registry();
  const { sleep, delays } = recordingSleep();
  const { logger, lines } = captureLogger();
  const sweeper = new Sweeper({
    kubeConfig,
    config: defaultConfig(),
    registry,
    logger,
    clock,
    sleep,
    random: () => 0.5,
    instance: 'sweeper-test-0',
    ...overrides,
  });
  return { sweeper, registry, clock, delays, lines };
}

/** The value of one series of `name` in `registry` (the first whose labels include `labels`). */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const data = await registry.getSingleMetric(name)?.get();
  return data?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value;
}
