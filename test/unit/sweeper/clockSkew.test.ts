import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Sweeper, SweeperOptions } from '../../../src/sweeper/sweeper.js';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { FakeClock, metricValue, settle, sweeperHarness, waitFor, type SweeperHarness } from './support.js';

/** The local (possibly wrong) clock starts here; the API server's is LOCAL + offset. */
const LOCAL_T0 = new Date('2030-01-01T12:00:00Z');
const TOLERANCE_MS = 5_000;
const TEN_MINUTES = 600_000;

let fake: FakeApiServer;
const running: Sweeper[] = [];

before(async () => {
  fake = await FakeApiServer.start();
});
after(async () => {
  await fake.stop();
});

/** A sweeper on a local clock, against a server whose clock reads local + serverOffsetMs. */
function skewed(serverOffsetMs: number, overrides: Partial<SweeperOptions> = {}): SweeperHarness {
  const clock = new FakeClock(LOCAL_T0);
  fake.setDateSource(() => new Date(clock.now().getTime() + serverOffsetMs));
  const h = sweeperHarness(fake.kubeConfig(), clock, { resyncMs: 3_600_000, clockSkewToleranceMs: TOLERANCE_MS, ...overrides });
  running.push(h.sweeper);
  return h;
}

async function quiesce(): Promise<void> {
  await settle();
  await new Promise((resolve) => setTimeout(resolve, 30));
  await settle();
}

// Server offsets: 10 min either way, and with sub-second phases (Date has 1 s resolution).
const OFFSETS = [-TEN_MINUTES, TEN_MINUTES, -TEN_MINUTES + 300, TEN_MINUTES + 700];

describe('sweeper judges expiry by the API server\'s clock', () => {
  beforeEach(() => {
    fake.reset();
    fake.closeWatches();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
    fake.setDateSource(undefined);
  });

  for (const offset of OFFSETS) {
    const label = `${offset > 0 ? 'behind' : 'ahead of'} the server by ${Math.abs(offset) / 1_000} s`;

    it(`watch mode, local clock ${label}: not before expiry by server time, not later than the tolerance after it`, async () => {
      const h = skewed(offset);
      const serverStart = LOCAL_T0.getTime() + offset;
      const expiresAt = new Date(Math.ceil((serverStart + 60_000) / 1_000) * 1_000);
      fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'skewed', expiresAt }));
      await h.sweeper.start();
      await h.sweeper.synced();
      await waitFor(() => fake.watchCount >= 1, 'the watch to open');
      assert.equal(h.sweeper.scheduledCount, 1);

      // One millisecond before the grant expires by the server's clock.
      const localBeforeExpiry = expiresAt.getTime() - offset - 1 - h.clock.now().getTime();
      await h.clock.advance(localBeforeExpiry);
      await quiesce();
      assert.equal(fake.requestsFor('delete').length, 0, 'nothing deleted before expires-at by server time');
      assert.equal(fake.hasPolicy('team-a', 'skewed'), true);

      await h.clock.advance(1 + TOLERANCE_MS);
      await waitFor(() => !fake.hasPolicy('team-a', 'skewed'), 'deletion within the tolerance after expiry');

      // The estimate is the Date header's whole second: the server's clock rounded down.
      const estimatedOffsetMs = Math.floor(serverStart / 1_000) * 1_000 - LOCAL_T0.getTime();
      assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_clock_skew_seconds'), -estimatedOffsetMs / 1_000);
      const warning = h.lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('local clock differs from the API server'));
      assert.ok(warning, 'a skew past the tolerance is logged');
      assert.equal(warning.level, 40);
    });

    it(`once mode, local clock ${label}: keeps what has not expired by server time, deletes what has`, async () => {
      const h = skewed(offset);
      const serverNow = LOCAL_T0.getTime() + offset;
      fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'not-yet', expiresAt: new Date(Math.ceil(serverNow / 1_000) * 1_000 + 1_000) }));
      fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'expired', expiresAt: new Date(Math.floor(serverNow / 1_000) * 1_000 - 1_000) }));
      const summary = await h.sweeper.runOnce();
      assert.equal(summary.deleted, 1);
      assert.equal(summary.kept, 1);
      assert.equal(fake.hasPolicy('team-a', 'not-yet'), true);
      assert.equal(fake.hasPolicy('team-a', 'expired'), false);
    });
  }

  it('says nothing while the clocks agree within the tolerance, and exports the small skew', async () => {
    const h = skewed(-2_000);
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'kept', expiresAt: new Date(LOCAL_T0.getTime() + 3_600_000) }));
    await h.sweeper.runOnce();
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_clock_skew_seconds'), 2);
    assert.equal(h.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('local clock differs')), false);
  });
});
