import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { FakeClock, metricValue, sweeperHarness, waitFor } from './support.js';

const T0 = new Date('2030-01-01T12:00:00Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1_000);

describe('netpol_guard_sweeper_grants_opened_total', () => {
  let fake: FakeApiServer;
  before(async () => {
    fake = await FakeApiServer.start();
  });
  after(async () => {
    await fake.stop();
  });

  it('counts grants new on the watch, not those the first list found, nor updates or invalid ones', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'before-start', expiresAt: at(600) }));
    const h = sweeperHarness(fake.kubeConfig(), new FakeClock(T0), { resyncMs: 5 * 60_000 });
    try {
      await h.sweeper.start();
      await h.sweeper.synced();
      await waitFor(() => fake.watchCount >= 1, 'the watch to open');
      assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_grants_opened_total'), 0, 'a listed grant was opened before we looked');

      fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'new', expiresAt: at(900) }));
      fake.putPolicy(grantPolicy({ namespace: 'team-b', name: 'other', expiresAt: at(1200) }));
      await waitFor(() => h.sweeper.scheduledCount === 3, 'both new grants scheduled');
      assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_grants_opened_total'), 2);

      fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'new', expiresAt: at(1800) }));
      const broken = grantPolicy({ namespace: 'team-c', name: 'broken', expiresAt: at(60) });
      broken.metadata!.annotations = { ...broken.metadata!.annotations };
      for (const key of Object.keys(broken.metadata!.annotations)) if (key.endsWith('/expires-at')) broken.metadata!.annotations[key] = 'whenever';
      fake.putPolicy(broken);
      await waitFor(async () => (await metricValue(h.registry, 'netpol_guard_sweeper_invalid_grants_total')) === 1, 'the invalid grant to be seen');
      assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_grants_opened_total'), 2, 'an extension and an invalid grant are not openings');
    } finally {
      await h.sweeper.stop();
    }
  });
});
