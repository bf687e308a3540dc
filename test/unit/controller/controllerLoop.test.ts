import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { V1MicroTime } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { runControllerLoop, type ControllerEnd } from '../../../src/controller/controllerLoop.js';
import { LeaderElector } from '../../../src/controller/leaderElection.js';
import type { Sweeper } from '../../../src/sweeper/sweeper.js';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { FakeClock, metricValue, settle, sweeperHarness, waitFor, type SweeperHarness } from '../sweeper/support.js';
import { MemoryLeaseStore } from './support.js';

const T0 = new Date('2030-01-01T12:00:00Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1_000);
const LEASE = { namespace: 'netpol-guard', name: 'netpol-guard-controller' };
const TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

let fake: FakeApiServer;
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  fake = await FakeApiServer.start();
});
after(async () => {
  await fake.stop();
});

interface Candidate {
  h: SweeperHarness;
  elector: LeaderElector;
  shutdown: AbortController;
  ended: Promise<ControllerEnd>;
  registry: Registry;
}

function candidate(store: MemoryLeaseStore, name: string, clock: FakeClock): Candidate {
  const h = sweeperHarness(fake.kubeConfig(), clock, { standby: true, resyncMs: 5 * 60_000, instance: name });
  const registry = new Registry();
  const lease = store.view(name);
  const elector = new LeaderElector({
    client: lease,
    lease: LEASE,
    identity: name,
    timing: TIMING,
    clock,
    registry,
    onStartedLeading: (signal) => h.sweeper.actWhile(signal),
  });
  const shutdown = new AbortController();
  const ended = runControllerLoop({ sweeper: h.sweeper, elector, shutdown: shutdown.signal, logger: sweeperLogger(h) });
  cleanups.push(async () => {
    shutdown.abort();
    await ended;
  });
  return { h, elector, shutdown, ended, registry };
}

/** The harness's own captured logger is inside the Sweeper; the loop logs there too. */
function sweeperLogger(h: SweeperHarness): import('pino').Logger {
  return (h.sweeper as unknown as { logger: import('pino').Logger }).logger;
}

/** A Lease held by a machine outside the test, renewed "just now" by our clock's reading. */
function heldByOther(store: MemoryLeaseStore, clock: FakeClock): void {
  store.put(LEASE, {
    metadata: {},
    spec: {
      holderIdentity: 'other-pod_1',
      leaseDurationSeconds: 15,
      acquireTime: new V1MicroTime(clock.now().getTime()),
      renewTime: new V1MicroTime(clock.now().getTime()),
      leaseTransitions: 0,
    },
  });
}

async function quiesce(): Promise<void> {
  await settle();
  await new Promise((resolve) => setTimeout(resolve, 30));
  await settle();
}

async function cacheFilled(h: SweeperHarness, count: number): Promise<void> {
  await h.sweeper.synced();
  await waitFor(() => h.sweeper.scheduledCount === count, `${count} grant(s) scheduled`);
}

