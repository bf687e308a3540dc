import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { defaultConfig } from '../../../src/config/load.js';
import { recordClosed, recordName, recordOpened } from '../../../src/controller/grantRecord.js';
import { leaderWork } from '../../../src/controller/controllerLoop.js';
import { GrantRecorder } from '../../../src/controller/recorder.js';
import type { SweeperOptions } from '../../../src/sweeper/sweeper.js';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { captureLogger, FakeClock, settle, sweeperHarness, waitFor, type SweeperHarness } from '../sweeper/support.js';
import { MemoryGrantRecordClient } from './recordSupport.js';

const T0 = new Date('2030-01-01T12:00:00Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1_000);
const DAY_MS = 86_400_000;
const config = defaultConfig();

let fake: FakeApiServer;
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  fake = await FakeApiServer.start();
});
after(async () => {
  await fake.stop();
});

interface Rig {
  h: SweeperHarness;
  client: MemoryGrantRecordClient;
  recorder: GrantRecorder;
  leadership: AbortController;
  recording: Promise<void> | undefined;
}

/** A Sweeper with a GrantRecorder as its observer, both on the fake clock; `lead` starts recording. */
async function rig(options: { client?: MemoryGrantRecordClient; lead?: boolean; retentionMs?: number; sweeper?: Partial<SweeperOptions> } = {}): Promise<Rig> {
  const clock = new FakeClock(T0);
  const client = options.client ?? new MemoryGrantRecordClient();
  const { logger } = captureLogger();
  let h!: SweeperHarness;
  const recorder = new GrantRecorder({
    client,
    config,
    now: () => h.sweeper.serverNow(),
    logger,
    retentionMs: options.retentionMs ?? 90 * DAY_MS,
    sleep: async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
  });
  h = sweeperHarness(fake.kubeConfig(), clock, { observer: recorder, resyncMs: 5 * 60_000, ...options.sweeper });
  const leadership = new AbortController();
  await h.sweeper.start();
  await h.sweeper.synced();
  await waitFor(() => fake.watchCount >= 1, 'the watch to open');
  const recording = options.lead === false ? undefined : recorder.actWhile(leadership.signal, () => h.sweeper.liveGrants());
  cleanups.push(async () => {
    leadership.abort();
    await recording;
    await h.sweeper.stop();
  });
  return { h, client, recorder, leadership, recording };
}

async function quiesce(recorder: GrantRecorder): Promise<void> {
  await settle();
  await new Promise((resolve) => setTimeout(resolve, 30));
  await recorder.idle();
  await settle();
}

