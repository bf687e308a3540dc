/**
 * The view across config reloads: which changes need a new view (viewSettingsChanges), the swap
 * (the current view answers until the new one has synced, then the old one is stopped), a change
 * superseding or cancelling a pending rebuild, and a real rebuild for a new annotationPrefix over
 * the fake API server (the live-grant label selector changes with it), and the pod source a
 * rebuild keeps when only the prefix or the guard window changed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { V1Namespace } from '@kubernetes/client-node';
import { InformerClusterView } from '../../../src/cluster/informerView.js';
import { MemoryClusterView } from '../../../src/cluster/memoryView.js';
import { type BuiltView, ReloadingClusterView } from '../../../src/cluster/reloadingView.js';
import { SharedPodSources } from '../../../src/cluster/webhookView.js';
import { type ViewSettings, viewSettings, viewSettingsChanges } from '../../../src/cluster/viewSettings.js';
import type { GrantRecord } from '../../../src/controller/grantRecord.js';
import { DEFAULT_RETRY_POLICY } from '../../../src/kube/retry.js';
import { createPolicyApi, policySource, type PolicyApi } from '../../../src/sweeper/kubeApi.js';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { memorySource } from '../../helpers/memorySource.js';
import { config } from '../policy/support.js';

describe('viewSettingsChanges', () => {
  const base = viewSettings(config());

  it('nothing the view is built from changed: no new view, whatever else the reload changed', () => {
    assert.deepEqual(viewSettingsChanges(base, viewSettings(config({ mode: 'warn', limits: { maxTTL: '1h' }, quotas: { maxLiveGrantsPerNamespace: 3 } }))), []);
  });

  it('names each change that needs a new view', () => {
    assert.deepEqual(viewSettingsChanges(base, viewSettings(config({ annotationPrefix: 'acme.io' }))), ['annotationPrefix']);
    assert.deepEqual(viewSettingsChanges(base, viewSettings(config({ clusterView: { maxStaleness: '5s' } }))), ['clusterView.maxStaleness']);
    assert.deepEqual(viewSettingsChanges(base, viewSettings(config({ clusterView: { pods: false } }))), ['clusterView.pods']);
    assert.deepEqual(
      viewSettingsChanges(base, viewSettings(config({ annotationPrefix: 'acme.io', clusterView: { pods: false, maxStaleness: '1m' } }))),
      ['annotationPrefix', 'clusterView.maxStaleness', 'clusterView.pods'],
    );
  });

  it('a longer guard window needs a new view (older records were never kept); a shorter one does not', () => {
    const longer = viewSettings(config({ limits: { recreateCooldown: '30d' } }));
    assert.ok(longer.guardWindowMs > base.guardWindowMs);
    assert.deepEqual(viewSettingsChanges(base, longer), ['limits.recreateCooldown']);
    assert.deepEqual(viewSettingsChanges(longer, base), []);
    // A profile's cooldown counts too: the window is the longest of all.
    const profile = viewSettings(config({ profiles: [{ name: 'p', match: { namespaces: ['x'] }, limits: { recreateCooldown: '30d' } }] }));
    assert.deepEqual(viewSettingsChanges(base, profile), ['limits.recreateCooldown']);
  });
});

/** A built view whose sync the test releases by hand. */
interface FakeBuilt extends BuiltView {
  settings: ViewSettings;
  closed: boolean;
  sync(): void;
}

