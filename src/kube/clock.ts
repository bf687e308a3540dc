/**
 * Time as the sweeper sees it. Everything that waits for a grant's expiry or for the next resync
 * goes through a Clock so tests can move time forward instead of sleeping through real TTLs.
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): Date;
  /** Run `fn` once, `delayMs` from now (a negative or zero delay means "as soon as possible"). */
  setTimer(fn: () => void, delayMs: number): Timer;
}

/** Sleeps used between retries; resolves early (without error) when `signal` aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** setTimeout cannot express delays beyond 2^31-1 ms; longer waits are re-armed by the caller. */
export const MAX_TIMER_DELAY_MS = 2_147_483_647;

export const systemClock: Clock = {
  now: () => new Date(),
  setTimer(fn, delayMs) {
    const handle = setTimeout(fn, Math.min(Math.max(0, delayMs), MAX_TIMER_DELAY_MS));
    return { cancel: () => clearTimeout(handle) };
  },
};

export const realSleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(handle);
      resolve();
    };
    const handle = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.min(Math.max(0, ms), MAX_TIMER_DELAY_MS));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
