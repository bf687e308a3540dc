import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { Sleep } from '../../../src/kube/clock.js';
import { Informer, type InformerEvent, type InformerOptions, type RelistReason } from '../../../src/kube/informer.js';
import { DEFAULT_RETRY_POLICY } from '../../../src/kube/retry.js';
import { createPolicyApi, policySource, type PolicyApi } from '../../../src/sweeper/kubeApi.js';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { captureLogger, FakeClock, recordingSleep, settle, waitFor } from '../sweeper/support.js';

const T0 = new Date('2030-01-01T12:00:00Z');
const RESYNC_MS = 10 * 60_000;
const MAX_STALENESS_MS = 60_000;

/** What these tests keep of a NetworkPolicy: its name and one label, nothing of the spec. */
interface PolicyName {
  name: string;
  team: string | undefined;
}

const keyOf = (p: V1NetworkPolicy): string | undefined =>
  p.metadata?.namespace && p.metadata.name ? `${p.metadata.namespace}/${p.metadata.name}` : undefined;
const project = (p: V1NetworkPolicy): PolicyName => ({ name: p.metadata?.name ?? '', team: p.metadata?.labels?.team });

/** A sleep the test releases by hand (or that a stop() aborts), recording what it was asked for. */
function manualSleep(): { sleep: Sleep; delays: number[]; releaseAll: () => void; pending: () => number } {
  const delays: number[] = [];
  let waiting: Array<() => void> = [];
  return {
    delays,
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        delays.push(ms);
        waiting.push(resolve);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      }),
    releaseAll: () => {
      const due = waiting;
      waiting = [];
      for (const resolve of due) resolve();
    },
    pending: () => waiting.length,
  };
}

let fake: FakeApiServer;
let api: PolicyApi;
const running: Array<Informer<V1NetworkPolicy, PolicyName>> = [];

before(async () => {
  fake = await FakeApiServer.start();
});
after(async () => {
  await fake.stop();
});

interface Harness {
  informer: Informer<V1NetworkPolicy, PolicyName>;
  clock: FakeClock;
  events: Array<InformerEvent<PolicyName>>;
  relists: RelistReason[];
  watchFailures: string[];
}

function informer(overrides: Partial<InformerOptions<V1NetworkPolicy, PolicyName>> = {}): Harness {
  const clock = new FakeClock(T0);
  const events: Array<InformerEvent<PolicyName>> = [];
  const relists: RelistReason[] = [];
  const watchFailures: string[] = [];
  const i = new Informer<V1NetworkPolicy, PolicyName>({
    source: policySource(api, undefined),
    keyOf,
    project,
    pageSize: 2,
    resyncMs: RESYNC_MS,
    maxStalenessMs: MAX_STALENESS_MS,
    watchTimeoutSeconds: 300,
    clock,
    sleep: recordingSleep().sleep,
    random: () => 0.5,
    name: 'test policies',
    logger: captureLogger().logger,
    hooks: { relisting: (r) => relists.push(r), watchFailed: (e) => watchFailures.push(e) },
    ...overrides,
  });
  i.subscribe((e) => events.push(e));
  running.push(i);
  return { informer: i, clock, events, relists, watchFailures };
}

async function synced(h: Harness): Promise<Harness> {
  h.informer.start();
  await h.informer.whenSynced();
  await waitFor(() => fake.watchCount >= 1, 'the watch to open');
  return h;
}

const names = (h: Harness): string[] => h.informer.list().map((p) => p.name).sort();