describe('controller: the sweeper under leader election', () => {
  beforeEach(() => {
    fake.reset();
    fake.closeWatches();
  });
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()));
    fake.clearFaults();
  });

  it('a standby fills its schedule but never deletes nor writes Events, and stays healthy', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'due', expiresAt: at(-60) }));
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'soon', expiresAt: at(5) }));
    fake.putPolicy({ ...grantPolicy({ namespace: 'team-a', name: 'broken', expiresAt: at(5) }), metadata: { ...grantPolicy({ namespace: 'team-a', name: 'broken', expiresAt: at(5) }).metadata, annotations: {} } });
    const clock = new FakeClock(T0);
    const store = new MemoryLeaseStore();
    heldByOther(store, clock);
    const c = candidate(store, 'standby-pod_1', clock);
    await cacheFilled(c.h, 2);
    // The other holder goes silent only after 15 s; until then this replica must not act.
    await clock.advance(14_000);
    await quiesce();
    assert.equal(c.elector.isLeader, false);
    assert.equal(fake.requestsFor('delete').length, 0, 'a standby deletes nothing');
    assert.equal(fake.requestsFor('get').length, 0, 'a standby does not even re-read due grants');
    assert.equal(fake.events.length, 0, 'a standby writes no Event, not even for an invalid grant');
    assert.equal(c.h.sweeper.scheduledCount, 2, 'the schedule stays full for a takeover');
    const health = c.h.sweeper.health();
    assert.equal(health.healthy, true);
    assert.equal(health.role, 'standby');
    assert.equal(await metricValue(c.registry, 'netpol_guard_controller_leader'), 0);
  });

  it('takes over from a silent leader and deletes an already-due grant within a second of acquiring', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'due', expiresAt: at(3) }));
    const clock = new FakeClock(T0);
    const store = new MemoryLeaseStore();
    heldByOther(store, clock);
    const c = candidate(store, 'standby-pod_1', clock);
    await cacheFilled(c.h, 1);
    await clock.advance(15_000);
    await quiesce();
    assert.equal(fake.hasPolicy('team-a', 'due'), true, 'still held by the other leader at 15 s (its lease is observed, not yet expired)');
    // Candidates retry every 2 s: the first attempt past 15 s of silence wins.
    await clock.advance(2_000);
    await waitFor(() => c.elector.isLeader, 'the takeover');
    const acquiredAtMs = clock.now().getTime();
    await clock.advance(0);
    await waitFor(() => !fake.hasPolicy('team-a', 'due'), 'the due grant to be deleted after the takeover');
    assert.ok(clock.now().getTime() - acquiredAtMs < 1_000, 'deleted without waiting for a resync or a timer');
    assert.equal(fake.requestsFor('delete').length, 1, 'exactly once');
    assert.equal(store.read(LEASE)?.spec?.holderIdentity, 'standby-pod_1');
    assert.equal(c.h.sweeper.health().role, 'leader');
    assert.equal(await metricValue(c.registry, 'netpol_guard_controller_leader'), 1);
    assert.equal(await metricValue(c.registry, 'netpol_guard_controller_leader_transitions_total'), 1);
  });

  it('the leader deletes at expiry; of two replicas only the holder does', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'db', expiresAt: at(30) }));
    const clock = new FakeClock(T0);
    const store = new MemoryLeaseStore();
    const a = candidate(store, 'pod-a_1', clock);
    await waitFor(() => a.elector.isLeader, 'pod-a to lead');
    const b = candidate(store, 'pod-b_1', clock);
    await cacheFilled(a.h, 1);
    await cacheFilled(b.h, 1);
    await clock.advance(29_000);
    await quiesce();
    assert.equal(fake.requestsFor('delete').length, 0, 'nothing before expiry');
    await clock.advance(1_000);
    await waitFor(() => !fake.hasPolicy('team-a', 'db'), 'the leader to delete at expiry');
    await quiesce();
    assert.equal(fake.requestsFor('delete').length, 1, 'one delete, by the leader');
    assert.ok(a.h.lines.some((l) => l.msg === 'grant expired'), 'the leader logs the deletion');
    assert.ok(!b.h.lines.some((l) => l.msg === 'grant expired'), 'the standby does not');
    assert.equal(b.elector.isLeader, false);
  });

  it('a leader that cannot renew stops before its deadline, deletes nothing after, and exits non-zero', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'late', expiresAt: at(12) }));
    const clock = new FakeClock(T0);
    const store = new MemoryLeaseStore();
    const c = candidate(store, 'pod-a_1', clock);
    await waitFor(() => c.elector.isLeader, 'pod-a to lead');
    await cacheFilled(c.h, 1);
    store.view('unused');
    (c.elector as unknown as { options: { client: { hangForever(): void } } }).options.client.hangForever();
    await clock.advance(10_000);
    await waitFor(() => !c.elector.isLeader, 'leadership to end at the renew deadline');
    await clock.advance(5_000);
    await quiesce();
    assert.equal(fake.requestsFor('delete').length, 0, 'no deletion once the leadership signal aborted');
    assert.equal(fake.hasPolicy('team-a', 'late'), true);
    const end = await c.ended;
    assert.equal(end.reason, 'lost');
    assert.equal(end.exitCode, 1);
  });

  it('on shutdown the leader releases the Lease and exits 0', async () => {
    const clock = new FakeClock(T0);
    const store = new MemoryLeaseStore();
    const c = candidate(store, 'pod-a_1', clock);
    await waitFor(() => c.elector.isLeader, 'pod-a to lead');
    await c.h.sweeper.synced();
    c.shutdown.abort();
    const end = await c.ended;
    assert.deepEqual(end, { reason: 'shutdown', exitCode: 0, released: true });
    assert.equal(store.read(LEASE)?.spec?.holderIdentity, '');
  });
});

describe('Sweeper.actWhile: the leadership signal gates each delete', () => {
  const running: Sweeper[] = [];
  beforeEach(() => {
    fake.reset();
    fake.closeWatches();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
    fake.clearFaults();
  });

  it('leadership lost between the re-read and the delete: the delete is never sent, the grant waits for the next leader', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'db', expiresAt: at(10) }));
    const clock = new FakeClock(T0);
    const h = sweeperHarness(fake.kubeConfig(), clock, { standby: true });
    running.push(h.sweeper);
    await h.sweeper.start();
    await cacheFilled(h, 1);
    const leadership = new AbortController();
    const acting = h.sweeper.actWhile(leadership.signal);
    // The reaper re-reads the policy at its expiry; leadership ends while that GET is answered.
    fake.beforeNext('get', () => leadership.abort());
    await clock.advance(10_000);
    await acting;
    await quiesce();
    assert.equal(fake.requestsFor('get').length, 1, 'the due grant was re-read');
    assert.equal(fake.requestsFor('delete').length, 0, 'but not deleted after the abort');
    assert.equal(fake.hasPolicy('team-a', 'db'), true);
    assert.equal(h.sweeper.scheduledCount, 1, 'kept in the schedule for a later leader');
    await clock.advance(60_000);
    await quiesce();
    assert.equal(fake.requestsFor('delete').length, 0, 'and nothing fires while not leading');
  });

  it('refuses on a Sweeper not built for leader election', async () => {
    const h = sweeperHarness(fake.kubeConfig(), new FakeClock(T0));
    running.push(h.sweeper);
    await assert.rejects(h.sweeper.actWhile(new AbortController().signal), /standby: true/);
  });
});
