import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { defaultConfig } from '../../../src/config/load.js';
import { leaderWork } from '../../../src/controller/controllerLoop.js';
import { expiringNotification, transitionNotifications } from '../../../src/controller/notification.js';
import { Notifier } from '../../../src/controller/notifier.js';
import { GrantRecorder } from '../../../src/controller/recorder.js';
import { webhookSender } from '../../../src/controller/webhookTransport.js';
import { summarizeAccess } from '../../../src/operator/describe.js';
import { EVENT_REASON_EXPIRING_SOON } from '../../../src/sweeper/events.js';
import type { SweeperOptions } from '../../../src/sweeper/sweeper.js';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { captureLogger, FakeClock, metricValue, settle, sweeperHarness, waitFor, type SweeperHarness } from '../sweeper/support.js';
import { MemoryGrantRecordClient } from './recordSupport.js';
import { WebhookReceiver } from '../../helpers/webhookReceiver.js';

const T0 = new Date('2030-01-01T12:00:00Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1_000);
const MINUTE = 60_000;

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

interface Warned {
  name: string;
  expiresAt: string;
}

/** A Sweeper with the ExpiringSoon warning `beforeMs` ahead; `leader` false builds a standby that does not act yet. */
async function warningSweeper(options: { beforeMs?: () => number; leader?: boolean; sweeper?: Partial<SweeperOptions> } = {}) {
  const clock = new FakeClock(T0);
  const warned: Warned[] = [];
  const h = sweeperHarness(fake.kubeConfig(), clock, {
    standby: true,
    expiryWarning: {
      beforeMs: options.beforeMs ?? (() => 10 * MINUTE),
      onWarned: (policy, expiresAt) => warned.push({ name: policy.metadata!.name!, expiresAt: expiresAt.toISOString() }),
    },
    ...options.sweeper,
  });
  const leadership = new AbortController();
  await h.sweeper.start();
  await h.sweeper.synced();
  await waitFor(() => fake.watchCount >= 1, 'the watch to open');
  const acting = options.leader === false ? undefined : h.sweeper.actWhile(leadership.signal);
  cleanups.push(async () => {
    leadership.abort();
    await acting;
    await h.sweeper.stop();
  });
  return { h, clock, warned, leadership };
}

const expiringEvents = () => fake.events.filter((e) => e.reason === EVENT_REASON_EXPIRING_SOON);

describe('ExpiringSoon: a Warning Event beforeExpiry ahead, once per grant per expiry', () => {
  it('is written beforeExpiry ahead of the expiry, not earlier, and only once', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'db', expiresAt: at(3600), ticket: 'OPS-1' }));
    const { clock, warned } = await warningSweeper();
    await clock.advance(50 * MINUTE - 1_000);
    assert.equal(expiringEvents().length, 0, 'not before expiry − 10m');
    await clock.advance(1_000);
    await waitFor(() => warned.length === 1, 'the warning');
    const [event] = expiringEvents();
    assert.equal(event?.type, 'Warning');
    assert.equal(event?.involvedObject.name, 'db');
    assert.match(event?.message ?? '', /expires at 2030-01-01T13:00:00Z, in 600s \(ticket OPS-1\)/);
    assert.deepEqual(warned, [{ name: 'db', expiresAt: '2030-01-01T13:00:00.000Z' }]);
    // An unrelated update (same expiry) and more time do not warn again.
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'db', expiresAt: at(3600), ticket: 'OPS-1', labels: { touched: 'yes' } }));
    await clock.advance(5 * MINUTE);
    assert.equal(expiringEvents().length, 1);
    assert.equal(warned.length, 1);
  });

  it('an extension that moves the expiry re-arms it: a second warning for the new expiry', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'ext', expiresAt: at(15 * 60) }));
    const { clock, warned } = await warningSweeper();
    await clock.advance(5 * MINUTE);
    await waitFor(() => warned.length === 1, 'the first warning');
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'ext', expiresAt: at(60 * 60) }));
    await clock.advance(45 * MINUTE);
    await waitFor(() => warned.length === 2, 'the warning for the new expiry');
    assert.deepEqual(warned.map((w) => w.expiresAt), ['2030-01-01T12:15:00.000Z', '2030-01-01T13:00:00.000Z']);
    assert.equal(new Set(expiringEvents().map((e) => e.metadata.name)).size, 2, 'two Events, named per expiry');
  });

  it('a grant created closer to its expiry than beforeExpiry is warned at once; one already past its expiry is not', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'short', expiresAt: at(120) }));
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'late', expiresAt: at(-1) }));
    const { clock, warned } = await warningSweeper();
    await clock.advance(0);
    await waitFor(() => warned.length === 1, 'the warning');
    await clock.advance(1_000);
    assert.deepEqual(warned.map((w) => w.name), ['short']);
  });

  it('a standby writes nothing; a takeover after another leader warned sends no second notification (the Event exists: 409)', async () => {
    const policy = fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'handover', expiresAt: at(300) }));
    const first = await warningSweeper();
    await waitFor(() => first.warned.length === 1, 'the first leader to warn');
    first.leadership.abort();
    const standby = await warningSweeper({ leader: false });
    await standby.clock.advance(MINUTE);
    assert.equal(standby.warned.length, 0, 'a standby does not warn');
    assert.equal(expiringEvents().length, 1);
    const takeover = new AbortController();
    const acting = standby.h.sweeper.actWhile(takeover.signal);
    await standby.clock.advance(0);
    await waitFor(() => fake.requestsFor('createEvent').length === 2, 'the new leader to try the Event');
    await settle();
    assert.equal(standby.warned.length, 0, 'the Event already existed: no second webhook');
    assert.equal(expiringEvents().length, 1);
    assert.equal(expiringEvents()[0]!.involvedObject.uid, policy.metadata!.uid);
    takeover.abort();
    await acting;
  });

  it('a lowered beforeExpiry (config reload) moves the warnings not yet given', async () => {
    let beforeMs = 10 * MINUTE;
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'moved', expiresAt: at(3600) }));
    const { h, clock, warned } = await warningSweeper({ beforeMs: () => beforeMs });
    beforeMs = 2 * MINUTE;
    h.sweeper.rescheduleWarnings();
    await clock.advance(55 * MINUTE);
    assert.equal(warned.length, 0, 'no longer due at expiry − 10m');
    await clock.advance(3 * MINUTE);
    await waitFor(() => warned.length === 1, 'the warning at expiry − 2m');
  });

  it('when the Event cannot be written the webhooks are still told, and the failure is counted', async () => {
    fake.failNext('createEvent', { status: 403 });
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'forbidden', expiresAt: at(60) }));
    const { h, warned } = await warningSweeper();
    await waitFor(() => warned.length === 1, 'the warning');
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_failures_total', { operation: 'event' }), 1);
  });
});

