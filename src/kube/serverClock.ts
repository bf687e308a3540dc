/**
 * The API server's clock, estimated from the `Date` header of its responses. Expiry is a promise
 * made in the server's time (the webhook stamped expires-at from the admission request), so
 * deleting by a local clock that runs fast would remove a grant early, and by one that runs slow
 * would leave it in force too long.
 *
 * `Date` has one-second resolution and is written some time before the response arrives. When a
 * response carrying second D arrives at local time t, the server's clock read at least D at that
 * moment, so D - t is a lower bound of (server - local), off by at most one second plus the
 * network delay. Every sample is such a lower bound, so their median is one too: deciding by
 * local + median never acts before the server's time, and lags it by about a second at most.
 * The median (not the maximum) ignores a stray sample, e.g. from a proxy with its own clock.
 */
export interface ServerClockOptions {
  /** The local clock (injected in tests). */
  localNow: () => number;
  /** Samples kept (default 9). */
  window?: number;
  /** Samples older than this are dropped, so a local clock step is followed (default 15 min). */
  maxSampleAgeMs?: number;
}

interface Sample {
  offsetMs: number;
  atLocalMs: number;
}

const DEFAULT_WINDOW = 9;
const DEFAULT_MAX_SAMPLE_AGE_MS = 15 * 60_000;

export class ServerClock {
  private readonly localNow: () => number;
  private readonly window: number;
  private readonly maxSampleAgeMs: number;
  private samples: Sample[] = [];

  constructor(options: ServerClockOptions) {
    this.localNow = options.localNow;
    this.window = options.window ?? DEFAULT_WINDOW;
    this.maxSampleAgeMs = options.maxSampleAgeMs ?? DEFAULT_MAX_SAMPLE_AGE_MS;
  }

  /** Record a response's Date header, received now. Unparseable or absent headers are ignored. */
  observeDateHeader(value: string | undefined): void {
    if (value === undefined) return;
    const serverMs = Date.parse(value);
    if (Number.isNaN(serverMs)) return;
    const atLocalMs = this.localNow();
    this.samples.push({ offsetMs: serverMs - atLocalMs, atLocalMs });
    if (this.samples.length > this.window) this.samples.shift();
  }

  /** server - local in ms (negative: the local clock is ahead), or undefined before any sample. */
  offsetMs(): number | undefined {
    const nowMs = this.localNow();
    this.samples = this.samples.filter((s) => nowMs - s.atLocalMs <= this.maxSampleAgeMs && s.atLocalMs <= nowMs);
    if (this.samples.length === 0) return undefined;
    const sorted = this.samples.map((s) => s.offsetMs).sort((a, b) => a - b);
    // Lower median: with an even count, the smaller middle keeps the estimate a lower bound.
    return sorted[(sorted.length - 1) >> 1]!;
  }

  /** The server's time now, as best known; the local time until a response has been seen. */
  now(): Date {
    return new Date(this.localNow() + (this.offsetMs() ?? 0));
  }
}

