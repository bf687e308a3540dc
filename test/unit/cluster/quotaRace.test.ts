/**
 * Quotas under racing CREATEs (#16): webhook replicas each judge from their own InformerClusterView,
 * which learns of an admitted grant only when the watch delivers it. Here two real views are fed by
 * one fake store whose watch events reach each replica only when the test delivers them (the
 * watch latency, made explicit and deterministic), and every CREATE goes through /validate.
 *
 * What it shows: one replica whose view has caught up counts exactly; a CREATE admitted while
 * another admitted grant is still on its way to the deciding replica's view can overshoot the
 * quota, by at most the number of grants that replica has not seen yet; once the events arrive,
 * nothing more is admitted until grants go away.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import fc from 'fast-check';
import type { V1Namespace, V1NetworkPolicy } from '@kubernetes/client-node';
import { validateHandler } from '../../../src/admission/validate.js';
import type { AdmissionRequest } from '../../../src/admission/types.js';
import { InformerClusterView } from '../../../src/cluster/informerView.js';
import { buildConfig } from '../../../src/config/load.js';
import type { ConfigFile, GuardConfig } from '../../../src/config/types.js';
import type { GrantRecord } from '../../../src/controller/grantRecord.js';
import type { ListWatchSource } from '../../../src/kube/informer.js';
import type { WatchEventType } from '../../../src/kube/watchStream.js';
import { annotationKeys } from '../../../src/lifecycle/annotations.js';
import { grantPolicy } from '../../helpers/fakeApiServer.js';

type Listener = (type: WatchEventType, object: unknown) => void;

/** One replica's connection to the store: its watch events wait in a queue until delivered. */
class ReplicaFeed {
  readonly queue: [WatchEventType, V1NetworkPolicy][] = [];
  private listener: Listener | undefined;

  constructor(private readonly store: PolicyStore) {}

  readonly source: ListWatchSource<V1NetworkPolicy> = {
    list: async () => ({ items: [...this.store.items.values()], continueToken: undefined, resourceVersion: String(this.store.rv) }),
    watch: (_params, onEvent) => {
      this.listener = onEvent;
      let end!: (v: unknown) => void;
      const ended = new Promise<unknown>((resolve) => (end = resolve));
      return { connected: Promise.resolve(true), ended, abort: () => ((this.listener = undefined), end(null)) };
    },
  };

  /** The watch latency ends for every event queued so far: the replica's view sees them. */
  deliver(): void {
    const listener = this.listener;
    if (listener === undefined) throw new Error('no watch connected');
    for (const [type, object] of this.queue.splice(0)) listener(type, object);
  }
}

/** The API server's NetworkPolicies: a CREATE is stored at once and queued to every replica's watch. */
class PolicyStore {
  rv = 1;
  readonly items = new Map<string, V1NetworkPolicy>();
  readonly feeds: ReplicaFeed[] = [];

  feed(): ReplicaFeed {
    const feed = new ReplicaFeed(this);
    this.feeds.push(feed);
    return feed;
  }

  create(policy: V1NetworkPolicy): void {
    const stored = { ...policy, metadata: { ...policy.metadata, resourceVersion: String(++this.rv) } };
    this.items.set(`${stored.metadata.namespace}/${stored.metadata.name}`, stored);
    for (const feed of this.feeds) feed.queue.push(['ADDED', stored]);
  }
}

function staticSource<R>(items: R[]): ListWatchSource<R> {
  return {
    list: async () => ({ items, continueToken: undefined, resourceVersion: '1' }),
    watch: () => {
      let end!: (v: unknown) => void;
      const ended = new Promise<unknown>((resolve) => (end = resolve));
      return { connected: Promise.resolve(true), ended, abort: () => end(null) };
    },
  };
}

const keys = annotationKeys();
const views: InformerClusterView[] = [];
afterEach(async () => {
  await Promise.all(views.splice(0).map((v) => v.stop()));
});

async function replica(store: PolicyStore): Promise<{ view: InformerClusterView; feed: ReplicaFeed }> {
  const feed = store.feed();
  const view = new InformerClusterView({
    sources: {
      namespaces: staticSource<V1Namespace>([{ metadata: { name: 'payments' } }]),
      policies: feed.source,
      grantRecords: staticSource<GrantRecord>([]),
    },
    keys,
    guardWindowMs: 86_400_000,
    maxStalenessMs: 30_000,
  });
  views.push(view);
  view.start();
  await view.whenSynced();
  return { view, feed };
}

function config(file: ConfigFile): GuardConfig {
  const built = buildConfig(file, 'test');
  if (!built.ok) assert.fail(built.errors.join('; '));
  return built.config;
}

// Whole seconds: stamps carry no milliseconds, so "expires in 1h" reads exactly.
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
let serial = 0;

/** A grant as the mutator leaves it (stamped), created by `user`. */
function newGrant(user: string): V1NetworkPolicy {
  serial++;
  return grantPolicy({ namespace: 'payments', name: `grant-${serial}`, expiresAt: new Date(NOW.getTime() + 3_600_000), grantedAt: NOW, ticket: `INC-${serial}`, requestedBy: user });
}

