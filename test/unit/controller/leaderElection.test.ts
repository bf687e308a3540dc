import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { V1MicroTime } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { type ElectionEnd, LeaderElector } from '../../../src/controller/leaderElection.js';
import { DEFAULT_LEASE_NAME, defaultIdentity, resolveTiming } from '../../../src/controller/electionSettings.js';
import { FakeClock, MemoryLeaseStore, settle } from './support.js';

const REF = { namespace: 'netpol-guard', name: DEFAULT_LEASE_NAME };

interface Candidate {
  elector: LeaderElector;
  client: ReturnType<MemoryLeaseStore['view']>;
  registry: Registry;
  /** [time ms, event] in order. */
  events: [number, string][];
  signal: AbortSignal | undefined;
  abortedAtMs: number | undefined;
  shutdown: AbortController;
  end: ElectionEnd | undefined;
  ended: Promise<ElectionEnd>;
}

function startCandidate(
  store: MemoryLeaseStore,
  clock: FakeClock,
  identity: string,
  work?: (signal: AbortSignal) => Promise<unknown>,
): Candidate {
  const client = store.view(identity);
  const registry = new Registry();
  const c = { client, registry, events: [], signal: undefined, abortedAtMs: undefined, shutdown: new AbortController(), end: undefined } as unknown as Candidate;
  c.elector = new LeaderElector({
    client,
    lease: { namespace: REF.namespace },
    identity,
    clock,
    registry,
    onStartedLeading(signal) {
      c.events.push([clock.nowMsValue(), 'started']);
      c.signal = signal;
      signal.addEventListener('abort', () => (c.abortedAtMs = clock.nowMsValue()));
      return work?.(signal);
    },
    onStoppedLeading() {
      c.events.push([clock.nowMsValue(), 'stopped']);
    },
    onNewLeader(id) {
      c.events.push([clock.nowMsValue(), `leader ${id}`]);
    },
    onError() {},
  });
  c.ended = c.elector.run(c.shutdown.signal).then((end) => (c.end = end));
  return c;
}

async function metricValue(registry: Registry, name: string): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return metric?.values[0]?.value;
}

function spec(store: MemoryLeaseStore) {
  const lease = store.read(REF);
  assert.ok(lease?.spec, 'the lease exists');
  return lease.spec;
}