function fakeBuilder(): { build: (settings: ViewSettings) => FakeBuilt; built: FakeBuilt[] } {
  const built: FakeBuilt[] = [];
  const build = (settings: ViewSettings): FakeBuilt => {
    let sync!: () => void;
    const synced = new Promise<void>((resolve) => (sync = resolve));
    const index = built.length;
    let isSynced = false;
    const view = Object.assign(new MemoryClusterView({ namespaces: { [`view-${index}`]: {} } }), {
      status: () => ({ synced: isSynced, stale: !isSynced, informers: [] }),
      whenSynced: () => synced,
    });
    const entry: FakeBuilt = {
      settings,
      closed: false,
      view,
      sync: () => {
        isSynced = true;
        sync();
      },
      async close() {
        entry.closed = true;
      },
    };
    built.push(entry);
    return entry;
  };
  return { build, built };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('ReloadingClusterView', () => {
  const initial = viewSettings(config());
  const acme = viewSettings(config({ annotationPrefix: 'acme.io' }));
  const noPods = viewSettings(config({ clusterView: { pods: false } }));

  it('a reload that changes nothing the view needs builds nothing', () => {
    const { build, built } = fakeBuilder();
    const view = new ReloadingClusterView({ settings: initial, build });
    assert.deepEqual(view.reconfigure(viewSettings(config({ mode: 'warn' }))), []);
    assert.equal(built.length, 1);
    assert.equal(view.status().rebuilding, undefined);
  });

  it('the current view answers until the new one has synced; then the new one answers and the old one is stopped', async () => {
    const { build, built } = fakeBuilder();
    const view = new ReloadingClusterView({ settings: initial, build });
    built[0]!.sync();
    assert.deepEqual(view.reconfigure(acme), ['annotationPrefix']);
    assert.equal(built.length, 2);
    assert.equal(built[1]!.settings.annotationPrefix, 'acme.io');
    await settle();
    assert.deepEqual(view.namespaceNames(), ['view-0'], 'the old view answers while the new one syncs');
    assert.equal(view.stale(), false, 'a rebuild does not make the webhook unready');
    assert.deepEqual(view.status().rebuilding, { changes: ['annotationPrefix'], synced: false });
    assert.equal(view.settings.annotationPrefix, 'netpol-guard.io');
    built[1]!.sync();
    await settle();
    assert.deepEqual(view.namespaceNames(), ['view-1']);
    assert.equal(view.settings.annotationPrefix, 'acme.io');
    assert.equal(built[0]!.closed, true);
    assert.equal(built[1]!.closed, false);
    assert.equal(view.status().rebuilding, undefined);
    // The same settings again: nothing more.
    assert.deepEqual(view.reconfigure(acme), []);
    assert.equal(built.length, 2);
  });

  it('a second change while one is pending replaces it; the replaced one is stopped and never answers', async () => {
    const { build, built } = fakeBuilder();
    const view = new ReloadingClusterView({ settings: initial, build });
    view.reconfigure(acme);
    view.reconfigure(noPods);
    assert.equal(built.length, 3);
    assert.equal(built[1]!.closed, true);
    built[1]!.sync();
    await settle();
    assert.deepEqual(view.namespaceNames(), ['view-0'], 'a cancelled view never takes over');
    built[2]!.sync();
    await settle();
    assert.deepEqual(view.namespaceNames(), ['view-2']);
    assert.equal(view.settings.pods, false);
    assert.equal(built[0]!.closed, true);
  });

  it('the same pending change twice builds once; a reload back to the current settings cancels the rebuild', async () => {
    const { build, built } = fakeBuilder();
    const view = new ReloadingClusterView({ settings: initial, build });
    view.reconfigure(acme);
    view.reconfigure(acme);
    assert.equal(built.length, 2);
    assert.deepEqual(view.reconfigure(initial), []);
    assert.equal(built[1]!.closed, true);
    assert.equal(view.status().rebuilding, undefined);
    built[1]!.sync();
    await settle();
    assert.deepEqual(view.namespaceNames(), ['view-0']);
  });

  it('close stops the current and the pending view; a reload after close builds nothing', async () => {
    const { build, built } = fakeBuilder();
    const view = new ReloadingClusterView({ settings: initial, build });
    view.reconfigure(acme);
    await view.close();
    assert.deepEqual(built.map((b) => b.closed), [true, true]);
    assert.deepEqual(view.reconfigure(noPods), []);
    assert.equal(built.length, 2);
  });
});

describe('ReloadingClusterView over informers: a new annotationPrefix', () => {
  let fake: FakeApiServer;
  let api: PolicyApi;
  before(async () => {
    fake = await FakeApiServer.start();
    api = createPolicyApi(fake.kubeConfig(), { retry: { ...DEFAULT_RETRY_POLICY, maxAttempts: 1 } });
  });
  after(async () => {
    api.close();
    await fake.stop();
  });

  it('counts the grants labelled with the new prefix once rebuilt, and stops the old informers', async () => {
    const expiry = new Date(Date.now() + 3_600_000);
    fake.putPolicy(grantPolicy({ namespace: 'shop', name: 'old-style', expiresAt: expiry }));
    fake.putPolicy(grantPolicy({ namespace: 'shop', name: 'new-style', expiresAt: expiry, prefix: 'acme.io' }));
    const stopped: string[] = [];
    const build = (settings: ViewSettings): BuiltView => {
      const view = new InformerClusterView({
        sources: { namespaces: memorySource<V1Namespace>([]).source, policies: policySource(api, undefined), grantRecords: memorySource<GrantRecord>([]).source },
        keys: settings.keys,
        guardWindowMs: settings.guardWindowMs,
        maxStalenessMs: settings.maxStalenessMs,
      });
      view.start();
      return {
        view,
        async close() {
          await view.stop();
          stopped.push(settings.annotationPrefix);
        },
      };
    };
    const view = new ReloadingClusterView({ settings: viewSettings(config()), build });
    try {
      await view.whenSynced();
      assert.deepEqual(view.liveGrantsIn('shop').map((g) => g.name), ['old-style']);
      const watchesBefore = fake.watchCount;
      assert.deepEqual(view.reconfigure(viewSettings(config({ annotationPrefix: 'acme.io' }))), ['annotationPrefix']);
      const deadline = Date.now() + 20_000;
      while (view.settings.annotationPrefix !== 'acme.io') {
        if (Date.now() > deadline) assert.fail('the view was not rebuilt');
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(view.liveGrantsIn('shop').map((g) => g.name), ['new-style']);
      assert.equal(view.liveGrantsIn('shop')[0]!.expiresAtMs, Math.floor(expiry.getTime() / 1000) * 1000, 'the stamps are read with the new prefix');
      while (stopped.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(stopped, ['netpol-guard.io']);
      const lists = fake.requestsFor('list').map((r) => r.query.labelSelector);
      assert.deepEqual(lists, ['netpol-guard.io/temporary=true', 'acme.io/temporary=true']);
      // The server sees the old watch go when its socket closes.
      while (fake.watchCount > watchesBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(fake.watchCount, watchesBefore, 'the old watch is closed, the new one open');
    } finally {
      await view.close();
    }
  });
});

describe('SharedPodSources: one pod informer across rebuilds', () => {
  const fakes = () => {
    const made: { maxStalenessMs: number; started: boolean; stopped: boolean }[] = [];
    const shared = new SharedPodSources((maxStalenessMs: number) => {
      const source = {
        maxStalenessMs,
        started: false,
        stopped: false,
        start() {
          source.started = true;
        },
        async stop() {
          source.stopped = true;
        },
      };
      made.push(source);
      return source;
    });
    return { made, shared };
  };

  it('a rebuild with the same staleness shares the running source; the last view to let go stops it', async () => {
    const { made, shared } = fakes();
    const first = shared.acquire(30_000);
    const second = shared.acquire(30_000);
    assert.equal(first, second);
    assert.equal(made.length, 1);
    assert.equal(made[0]!.started, true);
    await shared.release(first);
    assert.equal(made[0]!.stopped, false, 'still used by the new view');
    await shared.release(second);
    assert.equal(made[0]!.stopped, true);
    // A new view after that starts a new one.
    shared.acquire(30_000);
    assert.equal(made.length, 2);
  });

  it('a new staleness threshold starts a new source; the old one stops when its view does', async () => {
    const { made, shared } = fakes();
    const old = shared.acquire(30_000);
    const next = shared.acquire(5_000);
    assert.notEqual(old, next);
    assert.deepEqual(made.map((m) => [m.maxStalenessMs, m.started]), [[30_000, true], [5_000, true]]);
    await shared.release(old);
    assert.deepEqual(made.map((m) => m.stopped), [true, false]);
    // A later view with the new threshold shares the new source; releasing twice more is harmless.
    assert.equal(shared.acquire(5_000), next);
    await shared.release(next);
    await shared.release(next);
    assert.equal(made[1]!.stopped, true);
    await shared.release(next);
    assert.equal(made.length, 2);
  });
});