/** A CREATE through one replica's /validate; admitted grants are stored (and queued to every watch). */
function create(store: PolicyStore, view: InformerClusterView, cfg: GuardConfig, user = 'alice'): { allowed: boolean; message: string | undefined } {
  const object = newGrant(user);
  const request: AdmissionRequest = {
    uid: `uid-${serial}`,
    kind: { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' },
    resource: { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' },
    namespace: 'payments',
    operation: 'CREATE',
    userInfo: { username: user, groups: ['system:authenticated'] },
    object,
  };
  const decision = validateHandler(request, cfg, NOW, view);
  if (decision.allowed) store.create(object);
  return { allowed: decision.allowed, message: decision.message };
}

const QUOTA_2 = config({ quotas: { maxLiveGrantsPerNamespace: 2 } });

describe('quotas under racing CREATEs on webhook replicas', () => {
  it('one replica whose view has caught up counts exactly: the third grant under a quota of 2 is denied, listing the two', async () => {
    const store = new PolicyStore();
    const { view, feed } = await replica(store);
    assert.equal(create(store, view, QUOTA_2).allowed, true);
    feed.deliver();
    assert.equal(create(store, view, QUOTA_2).allowed, true);
    feed.deliver();
    const third = create(store, view, QUOTA_2);
    assert.equal(third.allowed, false);
    assert.match(third.message!, /\[quota-namespace-exceeded\] metadata\.namespace payments already has 2 live grant\(s\) and profile default allows 2: grant-\d+ \(ticket INC-\d+, expires in 1h\), grant-\d+ /);
    assert.equal(store.items.size, 2);
  });

  it('two replicas, CREATEs racing in the watch window: both pass (quota + 1), then both replicas deny once the events arrive', async () => {
    const store = new PolicyStore();
    const a = await replica(store);
    const b = await replica(store);
    assert.equal(create(store, a.view, QUOTA_2).allowed, true);
    a.feed.deliver();
    b.feed.deliver();
    // One slot left; a CREATE reaches each replica before either has seen the other's.
    assert.equal(create(store, a.view, QUOTA_2).allowed, true);
    assert.equal(create(store, b.view, QUOTA_2).allowed, true);
    assert.equal(store.items.size, 3, 'overshoot by the one CREATE admitted in the window');
    a.feed.deliver();
    b.feed.deliver();
    assert.equal(create(store, a.view, QUOTA_2).allowed, false);
    assert.equal(create(store, b.view, QUOTA_2).allowed, false);
    assert.equal(store.items.size, 3);
  });

  it('the overshoot is per CREATE admitted in the window, not per replica: one replica admitting two before its watch shows the first overshoots by one too', async () => {
    const store = new PolicyStore();
    const { view, feed } = await replica(store);
    const cfg = config({ quotas: { maxLiveGrantsPerNamespace: 1 } });
    assert.equal(create(store, view, cfg).allowed, true);
    assert.equal(create(store, view, cfg).allowed, true, 'its own admission is not in its view yet');
    assert.equal(create(store, view, cfg).allowed, true);
    assert.equal(store.items.size, 3, 'quota 1, three admitted inside one watch window');
    feed.deliver();
    assert.equal(create(store, view, cfg).allowed, false);
  });

  it('the same holds for the requester quota, across replicas', async () => {
    const store = new PolicyStore();
    const a = await replica(store);
    const b = await replica(store);
    const cfg = config({ quotas: { maxLiveGrantsPerRequester: 1 } });
    assert.equal(create(store, a.view, cfg, 'bob').allowed, true);
    assert.equal(create(store, b.view, cfg, 'bob').allowed, true);
    a.feed.deliver();
    b.feed.deliver();
    const denied = create(store, b.view, cfg, 'bob');
    assert.equal(denied.allowed, false);
    assert.match(denied.message!, /\[quota-requester-exceeded\] .* bob already holds 2 live grant\(s\)/);
    assert.equal(create(store, a.view, cfg, 'carol').allowed, true, 'another requester is not held back');
  });

  it('property: over any interleaving of CREATEs and watch deliveries on two replicas, the live grants never exceed the quota by more than what the admitting replica had not seen yet, and a caught-up replica never admits over the quota', async () => {
    const step = fc.record({ kind: fc.constantFrom('create', 'create', 'deliver'), replica: fc.constantFrom(0, 1) });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 3 }), fc.array(step, { minLength: 1, maxLength: 25 }), async (quota, steps) => {
        const store = new PolicyStore();
        const replicas = [await replica(store), await replica(store)];
        const cfg = config({ quotas: { maxLiveGrantsPerNamespace: quota } });
        try {
          for (const s of steps) {
            const r = replicas[s.replica]!;
            if (s.kind === 'deliver') {
              r.feed.deliver();
              continue;
            }
            const unseen = r.feed.queue.length;
            const before = store.items.size;
            const { allowed } = create(store, r.view, cfg);
            if (!allowed) continue;
            // Admitted: the replica saw fewer than `quota` grants, and it saw all but `unseen`.
            assert.ok(before - unseen < quota, `admitted with ${before - unseen} seen, quota ${quota}`);
            assert.ok(store.items.size <= quota + unseen, `${store.items.size} live, quota ${quota}, ${unseen} unseen by the admitting replica`);
            if (unseen === 0) assert.ok(store.items.size <= quota, 'a caught-up replica is exact');
          }
          // Once every event has arrived, nothing more passes while the namespace is at or over quota.
          for (const r of replicas) r.feed.deliver();
          if (store.items.size >= quota) for (const r of replicas) assert.equal(create(store, r.view, cfg).allowed, false);
        } finally {
          await Promise.all(views.splice(0).map((v) => v.stop()));
        }
      }),
      { numRuns: 40 },
    );
  });
});
