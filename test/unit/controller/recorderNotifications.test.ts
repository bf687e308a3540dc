// Notifications are exactly the GrantRecord transitions the leader writes: one per opening, change
// and close, none from a standby, none twice when another writer got there first.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { defaultConfig } from '../../../src/config/load.js';
import { recordOpened } from '../../../src/controller/grantRecord.js';
import { type GrantNotification, transitionNotifications } from '../../../src/controller/notification.js';
import { GrantRecorder } from '../../../src/controller/recorder.js';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { captureLogger, FakeClock, settle, sweeperHarness, waitFor, type SweeperHarness } from '../sweeper/support.js';
import { MemoryGrantRecordClient } from './recordSupport.js';

const T0 = new Date('2030-01-01T12:00:00Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1_000);
const config = defaultConfig();

let fake: FakeApiServer;
const cleanups: (() => Promise<unknown>)[] = [];
before(async () => {
  fake = await FakeApiServer.start();
});
after(async () => {
  await fake.stop();
});
beforeEach(() => {
  fake.reset();
  fake.closeWatches();
});
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
  fake.clearFaults();
});

async function rig(options: { client?: MemoryGrantRecordClient; lead?: boolean } = {}) {
  const clock = new FakeClock(T0);
  const client = options.client ?? new MemoryGrantRecordClient();
  const sent: GrantNotification[] = [];
  const { logger } = captureLogger();
  let h!: SweeperHarness;
  const recorder = new GrantRecorder({
    client, config, now: () => h.sweeper.serverNow(), logger, retentionMs: 90 * 86_400_000,
    sleep: async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
    onWritten: (before, after) => sent.push(...transitionNotifications(before, after, h.sweeper.serverNow())),
  });
  h = sweeperHarness(fake.kubeConfig(), clock, { observer: recorder, standby: true });
  const leadership = new AbortController();
  await h.sweeper.start();
  await h.sweeper.synced();
  await waitFor(() => fake.watchCount >= 1, 'the watch to open');
  const work = options.lead === false ? undefined : Promise.all([h.sweeper.actWhile(leadership.signal), recorder.actWhile(leadership.signal, () => h.sweeper.liveGrants())]);
  cleanups.push(async () => {
    leadership.abort();
    await work;
    await h.sweeper.stop();
  });
  return { h, client, recorder, sent };
}

const quiesce = async (recorder: GrantRecorder): Promise<void> => {
  await settle();
  await new Promise((resolve) => setTimeout(resolve, 30));
  await recorder.idle();
  await settle();
};

describe('recorder → notifications', () => {
  it('a grant opened, extended by bob and expired gives opened, changed (by bob), expired: one each', async () => {
    const r = await rig();
    await waitFor(() => r.client.calls.some((c) => c.verb === 'list'), 'the records to load');
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'life', expiresAt: at(60), ticket: 'OPS-1', requestedBy: 'alice' }));
    await waitFor(() => r.sent.length === 1, 'opened');
    fake.putPolicy(grantPolicy({
      namespace: 'team-a', name: 'life', expiresAt: at(120), ticket: 'OPS-1', requestedBy: 'alice',
      annotations: { 'netpol-guard.io/changed-by': 'bob', 'netpol-guard.io/changed-at': '2030-01-01T12:00:10Z' },
    }));
    await waitFor(() => r.sent.length === 2, 'changed');
    await r.h.clock.advance(120_000);
    await waitFor(() => r.sent.length === 3, 'expired');
    await quiesce(r.recorder);
    assert.deepEqual(r.sent.map((n) => n.event), ['opened', 'changed', 'expired']);
    assert.equal(r.sent[0]!.requester, 'alice');
    assert.equal(r.sent[1]!.by, 'bob');
    assert.deepEqual(r.sent[1]!.changes, [{ field: 'expiry', from: '2030-01-01T12:01:00Z', to: '2030-01-01T12:02:00Z' }]);
    assert.equal(r.sent[2]!.lagSeconds, 0);
  });

  it('revoked and deleted closes notify as such', async () => {
    const r = await rig();
    await waitFor(() => r.client.calls.some((c) => c.verb === 'list'), 'the records to load');
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'rev', expiresAt: at(600) }));
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'del', expiresAt: at(600) }));
    await waitFor(() => r.sent.length === 2, 'both opened');
    fake.putPolicy(grantPolicy({
      namespace: 'team-a', name: 'rev', expiresAt: at(600),
      annotations: { 'netpol-guard.io/revoked-by': 'carol', 'netpol-guard.io/revoked-at': '2030-01-01T12:00:05Z' },
    }));
    await settle();
    fake.removePolicy('team-a', 'rev');
    fake.removePolicy('team-a', 'del');
    await waitFor(() => r.sent.length === 4, 'both closed');
    const closes = Object.fromEntries(r.sent.slice(2).map((n) => [n.policy, n]));
    assert.equal(closes['rev']!.event, 'revoked');
    assert.equal(closes['rev']!.by, 'carol');
    assert.equal(closes['del']!.event, 'deleted');
    assert.equal(closes['del']!.deletion, 'observed');
  });

  it('a standby notifies nothing', async () => {
    const r = await rig({ lead: false });
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'quiet', expiresAt: at(30) }));
    await r.h.clock.advance(60_000);
    await settle();
    assert.deepEqual(r.sent, []);
    assert.equal(r.client.writes().length, 0);
  });

  it('a transition another writer already stored (409, re-read) is not notified again', async () => {
    const policy = fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'raced', expiresAt: at(600) }));
    const client = new MemoryGrantRecordClient();
    const r = await rig({ client });
    await waitFor(() => r.sent.length === 1, 'opened late by the first list');
    // Another writer (an earlier leader) stores the opening first; ours then gets 409 and re-reads.
    const other = fake.putPolicy(grantPolicy({ namespace: 'team-b', name: 'raced-too', expiresAt: at(600) }), { notify: false });
    client.put(recordOpened(other, at(1), config));
    client.failNext('create', 409);
    fake.putPolicy(other);
    await quiesce(r.recorder);
    assert.deepEqual(r.sent.map((n) => [n.policy, n.event]), [['raced', 'opened']]);
    assert.equal(r.sent[0]!.late, true);
    assert.equal(r.sent[0]!.uid, policy.metadata!.uid);
  });
});
