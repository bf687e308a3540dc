/** Test doubles for the controller tests: a manual clock and an in-memory Lease store that enforces resourceVersion. */
import { type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { LeaseApiError, type LeaseClient, type LeaseRef, requireResourceVersion } from '../../../src/controller/leaseClient.js';
import type { ElectionClock } from '../../../src/controller/electionSettings.js';

interface PendingTimer {
  id: number;
  dueMs: number;
  fn: () => void;
}

/** Let every pending promise chain (and setImmediate callback) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A clock that only moves when told to; timers fire in due order as it passes them. */
export class FakeClock implements ElectionClock {
  private nowMs: number;
  private timers: PendingTimer[] = [];
  private nextId = 1;

  constructor(startMs = Date.UTC(2026, 11, 1, 4, 0, 0)) {
    this.nowMs = startMs;
  }

  now(): Date {
    return new Date(this.nowMs);
  }

  nowMsValue(): number {
    return this.nowMs;
  }

  setTimer(fn: () => void, delayMs: number): { cancel(): void } {
    const timer: PendingTimer = { id: this.nextId++, dueMs: this.nowMs + Math.max(0, delayMs), fn };
    this.timers.push(timer);
    return { cancel: () => (this.timers = this.timers.filter((t) => t.id !== timer.id)) };
  }

  /** Move time forward by `ms`, firing due timers in order and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const endMs = this.nowMs + ms;
    await settle();
    for (;;) {
      const next = this.timers.filter((t) => t.dueMs <= endMs).sort((a, b) => a.dueMs - b.dueMs || a.id - b.id)[0];
      if (next === undefined) break;
      // Timers due at the same instant fire together before anything settles, so candidates on
      // the same schedule really race (both read, then both write).
      const due = this.timers.filter((t) => t.dueMs === next.dueMs).sort((a, b) => a.id - b.id);
      this.timers = this.timers.filter((t) => t.dueMs !== next.dueMs);
      this.nowMs = Math.max(this.nowMs, next.dueMs);
      for (const timer of due) timer.fn();
      await settle();
    }
    this.nowMs = endMs;
    await settle();
  }
}

type Verb = 'get' | 'create' | 'update';

/**
 * One API server's worth of Leases in memory. Each candidate under test gets its own view() so a
 * test can break one candidate's connection (fail or hang its calls) while others keep working.
 * resourceVersion is enforced like the API server: update with a stale one is a 409.
 */
export class MemoryLeaseStore {
  private readonly leases = new Map<string, V1Lease>();
  private nextResourceVersion = 100;
  readonly calls: { client: string; verb: Verb; status: number }[] = [];

  view(name: string): MemoryLeaseClient {
    return new MemoryLeaseClient(this, name);
  }

  read(ref: LeaseRef): V1Lease | undefined {
    const stored = this.leases.get(key(ref));
    return stored === undefined ? undefined : cloneLease(stored);
  }

  /** Write as another machine would (no precondition), e.g. a holder with a skewed clock. */
  put(ref: LeaseRef, lease: V1Lease): V1Lease {
    const stored = cloneLease(lease);
    stored.metadata = { ...stored.metadata, namespace: ref.namespace, name: ref.name, resourceVersion: String(this.nextResourceVersion++) };
    this.leases.set(key(ref), stored);
    return cloneLease(stored);
  }

  handle(client: string, verb: Verb, ref: LeaseRef, lease?: V1Lease): V1Lease {
    const stored = this.leases.get(key(ref));
    const fail = (status: number): never => {
      this.calls.push({ client, verb, status });
      throw new LeaseApiError(`${verb} ${key(ref)}`, undefined, status);
    };
    if (verb === 'get') {
      if (stored === undefined) fail(404);
    } else if (verb === 'create') {
      if (stored !== undefined) fail(409);
    } else {
      requireResourceVersion(lease!);
      if (stored === undefined) fail(404);
      if (stored!.metadata?.resourceVersion !== lease!.metadata?.resourceVersion) fail(409);
    }
    this.calls.push({ client, verb, status: 200 });
    return verb === 'get' ? cloneLease(stored!) : this.put(ref, lease!);
  }
}

export class MemoryLeaseClient implements LeaseClient {
  private faults: { verb: Verb | 'any'; status: number | undefined; hang: boolean }[] = [];
  private hangAll = false;
  private delay: { clock: FakeClock; ms: number } | undefined;

  constructor(
    private readonly store: MemoryLeaseStore,
    private readonly name: string,
  ) {}

  /** The next call of `verb` fails: with an HTTP status, or with no answer (status undefined). */
  failNext(verb: Verb | 'any', status: number | undefined): void {
    this.faults.push({ verb, status, hang: false });
  }

  /** From now on every call takes `ms` on `clock` before the store handles it (a slow API server). */
  slowDown(clock: FakeClock, ms: number): void {
    this.delay = { clock, ms };
  }

  /** From now on every call hangs forever (a partitioned node, a stalled API server). */
  hangForever(): void {
    this.hangAll = true;
  }

  async get(ref: LeaseRef): Promise<V1Lease> {
    return this.call('get', ref);
  }

  async create(ref: LeaseRef, lease: V1Lease): Promise<V1Lease> {
    return this.call('create', ref, lease);
  }

  async update(ref: LeaseRef, lease: V1Lease): Promise<V1Lease> {
    return this.call('update', ref, lease);
  }

  private async call(verb: Verb, ref: LeaseRef, lease?: V1Lease): Promise<V1Lease> {
    if (this.hangAll) return new Promise(() => {});
    const index = this.faults.findIndex((f) => f.verb === verb || f.verb === 'any');
    if (index >= 0) {
      const fault = this.faults.splice(index, 1)[0]!;
      throw new LeaseApiError(`${verb} (injected)`, undefined, fault.status);
    }
    // At least one microtask hop, like a real round trip, so concurrent candidates interleave.
    const delay = this.delay;
    if (delay) await new Promise<void>((resolve) => delay.clock.setTimer(resolve, delay.ms));
    else await Promise.resolve();
    return this.store.handle(this.name, verb, ref, lease);
  }
}

export function cloneLease(lease: V1Lease): V1Lease {
  const spec = lease.spec === undefined ? undefined : { ...lease.spec };
  if (spec?.acquireTime !== undefined) spec.acquireTime = new V1MicroTime(spec.acquireTime.getTime());
  if (spec?.renewTime !== undefined) spec.renewTime = new V1MicroTime(spec.renewTime.getTime());
  return { ...lease, metadata: { ...lease.metadata }, ...(spec === undefined ? {} : { spec }) };
}

function key(ref: LeaseRef): string {
  return `${ref.namespace}/${ref.name}`;
}