describe('Informer against the fake API server', () => {
  beforeEach(() => {
    fake.reset();
    fake.closeWatches();
    api = createPolicyApi(fake.kubeConfig(), { retry: { ...DEFAULT_RETRY_POLICY, maxAttempts: 1 } });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((i) => i.stop()));
    api.close();
    fake.clearFaults();
  });

  it('lists page by page, then watches from the list\'s resourceVersion', async () => {
    for (const n of ['a', 'b', 'c', 'd', 'e']) fake.putPolicy(grantPolicy({ namespace: 'ns', name: n }));
    const listRv = fake.resourceVersion;
    const h = await synced(informer());
    const lists = fake.requestsFor('list');
    assert.equal(lists.length, 3, '5 objects in pages of 2');
    assert.equal(lists[0]!.query.limit, '2');
    assert.equal(lists[0]!.query.continue, undefined);
    assert.ok(lists[1]!.query.continue && lists[2]!.query.continue);
    assert.equal(fake.requestsFor('watch')[0]!.query.resourceVersion, listRv);
    assert.deepEqual(names(h), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(h.events.map((e) => e.type), ['add', 'add', 'add', 'add', 'add']);
    assert.deepEqual(h.relists, ['startup']);
    assert.equal(h.informer.synced(), true);
  });

  it('restarts a list whose continue token expired (410) from the beginning', async () => {
    for (const n of ['a', 'b', 'c']) fake.putPolicy(grantPolicy({ namespace: 'ns', name: n }));
    fake.beforeNext('list', (r) => {
      if (r.query.continue) fake.compact();
    }, 2);
    const h = await synced(informer());
    assert.deepEqual(fake.requestsFor('list').map((r) => r.status), [200, 410, 200, 200]);
    assert.deepEqual(names(h), ['a', 'b', 'c']);
  });

  it('delivers watch events and answers get/list from its copy', async () => {
    const h = await synced(informer());
    fake.putPolicy(grantPolicy({ namespace: 'ns', name: 'x', labels: { team: 'red' } }));
    await waitFor(() => h.informer.size === 1, 'ADDED');
    assert.deepEqual(h.informer.get('ns/x'), { name: 'x', team: 'red' });
    fake.putPolicy(grantPolicy({ namespace: 'ns', name: 'x', labels: { team: 'blue' } }));
    await waitFor(() => h.informer.get('ns/x')?.team === 'blue', 'MODIFIED');
    const update = h.events.find((e) => e.type === 'update');
    assert.equal(update?.type === 'update' ? update.previous.team : undefined, 'red');
    fake.removePolicy('ns', 'x');
    await waitFor(() => h.informer.size === 0, 'DELETED');
    assert.deepEqual(h.events.map((e) => e.type), ['add', 'update', 'delete']);
    assert.equal(h.informer.get('ns/x'), undefined);
  });

  it('keeps only the projection, never the spec', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'ns', name: 'big', labels: { team: 'red' } }));
    const h = await synced(informer());
    assert.deepEqual(h.informer.list(), [{ name: 'big', team: 'red' }]);
    assert.equal(JSON.stringify(h.informer.list()).includes('10.20.30.0/24'), false);
  });

  it('sends label and field selectors on list and watch, and holds only what they select', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'ns', name: 'red-1', labels: { team: 'red' } }));
    fake.putPolicy(grantPolicy({ namespace: 'other', name: 'red-2', labels: { team: 'red' } }));
    fake.putPolicy(grantPolicy({ namespace: 'ns', name: 'blue', labels: { team: 'blue' } }));
    const h = await synced(informer({ labelSelector: 'team=red', fieldSelector: 'metadata.namespace=ns' }));
    assert.deepEqual(names(h), ['red-1']);
    const watch = fake.requestsFor('watch')[0]!;
    assert.equal(watch.query.labelSelector, 'team=red');
    assert.equal(watch.query.fieldSelector, 'metadata.namespace=ns');
    fake.putPolicy(grantPolicy({ namespace: 'other', name: 'red-3', labels: { team: 'red' } }));
    fake.putPolicy(grantPolicy({ namespace: 'ns', name: 'red-4', labels: { team: 'red' } }));
    await waitFor(() => h.informer.size === 2, 'the selected ADDED event');
    assert.deepEqual(names(h), ['red-1', 'red-4']);
  });

  it('relists after a watch answered 410 Gone, and after an ERROR 410 event', async () => {
    fake.failNext('watch', { status: 410 });
    const h = informer();
    h.informer.start();
    await h.informer.whenSynced();
    assert.deepEqual(fake.requests.map((r) => `${r.route}:${r.status}`), ['list:200', 'watch:410', 'list:200', 'watch:200']);
    fake.expireWatches();
    await waitFor(() => fake.requestsFor('list').length === 3 && fake.watchCount === 1, 'relist after ERROR 410');
    assert.deepEqual(h.relists, ['startup', 'watch-expired', 'watch-expired']);
  });

  // Every way a watch can break; client-node's own informer gives up on all but 410.
  const breakages: Array<[string, () => void, boolean]> = [
    ['an HTTP 500 answer', () => fake.failNext('watch', { status: 500 }), true],
    ['a reset connection', () => fake.resetWatches(), true],
    ['an ERROR event with code 500', () => fake.failWatches(500), true],
    ['a stream that simply ends', () => fake.closeWatches(), false],
  ];
  for (const [what, breakIt, isFailure] of breakages) {
    it(`reconnects with backoff after ${what}, and events flow again`, async () => {
      const recorded = recordingSleep();
      const h = await synced(informer({ sleep: recorded.sleep }));
      const watchesBefore = fake.requestsFor('watch').length;
      if (what.startsWith('an HTTP')) fake.closeWatches(); // the next watch request gets the 500
      breakIt();
      await waitFor(() => fake.watchCount === 1 && fake.requestsFor('watch').filter((r) => r.status === 200).length > watchesBefore, 'a new watch');
      // The first backoff step, jitter pinned: 250 ms / 2 + 0.5 * 250 ms / 2. The HTTP case first
      // closes the open watch (a pause of its own), so its failing reconnect is the second pause.
      const expected = what.startsWith('an HTTP') ? [188, 188] : [188];
      assert.deepEqual(recorded.delays, expected, 'it paused before reconnecting');
      assert.equal(h.watchFailures.length > 0, isFailure);
      assert.equal(fake.requestsFor('list').length, 1, 'a reconnect, not a relist');
      fake.putPolicy(grantPolicy({ namespace: 'ns', name: 'after' }));
      await waitFor(() => h.informer.get('ns/after') !== undefined, 'events after reconnecting');
    });
  }

  it('backs off longer on each consecutive failure, then falls back to a relist', async () => {
    const recorded = recordingSleep();
    const h = await synced(informer({ sleep: recorded.sleep }));
    fake.failNext('watch', { status: 503, times: 5 });
    fake.closeWatches();
    await waitFor(() => fake.requestsFor('list').length === 2 && fake.watchCount === 1, 'the relist after 5 failures');
    // One pause for the clean close (no events), then 4 growing backoffs, then the relist.
    assert.deepEqual(recorded.delays, [188, 188, 375, 750, 1500]);
    assert.deepEqual(h.relists, ['startup', 'watch-failing']);
    assert.equal(h.watchFailures.length, 5);
  });

  it('resyncs: a full relist every resyncMs finds missed additions and deletions', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'ns', name: 'gone-quietly' }));
    const h = await synced(informer());
    fake.putPolicy(grantPolicy({ namespace: 'ns', name: 'added-quietly' }), { notify: false });
    fake.removePolicy('ns', 'gone-quietly', { notify: false });
    await h.clock.advance(RESYNC_MS - 1);
    await settle();
    assert.deepEqual(names(h), ['gone-quietly']);
    await h.clock.advance(1);
    await waitFor(() => fake.requestsFor('list').length === 2 && fake.watchCount === 1, 'the resync');
    assert.deepEqual(names(h), ['added-quietly']);
    assert.deepEqual(h.relists, ['startup', 'resync']);
    assert.deepEqual(h.events.map((e) => `${e.type}:${e.object.name}`), ['add:gone-quietly', 'add:added-quietly', 'delete:gone-quietly']);
  });

  it('synced() and stale(): not synced before the first list; stale only after maxStaleness without a watch', async () => {
    const manual = manualSleep();
    const h = informer({ sleep: manual.sleep });
    assert.equal(h.informer.synced(), false);
    assert.equal(h.informer.stale(), false, 'not started is not stale');
    fake.failNext('list', { status: 500, times: 1 });
    h.informer.start();
    await waitFor(() => manual.pending() === 1, 'the backoff after the failed list');
    assert.equal(h.informer.synced(), false);
    await h.clock.advance(MAX_STALENESS_MS);
    assert.equal(h.informer.stale(), false, 'exactly maxStaleness is not yet stale');
    await h.clock.advance(1);
    assert.equal(h.informer.stale(), true, 'never connected for longer than maxStaleness');
    manual.releaseAll();
    await h.informer.whenSynced();
    assert.equal(h.informer.synced(), true);
    assert.equal(h.informer.stale(), false);

    // The watch breaks and stays broken (each reconnect waits for the test).
    await waitFor(() => fake.watchCount === 1, 'the watch');
    fake.failNext('watch', { status: 500, times: 100 });
    fake.closeWatches();
    await waitFor(() => manual.pending() === 1, 'the pause after the clean close');
    manual.releaseAll();
    await waitFor(() => manual.pending() === 1 && fake.requestsFor('watch').some((r) => r.status === 500), 'the failed reconnect');
    await h.clock.advance(MAX_STALENESS_MS + 1);
    assert.equal(h.informer.stale(), true);
    assert.equal(h.informer.synced(), true, 'synced stays true: the copy exists, it is only stale');

    fake.clearFaults();
    manual.releaseAll();
    await waitFor(() => fake.watchCount === 1, 'the watch to come back');
    await waitFor(() => !h.informer.stale(), 'fresh again');
  });

  it('is stale when a resync\'s relist keeps failing (no watch runs meanwhile)', async () => {
    const manual = manualSleep();
    const h = await synced(informer({ sleep: manual.sleep }));
    fake.failNext('list', { status: 500, times: 100 });
    await h.clock.advance(RESYNC_MS);
    await waitFor(() => manual.pending() === 1, 'the backoff after the failed relist');
    assert.equal(h.informer.stale(), false);
    await h.clock.advance(MAX_STALENESS_MS + 1);
    assert.equal(h.informer.stale(), true);
  });

  it('a throwing subscriber does not stop the others', async () => {
    const h = informer();
    h.informer.subscribe(() => {
      throw new Error('subscriber bug');
    });
    fake.putPolicy(grantPolicy({ namespace: 'ns', name: 'a' }));
    await synced(h);
    assert.equal(h.events.length, 1);
    assert.equal(h.informer.size, 1);
  });

  it('whenSynced() rejects when stopped first; stop() is idempotent', async () => {
    fake.failNext('list', { status: 500, times: 1 });
    const manual = manualSleep();
    const h = informer({ sleep: manual.sleep });
    h.informer.start();
    await waitFor(() => manual.pending() === 1, 'the backoff');
    await h.informer.stop();
    await h.informer.stop();
    await assert.rejects(h.informer.whenSynced(), /stopped before its first sync/);
    assert.equal(h.clock.pendingTimers, 0);
  });
});