describe('resolveTiming', () => {
  it('defaults to controller-runtime values: 15 s lease, 10 s renew deadline, 2 s retry', () => {
    assert.deepEqual(resolveTiming(), { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
    assert.deepEqual(resolveTiming({ leaseDurationMs: 30_000 }), { leaseDurationMs: 30_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
  });

  it('rejects a renew deadline not shorter than the lease, a retry not shorter than the deadline, and nonsense', () => {
    assert.throws(() => resolveTiming({ renewDeadlineMs: 15_000 }), /renewDeadlineMs \(15000\) must be shorter than leaseDurationMs/);
    assert.throws(() => resolveTiming({ renewDeadlineMs: 20_000 }), /renewDeadlineMs/);
    assert.throws(() => resolveTiming({ retryPeriodMs: 10_000 }), /retryPeriodMs \(10000\) must be shorter than renewDeadlineMs/);
    assert.throws(() => resolveTiming({ leaseDurationMs: 15_500 }), /whole seconds/);
    assert.throws(() => resolveTiming({ retryPeriodMs: 0 }), /positive/);
    assert.throws(() => resolveTiming({ retryPeriodMs: -1 }), /positive/);
    assert.throws(() => resolveTiming({ leaseDurationMs: Number.NaN }), /positive/);
  });

  it('the elector refuses invalid timing and an empty identity at construction', () => {
    const store = new MemoryLeaseStore();
    const base = { client: store.view('a'), lease: { namespace: 'ns' }, onStartedLeading() {} };
    assert.throws(() => new LeaderElector({ ...base, identity: 'a', timing: { renewDeadlineMs: 16_000 } }), RangeError);
    assert.throws(() => new LeaderElector({ ...base, identity: ' ' }), /identity/);
  });
});

describe('defaultIdentity', () => {
  it('is the pod name plus a random suffix, different every time', () => {
    const a = defaultIdentity('guard-7f9c');
    const b = defaultIdentity('guard-7f9c');
    assert.match(a, /^guard-7f9c_[0-9a-f]{12}$/);
    assert.notEqual(a, b);
  });
});

describe('LeaderElector', () => {
  it('acquires an absent lease: holder, times in MicroTime, transitions 0, gauge 1', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    const a = startCandidate(store, clock, 'a');
    await settle();
    assert.equal(a.elector.isLeader, true);
    const s = spec(store);
    assert.equal(s.holderIdentity, 'a');
    assert.equal(s.leaseDurationSeconds, 15);
    assert.equal(s.leaseTransitions, 0);
    assert.ok(s.acquireTime instanceof V1MicroTime);
    assert.equal(s.acquireTime.getTime(), clock.nowMsValue());
    assert.equal(s.renewTime?.getTime(), clock.nowMsValue());
    assert.deepEqual(a.events.map((e) => e[1]), ['leader a', 'started']);
    assert.equal(a.signal?.aborted, false);
    assert.equal(await metricValue(a.registry, 'netpol_guard_controller_leader'), 1);
    assert.equal(await metricValue(a.registry, 'netpol_guard_controller_leader_transitions_total'), 1);
  });

  it('renews every retry period, keeping acquireTime and transitions', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    const start = clock.nowMsValue();
    const a = startCandidate(store, clock, 'a');
    await settle();
    const firstVersion = store.read(REF)?.metadata?.resourceVersion;
    await clock.advance(2_000);
    assert.equal(spec(store).renewTime?.getTime(), start + 2_000);
    assert.notEqual(store.read(REF)?.metadata?.resourceVersion, firstVersion);
    await clock.advance(60_000);
    const s = spec(store);
    assert.equal(s.renewTime?.getTime(), start + 62_000);
    assert.equal(s.acquireTime?.getTime(), start);
    assert.equal(s.leaseTransitions, 0);
    assert.equal(a.elector.isLeader, true);
    assert.equal(a.signal?.aborted, false);
    assert.equal(store.calls.filter((c) => c.verb === 'update' && c.status === 200).length, 31);
  });

  it('a second candidate stays standby while the holder renews, and learns who leads', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    const a = startCandidate(store, clock, 'a');
    await settle();
    const b = startCandidate(store, clock, 'b');
    await clock.advance(120_000);
    assert.equal(a.elector.isLeader, true);
    assert.equal(b.elector.isLeader, false);
    assert.deepEqual(b.events.map((e) => e[1]), ['leader a']);
    assert.equal(await metricValue(b.registry, 'netpol_guard_controller_leader'), 0);
    assert.equal(await metricValue(b.registry, 'netpol_guard_controller_leader_transitions_total'), 0);
    assert.equal(spec(store).holderIdentity, 'a');
  });

  it('takes over only after the lease duration as observed by the standby, and after the old leader stopped', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    const a = startCandidate(store, clock, 'a');
    await settle();
    const b = startCandidate(store, clock, 'b');
    await clock.advance(9_000);
    a.client.hangForever();
    const lastWriteMs = spec(store).renewTime!.getTime();
    // The standby must not move while the lease is still valid from its point of view.
    await clock.advance(lastWriteMs + 15_000 - clock.nowMsValue() - 1);
    assert.equal(b.elector.isLeader, false);
    assert.equal(spec(store).holderIdentity, 'a');
    // The standby sees the last write at its next poll (up to one retry period later) and counts
    // the 15 s from there, then acts at its next poll: at most two retry periods late.
    await clock.advance(4_001);
    assert.equal(b.elector.isLeader, true);
    const bStarted = b.events.find((e) => e[1] === 'started')![0];
    assert.ok(bStarted >= lastWriteMs + 15_000, `b started at +${bStarted - lastWriteMs} ms`);
    assert.ok(bStarted <= lastWriteMs + 15_000 + 4_000);
    // The old leader stopped at its renew deadline, well before the takeover.
    assert.equal(a.end?.reason, 'lost');
    assert.ok(a.abortedAtMs! <= lastWriteMs + 10_000);
    assert.ok(a.abortedAtMs! < bStarted);
    assert.equal(spec(store).leaseTransitions, 1);
    assert.deepEqual(b.events.map((e) => e[1]), ['leader a', 'leader b', 'started']);
  });

  it('a leader whose renewals hang stops acting at its renew deadline, not after', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    const a = startCandidate(store, clock, 'a');
    await clock.advance(4_000);
    const lastSuccessMs = spec(store).renewTime!.getTime();
    a.client.hangForever();
    await clock.advance(lastSuccessMs + 10_000 - clock.nowMsValue() - 1);
    assert.equal(a.signal?.aborted, false, 'still leading 1 ms before the deadline');
    await clock.advance(1);
    assert.equal(a.signal?.aborted, true);
    assert.ok(a.abortedAtMs! <= lastSuccessMs + 10_000);
    assert.equal(a.elector.isLeader, false);
    assert.equal(await metricValue(a.registry, 'netpol_guard_controller_leader'), 0);
    await a.ended;
    assert.equal(a.end?.reason, 'lost');
    assert.match((a.end as { detail: string }).detail, /could not renew lease netpol-guard\/netpol-guard-controller within 10000 ms/);
    assert.deepEqual(a.events.map((e) => e[1]), ['leader a', 'started', 'stopped']);
    // The stop came before the deadline passed and before any standby could have the lease.
    assert.equal(a.events.at(-1)![0], a.abortedAtMs);
  });

  it('the deadline counts from when the last successful renewal was SENT, not when its answer came', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    const a = startCandidate(store, clock, 'a');
    await settle();
    // Every call now takes 1.5 s: a renewal (read + write) answers 3 s after it started.
    a.client.slowDown(clock, 1_500);
    await clock.advance(12_000);
    assert.equal(a.elector.isLeader, true);
    const lastSentMs = spec(store).renewTime!.getTime();
    a.client.hangForever();
    await clock.advance(20_000);
    assert.equal(a.end?.reason, 'lost');
    assert.equal(a.abortedAtMs, lastSentMs + 10_000);
  });

  it('a leader whose renewals fail (500, no answer) stops at the deadline; one late success keeps it leading', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    const a = startCandidate(store, clock, 'a');
    await settle();
    const start = clock.nowMsValue();
    // Renewals at +2, +4, +6 fail, +8 succeeds: the deadline moves to +18.
    a.client.failNext('get', 500);
    a.client.failNext('get', undefined);
    a.client.failNext('update', 500);
    await clock.advance(8_000);
    assert.equal(a.elector.isLeader, true);
    assert.equal(spec(store).renewTime?.getTime(), start + 8_000);
    for (let i = 0; i < 10; i++) a.client.failNext('any', 503);
    await clock.advance(18_000 - 8_000 - 1);
    assert.equal(a.signal?.aborted, false);
    await clock.advance(1);
    assert.equal(a.signal?.aborted, true);
    assert.equal(a.abortedAtMs, start + 18_000);
    await a.ended;
    assert.equal(a.end?.reason, 'lost');
  });

  it('a leader that finds another holder in the lease stops at once', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    const a = startCandidate(store, clock, 'a');
    await settle();
    const taken = store.read(REF)!;
    taken.spec = { ...taken.spec, holderIdentity: 'intruder', renewTime: new V1MicroTime(clock.nowMsValue()) };
    store.put(REF, taken);
    const putAtMs = clock.nowMsValue();
    await clock.advance(2_000);
    assert.equal(a.signal?.aborted, true);
    assert.equal(a.abortedAtMs, putAtMs + 2_000);
    assert.equal(a.end?.reason, 'lost');
    assert.match((a.end as { detail: string }).detail, /held by intruder/);
    assert.equal(spec(store).holderIdentity, 'intruder');
  });

  it('two candidates racing to create the lease: exactly one leads, the other got 409', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    const a = startCandidate(store, clock, 'a');
    const b = startCandidate(store, clock, 'b');
    await settle();
    assert.deepEqual(
      store.calls.filter((c) => c.verb === 'create').map((c) => c.status).sort(),
      [200, 409],
    );
    await clock.advance(30_000);
    assert.equal(Number(a.elector.isLeader) + Number(b.elector.isLeader), 1);
    assert.equal(a.events.filter((e) => e[1] === 'started').length + b.events.filter((e) => e[1] === 'started').length, 1);
  });

  it('two standbys racing to take an expired lease: one update wins, the other gets 409 and stays standby', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    store.put(REF, { spec: { holderIdentity: 'gone', leaseDurationSeconds: 15, renewTime: new V1MicroTime(0), acquireTime: new V1MicroTime(0), leaseTransitions: 4 } });
    const a = startCandidate(store, clock, 'a');
    const b = startCandidate(store, clock, 'b');
    // Both first saw the record at +0 and retry every 2 s: at +16 it has been unchanged for 15 s.
    await clock.advance(15_999);
    assert.equal(Number(a.elector.isLeader) + Number(b.elector.isLeader), 0);
    await clock.advance(1);
    assert.equal(Number(a.elector.isLeader) + Number(b.elector.isLeader), 1);
    assert.deepEqual(store.calls.filter((c) => c.verb === 'update').map((c) => c.status), [200, 409]);
    assert.equal(spec(store).leaseTransitions, 5);
    await clock.advance(60_000);
    assert.equal(Number(a.elector.isLeader) + Number(b.elector.isLeader), 1);
  });

  it('on shutdown the leader stops acting, waits for its work, releases; a standby acquires within one retry period', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    let workSettledAtMs: number | undefined;
    const a = startCandidate(store, clock, 'a', (signal) =>
      new Promise<void>((resolve) =>
        signal.addEventListener('abort', () =>
          clock.setTimer(() => {
            workSettledAtMs = clock.nowMsValue();
            resolve();
          }, 300),
        ),
      ),
    );
    await settle();
    const b = startCandidate(store, clock, 'b');
    await clock.advance(5_000);
    const shutdownAtMs = clock.nowMsValue();
    a.shutdown.abort();
    await settle();
    assert.equal(a.signal?.aborted, true, 'stops acting at once');
    assert.equal(spec(store).holderIdentity, 'a', 'the lease is not released while work is still running');
    await clock.advance(300);
    assert.deepEqual(a.end, { reason: 'shutdown', released: true });
    assert.equal(workSettledAtMs, shutdownAtMs + 300);
    const released = spec(store);
    assert.equal(released.holderIdentity, '');
    assert.equal(released.leaseDurationSeconds, 1);
    await clock.advance(2_000);
    assert.equal(b.elector.isLeader, true);
    assert.ok(b.events.find((e) => e[1] === 'started')![0] <= shutdownAtMs + 300 + 2_000);
    assert.equal(spec(store).leaseTransitions, 1);
    assert.deepEqual(a.events.map((e) => e[1]), ['leader a', 'started', 'stopped']);
    assert.deepEqual(b.events.map((e) => e[1]), ['leader a', 'leader b', 'started']);
  });

  it('on shutdown a leader whose work never settles does not release (the lease expires instead)', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    const a = startCandidate(store, clock, 'a', () => new Promise(() => {}));
    await clock.advance(3_000);
    a.shutdown.abort();
    await clock.advance(10_000);
    assert.deepEqual(a.end, { reason: 'shutdown', released: false });
    assert.equal(spec(store).holderIdentity, 'a');
  });

  it('a standby that is shut down just stops', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    startCandidate(store, clock, 'a');
    await settle();
    const b = startCandidate(store, clock, 'b');
    await clock.advance(2_000);
    b.shutdown.abort();
    await clock.advance(1);
    assert.deepEqual(b.end, { reason: 'shutdown', released: false });
    assert.equal(b.events.some((e) => e[1] === 'started'), false);
  });

  it('a standby whose API call hangs still shuts down', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    startCandidate(store, clock, 'a');
    await settle();
    const b = startCandidate(store, clock, 'b');
    await clock.advance(2_000);
    b.client.hangForever();
    await clock.advance(2_000);
    b.shutdown.abort();
    await settle();
    assert.deepEqual(b.end, { reason: 'shutdown', released: false });
  });

  it('counts leaseTransitions over absent → takeover → release → takeover', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    const a = startCandidate(store, clock, 'a');
    await settle();
    assert.equal(spec(store).leaseTransitions, 0);
    const b = startCandidate(store, clock, 'b');
    await clock.advance(1_000);
    a.client.hangForever();
    await clock.advance(20_000);
    assert.equal(b.elector.isLeader, true);
    assert.equal(spec(store).leaseTransitions, 1);
    const c = startCandidate(store, clock, 'c');
    await clock.advance(1_000);
    b.shutdown.abort();
    await clock.advance(2_000);
    assert.equal(c.elector.isLeader, true);
    assert.equal(spec(store).leaseTransitions, 2);
    assert.equal(spec(store).holderIdentity, 'c');
  });

  it('clock skew: a renewTime written far in the future does not keep the lease past our observed duration', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    const future = new V1MicroTime(Date.UTC(2100, 0, 1));
    store.put(REF, { spec: { holderIdentity: 'skewed', leaseDurationSeconds: 15, renewTime: future, acquireTime: future, leaseTransitions: 0 } });
    const b = startCandidate(store, clock, 'b');
    const firstSeenMs = clock.nowMsValue();
    await clock.advance(15_000 - 1);
    assert.equal(b.elector.isLeader, false);
    await clock.advance(2_001);
    assert.equal(b.elector.isLeader, true);
    assert.ok(b.events.find((e) => e[1] === 'started')![0] >= firstSeenMs + 15_000);
  });

  it('clock skew: a renewTime written far in the past does not let us take a lease that keeps changing', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    const past = (n: number) => new V1MicroTime(Date.UTC(1990, 0, 1) + n);
    store.put(REF, { spec: { holderIdentity: 'skewed', leaseDurationSeconds: 15, renewTime: past(0), acquireTime: past(0), leaseTransitions: 0 } });
    const b = startCandidate(store, clock, 'b');
    await clock.advance(1_000);
    assert.equal(b.elector.isLeader, false, 'a stale-looking renewTime is not expiry');
    // The skewed holder keeps renewing (every 5 s, its renewTime still in 1990).
    for (let i = 1; i <= 12; i++) {
      const current = store.read(REF)!;
      current.spec = { ...current.spec, renewTime: past(i * 5_000) };
      store.put(REF, current);
      await clock.advance(5_000);
      assert.equal(b.elector.isLeader, false);
    }
    // It stops renewing: b takes over 15 s after it last saw a change.
    await clock.advance(15_000 + 2_000);
    assert.equal(b.elector.isLeader, true);
  });

  it('a throwing callback is reported and does not break the election', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    const errors: string[] = [];
    const elector = new LeaderElector({
      client: store.view('a'),
      lease: { namespace: REF.namespace },
      identity: 'a',
      clock,
      onStartedLeading() {
        throw new Error('boom');
      },
      onError(_err, during) {
        errors.push(during);
      },
    });
    void elector.run(new AbortController().signal);
    await clock.advance(10_000);
    assert.equal(elector.isLeader, true);
    assert.deepEqual(errors, ['callback']);
    await assert.rejects(elector.run(new AbortController().signal), /only once/);
  });
});
