/**
 * At most `concurrency` tasks in flight; the rest wait in arrival order. Bounds how hard the
 * sweeper leans on the API server when a backlog of grants expires at once.
 */
export interface Limiter {
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Resolves once nothing is running or waiting. */
  idle(): Promise<void>;
  readonly active: number;
  readonly waiting: number;
}

export function createLimiter(concurrency: number): Limiter {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  let active = 0;
  const queue: Array<() => void> = [];
  let idleWaiters: Array<() => void> = [];

  const settle = (): void => {
    active--;
    const next = queue.shift();
    if (next) {
      next();
      return;
    }
    if (active === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  };

  return {
    run<T>(task: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const start = (): void => {
          active++;
          let pending: Promise<T>;
          try {
            pending = task();
          } catch (err) {
            pending = Promise.reject(err);
          }
          pending.then(resolve, reject).finally(settle);
        };
        if (active < concurrency) start();
        else queue.push(start);
      });
    },
    idle(): Promise<void> {
      if (active === 0 && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
  };
}