describe('a dead or slow receiver never delays a deletion or a record', () => {
  let receiver: WebhookReceiver;
  let dir: string;
  before(async () => {
    receiver = await WebhookReceiver.start();
    receiver.fallback = 'hang';
    dir = mkdtempSync(join(tmpdir(), 'netpol-guard-dead-receiver-'));
    writeFileSync(join(dir, 'url'), receiver.url());
    writeFileSync(join(dir, 'ca.crt'), receiver.caPem);
  });
  after(async () => {
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('grants expire on time and are recorded while every notification hangs', async () => {
    const config = defaultConfig();
    const { logger } = captureLogger();
    const registry = new Registry();
    const notifier = new Notifier({
      targets: () => [{ name: 'never-answers', urlFile: join(dir, 'url'), caFile: join(dir, 'ca.crt'), format: 'json', events: ['opened', 'changed', 'expiring', 'expired', 'revoked', 'deleted'] }],
      registry,
      logger,
      send: webhookSender({ timeoutMs: 60_000 }),
      sleep: async () => undefined,
      capacity: 3,
    });
    const client = new MemoryGrantRecordClient();
    const clock = new FakeClock(T0);
    let h!: SweeperHarness;
    const recorder = new GrantRecorder({
      client, config, now: () => h.sweeper.serverNow(), logger, retentionMs: 90 * 86_400_000,
      sleep: async () => undefined,
      onWritten: (before, after) => {
        for (const n of transitionNotifications(before, after, h.sweeper.serverNow())) notifier.notify(n);
      },
    });
    const warnedPolicies: V1NetworkPolicy[] = [];
    h = sweeperHarness(fake.kubeConfig(), clock, {
      observer: recorder,
      standby: true,
      expiryWarning: {
        beforeMs: () => MINUTE,
        onWarned: (policy, expiresAt, when) => {
          warnedPolicies.push(policy);
          const m = policy.metadata!;
          notifier.notify(expiringNotification({ namespace: m.namespace!, name: m.name!, uid: m.uid!, access: summarizeAccess(policy) }, expiresAt, when));
        },
      },
    });
    for (let i = 0; i < 5; i++) fake.putPolicy(grantPolicy({ namespace: 'team-a', name: `g${i}`, expiresAt: at(120) }));
    const leadership = new AbortController();
    await h.sweeper.start();
    await h.sweeper.synced();
    const work = leaderWork(h.sweeper, recorder)(leadership.signal);
    cleanups.push(async () => {
      leadership.abort();
      await work;
      await h.sweeper.stop();
      await notifier.close();
    });
    await waitFor(() => client.records.size === 5, 'five records opened');
    await waitFor(() => receiver.requests.length >= 1, 'the receiver to hold the first notification');
    // The receiver holds that request for its 60 s timeout; everything below happens within waitFor's 5 s.
    await clock.advance(2 * MINUTE);
    await waitFor(() => fake.policyCount === 0, 'every grant deleted');
    await waitFor(() => [...client.records.values()].every((r) => r.status.state === 'Expired'), 'every record closed Expired');
    assert.deepEqual([...client.records.values()].map((r) => r.status.expiryLagSeconds), [0, 0, 0, 0, 0], 'deleted at their expiry, on the fake clock');
    assert.equal(warnedPolicies.length, 5);
    assert.equal(receiver.requests.length, 1, 'the receiver still holds the first request; nothing else was sent');
    const series = (await registry.getSingleMetric('netpol_guard_notifications_total')!.get()).values;
    const dropped = series.filter((v) => v.labels['outcome'] === 'dropped').reduce((sum, v) => sum + v.value, 0);
    assert.equal(dropped, 11, '5 opened + 5 expiring + 5 expired: 1 in flight, 3 kept, 11 dropped');
  });
});
