import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { startHealthServer } from '../../../src/sweeper/healthServer.js';
import type { Sweeper, SweeperOptions } from '../../../src/sweeper/sweeper.js';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { FakeClock, metricValue, settle, sweeperHarness, waitFor, type SweeperHarness } from './support.js';

const T0 = new Date('2030-01-01T12:00:00Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1_000);
const RESYNC_MS = 5 * 60_000;

let fake: FakeApiServer;
const running: Sweeper[] = [];

before(async () => {
  fake = await FakeApiServer.start();
});
after(async () => {
  await fake.stop();
});

function harness(overrides: Partial<SweeperOptions> = {}, clock = new FakeClock(T0)): SweeperHarness {
  const h = sweeperHarness(fake.kubeConfig(), clock, { resyncMs: RESYNC_MS, ...overrides });
  running.push(h.sweeper);
  return h;
}

async function started(h: SweeperHarness): Promise<SweeperHarness> {
  await h.sweeper.start();
  await h.sweeper.synced();
  await waitFor(() => fake.watchCount >= 1, 'the watch to open');
  return h;
}

/** Give in-flight HTTP a moment; used only before asserting that something did NOT happen. */
async function quiesce(): Promise<void> {
  await settle();
  await new Promise((resolve) => setTimeout(resolve, 30));
  await settle();
}

describe('sweep --watch against the fake API server', () => {
  beforeEach(() => {
    fake.reset();
    fake.closeWatches();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
    fake.clearFaults();
  });

  it('deletes a grant at its expiry, and not a moment before', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'db', expiresAt: at(60), ticket: 'OPS-7' }));
    const h = await started(harness());
    assert.equal(h.sweeper.scheduledCount, 1);
    assert.equal(h.sweeper.nextDueAt()?.toISOString(), at(60).toISOString());

    await h.clock.advance(59_000);
    await quiesce();
    assert.equal(fake.requestsFor('delete').length, 0, 'nothing deleted before expires-at');
    assert.equal(fake.hasPolicy('team-a', 'db'), true);

    await h.clock.advance(1_000);
    await waitFor(() => !fake.hasPolicy('team-a', 'db'), 'the grant to be deleted at expiry');
    await waitFor(() => fake.events.length === 1, 'the Expired event');
    assert.equal(fake.events[0]!.reason, 'Expired');
    const audit = h.lines.find((l) => l.msg === 'grant expired');
    assert.equal(audit?.lagSeconds, 0);
    assert.equal(audit?.ticket, 'OPS-7');
    await waitFor(() => h.sweeper.scheduledCount === 0, 'the schedule to drain');
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_deletions_total', { outcome: 'deleted' }), 1);
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_live_grants'), 0);
  });

  it('deletes grants that were already expired at startup without waiting', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'stale', expiresAt: at(-3600) }));
    const h = await started(harness());
    await waitFor(() => h.lines.some((l) => l.msg === 'grant expired'), 'the stale grant to go');
    assert.equal(fake.hasPolicy('team-a', 'stale'), false);
    const audit = h.lines.find((l) => l.msg === 'grant expired');
    assert.equal(audit?.lagSeconds, 3600);
  });

  it('schedules grants created after the watch started', async () => {
    const h = await started(harness());
    fake.putPolicy(grantPolicy({ namespace: 'team-b', name: 'late', expiresAt: at(30) }));
    await waitFor(() => h.sweeper.scheduledCount === 1, 'the watch ADDED event');
    await h.clock.advance(30_000);
    await waitFor(() => !fake.hasPolicy('team-b', 'late'), 'the late grant to be deleted');
  });

  it('follows an extension seen on the watch and keeps the grant until the new expiry', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'ext', expiresAt: at(60) }));
    const h = await started(harness());
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'ext', expiresAt: at(3600) }));
    await waitFor(() => h.sweeper.nextDueAt()?.getTime() === at(3600).getTime(), 'the new expiry to be scheduled');

    await h.clock.advance(120_000);
    await quiesce();
    assert.equal(fake.hasPolicy('team-a', 'ext'), true);
    assert.equal(fake.requestsFor('delete').length, 0);

    await h.clock.advance(3600_000 - 120_000);
    await waitFor(() => !fake.hasPolicy('team-a', 'ext'), 'deletion at the extended expiry');
  });

  it('forgets a grant when its label is removed (the watch reports it as DELETED)', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'made-permanent', expiresAt: at(60) }));
    const h = await started(harness());
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'made-permanent', expiresAt: at(60), temporary: false }));
    await waitFor(() => h.sweeper.scheduledCount === 0, 'the grant to leave the schedule');
    await h.clock.advance(120_000);
    await quiesce();
    assert.equal(fake.hasPolicy('team-a', 'made-permanent'), true);
  });

  it('re-reads at due time and keeps a grant extended after the last watch event (409 path)', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'race', expiresAt: at(60) }));
    const h = await started(harness());
    // The extension lands between the sweeper's GET and its DELETE.
    fake.beforeNext('delete', () => {
      fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'race', expiresAt: at(7200) }), { notify: false });
    });
    await h.clock.advance(60_000);
    await waitFor(() => fake.requestsFor('delete').length === 1 && fake.requestsFor('get').length === 2, 'delete then re-read');
    assert.equal(fake.requestsFor('delete')[0]!.status, 409);
    await waitFor(() => h.sweeper.nextDueAt()?.getTime() === at(7200).getTime(), 'rescheduling at the new expiry');
    assert.equal(fake.hasPolicy('team-a', 'race'), true);
  });

  it('counts a grant deleted by someone else at due time as already gone', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'gone', expiresAt: at(10) }));
    const h = await started(harness());
    fake.removePolicy('team-a', 'gone', { notify: false });
    await h.clock.advance(10_000);
    await waitFor(() => fake.requestsFor('get').some((r) => r.status === 404), 'the due-time read');
    await waitFor(() => h.lines.some((l) => l.msg === 'grant already gone'), 'the already-gone log');
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_deletions_total', { outcome: 'already-gone' }), 1);
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_failures_total', { operation: 'delete' }), undefined);
  });

  it('relists when the watch request itself answers 410 Gone', async () => {
    fake.failNext('watch', { status: 410 });
    const h = harness();
    await h.sweeper.start();
    await h.sweeper.synced();
    await waitFor(() => fake.watchCount === 1, 'a second watch after the relist');
    assert.deepEqual(fake.requests.map((r) => `${r.route}:${r.status}`), ['list:200', 'watch:410', 'list:200', 'watch:200']);
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_relists_total', { reason: 'watch-expired' }), 1);

    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'after-410', expiresAt: at(5) }));
    await waitFor(() => h.sweeper.scheduledCount === 1, 'the new watch to deliver events');
    await h.clock.advance(5_000);
    await waitFor(() => !fake.hasPolicy('team-a', 'after-410'), 'deletion after recovering');
  });

  it('relists when the watch sends an ERROR event with code 410', async () => {
    const h = await started(harness());
    fake.expireWatches();
    await waitFor(() => fake.requestsFor('list').length === 2 && fake.watchCount === 1, 'relist and re-watch');
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_relists_total', { reason: 'watch-expired' }), 1);
  });

  it('relists when resuming a closed watch from a compacted resourceVersion', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'survivor', expiresAt: at(600) }));
    const h = await started(harness());
    fake.compact();
    fake.closeWatches();
    await waitFor(() => fake.requestsFor('list').length === 2 && fake.watchCount === 1, 'relist after the too-old resume');
    const watches = fake.requestsFor('watch');
    assert.equal(watches.length, 3, 'initial watch, the resume that got ERROR 410, the watch after relisting');
    assert.equal(watches[2]!.query.resourceVersion, fake.resourceVersion);
    assert.equal(h.sweeper.scheduledCount, 1);
  });

  it('resumes a cleanly closed watch from the last resourceVersion it saw, without relisting', async () => {
    const h = await started(harness());
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'seen', expiresAt: at(600) }));
    await waitFor(() => h.sweeper.scheduledCount === 1, 'the ADDED event');
    const seenRv = fake.resourceVersion;
    fake.closeWatches();
    await waitFor(() => fake.watchCount === 1 && fake.requestsFor('watch').length === 2, 'the resumed watch');
    assert.equal(fake.requestsFor('list').length, 1);
    assert.equal(fake.requestsFor('watch')[1]!.query.resourceVersion, seenRv);
  });

  it('a periodic resync catches a grant whose watch event was missed', async () => {
    const h = await started(harness());
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'missed', expiresAt: at(10) }), { notify: false });
    await h.clock.advance(60_000);
    await quiesce();
    assert.equal(fake.hasPolicy('team-a', 'missed'), true, 'not known yet: the event was lost');

    await h.clock.advance(RESYNC_MS - 60_000);
    await waitFor(() => !fake.hasPolicy('team-a', 'missed'), 'the resync to find and delete it');
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_relists_total', { reason: 'resync' }), 1);
  });

  it('a resync drops grants whose deletion event was missed', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'vanished', expiresAt: at(3600) }));
    const h = await started(harness());
    fake.removePolicy('team-a', 'vanished', { notify: false });
    assert.equal(h.sweeper.scheduledCount, 1);
    await h.clock.advance(RESYNC_MS);
    await waitFor(() => h.sweeper.scheduledCount === 0, 'the resync to forget it');
  });

  it('warns about an invalid expiry once per uid+resourceVersion, across resyncs', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'broken', expiresAt: 'soon' }));
    const h = await started(harness());
    await waitFor(() => fake.events.length === 1, 'the InvalidExpiry warning');
    await h.clock.advance(RESYNC_MS);
    await waitFor(() => fake.requestsFor('list').length === 2 && fake.watchCount === 1, 'the resync');
    await quiesce();
    assert.equal(fake.events.length, 1);
    assert.equal(fake.requestsFor('createEvent').length, 1);
    assert.equal(fake.events[0]!.reason, 'InvalidExpiry');
    assert.equal(fake.events[0]!.type, 'Warning');
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_invalid_grants_total'), 1);
    assert.equal(fake.hasPolicy('team-a', 'broken'), true);

    // Fixing it makes it a normal grant.
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'broken', expiresAt: at(RESYNC_MS / 1_000 + 30) }));
    await waitFor(() => h.sweeper.scheduledCount === 1, 'the fixed grant to be scheduled');
    await h.clock.advance(30_000);
    await waitFor(() => !fake.hasPolicy('team-a', 'broken'), 'the fixed grant to expire');
  });

  it('--dry-run in watch mode deletes nothing at expiry', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'dry', expiresAt: at(5) }));
    const h = await started(harness({ dryRun: true }));
    await h.clock.advance(5_000);
    await waitFor(() => h.lines.some((l) => l.msg === 'grant expired'), 'the dry-run audit line');
    assert.equal(fake.requestsFor('delete').length, 0);
    assert.equal(fake.hasPolicy('team-a', 'dry'), true);
  });

  it('two sweepers racing delete the grant once, and neither reports a failure', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'shared', expiresAt: at(20) }));
    const clock = new FakeClock(T0);
    const a = await started(harness({ instance: 'replica-a' }, clock));
    const b = harness({ instance: 'replica-b' }, clock);
    await b.sweeper.start();
    await b.sweeper.synced();
    await waitFor(() => fake.watchCount === 2, 'both watches');
    await clock.advance(20_000);
    await waitFor(() => !fake.hasPolicy('team-a', 'shared'), 'the shared grant to go');
    const total = async (outcome: string): Promise<number> =>
      ((await metricValue(a.registry, 'netpol_guard_sweeper_deletions_total', { outcome })) ?? 0) +
      ((await metricValue(b.registry, 'netpol_guard_sweeper_deletions_total', { outcome })) ?? 0);
    await waitFor(async () => (await total('deleted')) + (await total('already-gone')) === 2, 'both sweepers to finish');
    assert.equal(await total('deleted'), 1);
    assert.equal(await total('already-gone'), 1);
    await waitFor(() => fake.events.length > 0, 'the Expired event');
    await quiesce();
    assert.equal(fake.events.filter((e) => e.reason === 'Expired').length, 1);
    for (const h of [a, b]) {
      assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_failures_total', { operation: 'delete' }), undefined);
    }
  });

  it('retries a failed deletion later instead of forgetting the grant', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'stubborn', expiresAt: at(5) }));
    const h = await started(harness({ retry: { maxAttempts: 2 } }));
    fake.failNext('delete', { status: 503, times: 2 });
    await h.clock.advance(5_000);
    await waitFor(() => fake.requestsFor('delete').length === 2, 'the first attempts');
    await waitFor(() => h.sweeper.scheduledCount === 1, 'the grant to be rescheduled');
    assert.equal(fake.hasPolicy('team-a', 'stubborn'), true);
    await h.clock.advance(10_000);
    await waitFor(() => !fake.hasPolicy('team-a', 'stubborn'), 'the retry to succeed');
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_failures_total', { operation: 'delete' }), 1);
  });

  it('keeps retrying the initial list until the API server answers', async () => {
    fake.failNext('list', { status: 403, times: 2 });
    const h = harness();
    await h.sweeper.start();
    await h.sweeper.synced();
    assert.deepEqual(fake.requestsFor('list').map((r) => r.status), [403, 403, 200]);
    assert.equal(h.delays.length, 2, 'it backed off between attempts');
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_failures_total', { operation: 'list' }), 2);
  });

  it('stop() closes the watch and cancels timers', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'pending', expiresAt: at(60) }));
    const h = await started(harness());
    assert.ok(h.clock.pendingTimers > 0);
    await h.sweeper.stop();
    await waitFor(() => fake.watchCount === 0, 'the watch to close');
    assert.equal(h.clock.pendingTimers, 0);
    assert.equal(h.sweeper.health().state, 'stopped');
    await h.clock.advance(120_000);
    await quiesce();
    assert.equal(fake.hasPolicy('team-a', 'pending'), true, 'a stopped sweeper deletes nothing');
  });

  it('serves /healthz and /metrics', async () => {
    // Retry waits never end here (until stop), so a failing relist stays failed while time moves.
    const h = harness({ sleep: (_ms, signal) => new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve())) });
    const server = await startHealthServer({ host: '127.0.0.1', port: 0, registry: h.registry, health: () => h.sweeper.health() });
    try {
      const base = `http://127.0.0.1:${server.address.port}`;
      const idle = await fetch(`${base}/healthz`);
      assert.equal(idle.status, 503, 'not healthy before start');

      await started(h);
      const ok = await fetch(`${base}/healthz`);
      assert.equal(ok.status, 200);
      const body = (await ok.json()) as { state: string; lastSuccessfulPass: string };
      assert.equal(body.state, 'running');
      assert.equal(body.lastSuccessfulPass, T0.toISOString());

      const metrics = await fetch(`${base}/metrics`);
      assert.equal(metrics.status, 200);
      const text = await metrics.text();
      assert.match(text, /netpol_guard_sweeper_relists_total\{reason="startup"\} 1/);
      assert.match(text, /netpol_guard_sweeper_last_successful_pass_timestamp_seconds 1893499200/);

      assert.equal((await fetch(`${base}/other`)).status, 404);
      assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);

      // Liveness fails once no relist has succeeded for three resync periods.
      fake.failNext('list', { status: 500 });
      await h.clock.advance(3 * RESYNC_MS + 1_000);
      await settle();
      assert.equal((await fetch(`${base}/healthz`)).status, 503);
    } finally {
      fake.clearFaults();
      await server.close();
    }
  });
});