describe('GrantRecorder: every transition, written by the leader', () => {
  beforeEach(() => {
    fake.reset();
    fake.closeWatches();
  });
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()));
    fake.clearFaults();
  });

  it('a grant created while the leader watches is opened (not late) with who, ticket and expiry', async () => {
    const r = await rig();
    await waitFor(() => r.client.calls.some((c) => c.verb === 'list'), 'the records to load');
    const policy = fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'db', expiresAt: at(600), ticket: 'OPS-7', requestedBy: 'alice', grantedAt: T0 }));
    await waitFor(() => r.client.byPolicy('db') !== undefined, 'the record to be created');
    const record = r.client.byPolicy('db')!;
    assert.equal(record.metadata.name, recordName(policy.metadata!.uid!));
    assert.equal(record.status.state, 'Open');
    assert.equal(record.spec.openedLate, false);
    assert.equal(record.spec.ticket, 'OPS-7');
    assert.equal(record.spec.requestedBy, 'alice');
    assert.equal(record.status.expiresAt, '2030-01-01T12:10:00Z');
    assert.equal(record.metadata.labels?.['netpol-guard.io/policy-namespace'], 'team-a');
  });

  it('grants found by the first list without a record are opened late; one with a record is left alone', async () => {
    const known = fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'known', expiresAt: at(600) }));
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'unknown', expiresAt: at(600) }));
    const client = new MemoryGrantRecordClient();
    client.put(recordOpened(known, at(-60), config));
    const r = await rig({ client });
    await waitFor(() => r.client.byPolicy('unknown') !== undefined, 'the late record');
    await quiesce(r.recorder);
    assert.equal(r.client.byPolicy('unknown')!.spec.openedLate, true);
    assert.equal(r.client.byPolicy('known')!.spec.openedLate, false);
    assert.deepEqual(r.client.writes().map((w) => w.verb), ['create'], 'only the unknown grant is written');
  });

  it('a grant that a relist finds (created while the watch was down) is opened late', async () => {
    const r = await rig();
    await waitFor(() => r.client.calls.some((c) => c.verb === 'list'), 'the records to load');
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'unwatched', expiresAt: at(600) }), { notify: false });
    fake.expireWatches();
    await waitFor(() => r.client.byPolicy('unwatched') !== undefined, 'the record after the relist');
    assert.equal(r.client.byPolicy('unwatched')!.spec.openedLate, true);
  });

  it('an extension is recorded as a change of expiry, from → to', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'ext', expiresAt: at(600) }));
    const r = await rig();
    await waitFor(() => r.client.byPolicy('ext') !== undefined, 'the record');
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'ext', expiresAt: at(3600) }));
    await waitFor(() => r.client.byPolicy('ext')!.status.changes.length === 1, 'the change');
    const change = r.client.byPolicy('ext')!.status.changes[0]!;
    assert.equal(change.field, 'expiry');
    assert.equal(change.from, '2030-01-01T12:10:00Z');
    assert.equal(change.to, '2030-01-01T13:00:00Z');
    assert.equal(r.client.byPolicy('ext')!.status.expiresAt, '2030-01-01T13:00:00Z');
  });

  it('a grant this controller deletes at its expiry is closed Expired, with its lag, exactly once', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'exp', expiresAt: at(30) }));
    const r = await rig();
    await waitFor(() => r.client.byPolicy('exp') !== undefined, 'the record');
    await r.h.clock.advance(30_000);
    await waitFor(() => r.client.byPolicy('exp')!.status.state === 'Expired', 'the Expired close');
    await quiesce(r.recorder);
    const record = r.client.byPolicy('exp')!;
    assert.equal(record.status.expiryLagSeconds, 0);
    assert.equal(record.metadata.labels?.['netpol-guard.io/state'], 'Expired');
    assert.equal(r.client.writes().filter((w) => w.verb === 'update').length, 1, 'one close, not a second one for the watch DELETED');
  });

  it('a grant deleted by someone else is closed Deleted, pointing to the audit log', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'manual', expiresAt: at(600) }));
    const r = await rig();
    await waitFor(() => r.client.byPolicy('manual') !== undefined, 'the record');
    fake.removePolicy('team-a', 'manual');
    await waitFor(() => r.client.byPolicy('manual')!.status.state === 'Deleted', 'the Deleted close');
    const record = r.client.byPolicy('manual')!;
    assert.equal(record.status.closedBy, undefined);
    assert.match(record.status.closedNote ?? '', /audit log/);
  });

  it('a grant whose record could not be opened is still recorded when it is deleted (opened late and closed)', async () => {
    const client = new MemoryGrantRecordClient();
    const r = await rig({ client });
    await waitFor(() => r.client.calls.some((c) => c.verb === 'list'), 'the records to load');
    for (let i = 0; i < 5; i++) client.failNext('create', 503);
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'unlucky', expiresAt: at(600) }));
    await waitFor(() => client.calls.filter((c) => c.verb === 'create').length === 5, 'every opening attempt to fail');
    await quiesce(r.recorder);
    fake.removePolicy('team-a', 'unlucky');
    await waitFor(() => r.client.byPolicy('unlucky') !== undefined, 'the record written at the close');
    const record = r.client.byPolicy('unlucky')!;
    assert.equal(record.status.state, 'Deleted');
    assert.equal(record.spec.openedLate, true);
  });

  it('a grant carrying revoked-by stamps is closed Revoked by that user', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'rev', expiresAt: at(600) }));
    const r = await rig();
    await waitFor(() => r.client.byPolicy('rev') !== undefined, 'the record');
    fake.putPolicy(grantPolicy({
      namespace: 'team-a', name: 'rev', expiresAt: at(600),
      annotations: { 'netpol-guard.io/revoked-by': 'bob', 'netpol-guard.io/revoked-at': '2030-01-01T12:00:05Z' },
    }));
    await settle();
    fake.removePolicy('team-a', 'rev');
    await waitFor(() => r.client.byPolicy('rev')!.status.state === 'Revoked', 'the Revoked close');
    assert.equal(r.client.byPolicy('rev')!.status.closedBy, 'bob');
  });

  it('on a list, an open record whose grant is gone is closed DeletedNotObserved', async () => {
    const gone = grantPolicy({ namespace: 'team-a', name: 'vanished', expiresAt: at(600), uid: '0b6f1d2e-0000-4000-8000-000000000001' });
    const client = new MemoryGrantRecordClient();
    client.put(recordOpened(gone, at(-3600), config));
    const r = await rig({ client });
    await waitFor(() => r.client.byPolicy('vanished')!.status.state === 'DeletedNotObserved', 'the unobserved close');
    assert.match(r.client.byPolicy('vanished')!.status.closedNote ?? '', /while no leader watched/);
  });

  it('a takeover deletes an already-due grant before the records are loaded: still closed Expired, not DeletedNotObserved', async () => {
    const due = fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'due', expiresAt: at(-5) }));
    const client = new MemoryGrantRecordClient();
    client.put(recordOpened(due, at(-600), config));
    const release = client.holdLists();
    const r = await rig({ client, lead: false, sweeper: { standby: true } });
    const leadership = new AbortController();
    const work = leaderWork(r.h.sweeper, r.recorder)(leadership.signal);
    cleanups.push(async () => {
      leadership.abort();
      await work;
    });
    await waitFor(() => !fake.hasPolicy('team-a', 'due'), 'the takeover to delete the due grant');
    await quiesce(r.recorder);
    release();
    await waitFor(() => r.client.byPolicy('due')!.status.state !== 'Open', 'the record to be closed');
    assert.equal(r.client.byPolicy('due')!.status.state, 'Expired');
    assert.equal(r.client.byPolicy('due')!.status.expiryLagSeconds, 5);
  });

  it('prunes closed records past the retention, keeps recent and open ones', async () => {
    const client = new MemoryGrantRecordClient();
    const old = grantPolicy({ namespace: 'team-a', name: 'old', uid: '0b6f1d2e-0000-4000-8000-000000000002', expiresAt: at(-100 * 86_400) });
    const recent = grantPolicy({ namespace: 'team-a', name: 'recent', uid: '0b6f1d2e-0000-4000-8000-000000000003', expiresAt: at(-86_400) });
    client.put(recordClosed(recordOpened(old, at(-101 * 86_400), config), 'Expired', at(-100 * 86_400)));
    client.put(recordClosed(recordOpened(recent, at(-2 * 86_400), config), 'Expired', at(-86_400)));
    const live = fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'live', expiresAt: at(600) }));
    client.put(recordOpened(live, at(-200 * 86_400), config));
    const r = await rig({ client, retentionMs: 30 * DAY_MS });
    await waitFor(() => r.client.byPolicy('old') === undefined, 'the old record to be pruned');
    await quiesce(r.recorder);
    assert.ok(r.client.byPolicy('recent'), 'a recent closed record stays');
    assert.equal(r.client.byPolicy('live')?.status.state, 'Open', 'an open record stays, however old');
  });

  it('a failed write is retried, and a 409 re-reads the stored record and applies the change to it', async () => {
    const client = new MemoryGrantRecordClient();
    client.failNext('create', 503);
    const r = await rig({ client });
    await waitFor(() => r.client.calls.some((c) => c.verb === 'list'), 'the records to load');
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'flaky', expiresAt: at(600) }));
    await waitFor(() => r.client.byPolicy('flaky') !== undefined, 'the record after a retry');
    // Another writer (an old leader) touches the record: our next update conflicts, then lands.
    const stored = r.client.byPolicy('flaky')!;
    r.client.put({ ...stored, metadata: { ...stored.metadata } });
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'flaky', expiresAt: at(1200) }));
    await waitFor(() => r.client.byPolicy('flaky')!.status.changes.length === 1, 'the change after the conflict');
    assert.ok(r.client.calls.some((c) => c.verb === 'update' && c.status === 409), 'a conflict happened');
    assert.ok(r.client.calls.some((c) => c.verb === 'create' && c.status === 503), 'a failure happened');
  });

  it('writes nothing while not leading (a standby), and nothing after leadership ends', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'quiet', expiresAt: at(600) }));
    const r = await rig({ lead: false, sweeper: { standby: true } });
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'quiet', expiresAt: at(1200) }));
    fake.removePolicy('team-a', 'quiet');
    await quiesce(r.recorder);
    assert.deepEqual(r.client.calls, [], 'a standby does not even read records');

    const leading = await rig();
    await waitFor(() => leading.client.calls.some((c) => c.verb === 'list'), 'the records to load');
    leading.leadership.abort();
    await leading.recording;
    fake.putPolicy(grantPolicy({ namespace: 'team-b', name: 'after', expiresAt: at(600) }));
    await quiesce(leading.recorder);
    assert.equal(leading.client.byPolicy('after'), undefined);
  });
});

describe('GrantRecorder: many records at once', () => {
  /** A recorder driven directly (no Sweeper): `live` grants, `now` movable. */
  function direct(client: MemoryGrantRecordClient, options: { writeConcurrency?: number; now?: () => Date } = {}) {
    return new GrantRecorder({
      client,
      config,
      now: options.now ?? (() => T0),
      logger: captureLogger().logger,
      retentionMs: 30 * DAY_MS,
      sleep: async () => {},
      ...(options.writeConcurrency !== undefined ? { writeConcurrency: options.writeConcurrency } : {}),
    });
  }
  const grant = (i: number) =>
    grantPolicy({ namespace: 'team-a', name: `g-${i}`, uid: `0b6f1d2e-0000-4000-8000-${String(i).padStart(12, '0')}`, expiresAt: at(600) });

  it('a takeover with many unrecorded grants writes them all, never more than writeConcurrency at a time', async () => {
    const client = new MemoryGrantRecordClient();
    let inFlight = 0;
    let most = 0;
    const create = client.create.bind(client);
    client.create = async (record) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      try {
        return await create(record);
      } finally {
        inFlight--;
      }
    };
    const live = Array.from({ length: 60 }, (_, i) => grant(i));
    const recorder = direct(client, { writeConcurrency: 3 });
    const leadership = new AbortController();
    const recording = recorder.actWhile(leadership.signal, () => live);
    await recorder.whenLoaded();
    await recorder.idle();
    assert.equal(client.records.size, 60, 'every grant has its record');
    assert.equal(most, 3, 'exactly the bound was used, never more');
    leadership.abort();
    await recording;
  });

  it('a closed record stays closed: a late DELETED of its grant writes nothing; past the retention it is pruned', async () => {
    const client = new MemoryGrantRecordClient();
    const policy = grant(1);
    client.put(recordClosed(recordOpened(policy, at(-7200), config), 'Revoked', at(-3600), 'alice'));
    let now = T0;
    const recorder = direct(client, { now: () => now });
    const leadership = new AbortController();
    const recording = recorder.actWhile(leadership.signal, () => []);
    await recorder.whenLoaded();
    recorder.observe({ type: 'delete', key: policy.metadata!.uid!, object: policy }, { listing: false, reaping: false });
    recorder.observe({ type: 'add', key: policy.metadata!.uid!, object: policy }, { listing: false, reaping: false });
    recorder.reaped(policy.metadata!.uid!, { deletedAt: T0, policy });
    await recorder.idle();
    assert.deepEqual(client.writes(), [], 'no reopen, no second close');
    assert.equal(client.byPolicy('g-1')?.status.closedBy, 'alice');

    now = new Date(at(-3600).getTime() + 30 * DAY_MS);
    recorder.listed([]);
    await recorder.idle();
    assert.deepEqual(client.writes().map((w) => [w.verb, w.status]), [['delete', 200]]);
    assert.equal(client.byPolicy('g-1'), undefined);
    leadership.abort();
    await recording;
  });
});
