import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CoreV1Api, NetworkingV1Api, PatchStrategy, setHeaderOptions, Watch, type V1NetworkPolicy } from '@kubernetes/client-node';
import { FakeApiServer, grantPolicy, matchesSelector, parseSelector } from '../../helpers/fakeApiServer.js';
import { waitFor } from './support.js';

const codeOf = (err: unknown): number | undefined => (err as { code?: number }).code;

describe('fake API server: label selectors', () => {
  it('parses and matches equality, inequality, existence and set requirements', () => {
    const labels = { tier: 'db', env: 'prod' };
    const cases: Array<[string, boolean]> = [
      ['', true],
      ['tier=db', true],
      ['tier==db', true],
      ['tier=web', false],
      ['tier!=web', true],
      ['missing!=x', true],
      ['tier', true],
      ['!tier', false],
      ['!missing', true],
      ['env in (prod, staging)', true],
      ['env notin (prod)', false],
      ['missing notin (a)', true],
      ['tier=db,env in (dev)', false],
      ['tier=db, env in (prod,dev), !missing', true],
    ];
    for (const [text, expected] of cases) {
      const parsed = parseSelector(text);
      assert.ok(Array.isArray(parsed), text);
      assert.equal(matchesSelector(parsed, labels), expected, text);
    }
    for (const bad of ['tier=db,', '=x', 'a b c', 'tier in prod']) assert.equal(typeof parseSelector(bad), 'string', bad);
  });
});

describe('fake API server through the real client', () => {
  let fake: FakeApiServer;
  let api: NetworkingV1Api;

  before(async () => {
    fake = await FakeApiServer.start();
    api = fake.kubeConfig().makeApiClient(NetworkingV1Api);
  });
  after(async () => {
    await fake.stop();
  });
  beforeEach(() => {
    fake.reset();
  });

  it('paginates by key, so deleting between pages skips nothing', async () => {
    for (let i = 0; i < 6; i++) fake.putPolicy(grantPolicy({ namespace: 'ns', name: `p${i}` }));
    const first = await api.listNamespacedNetworkPolicy({ namespace: 'ns', limit: 2 });
    assert.deepEqual(first.items.map((p) => p.metadata!.name), ['p0', 'p1']);
    fake.removePolicy('ns', 'p0');
    fake.removePolicy('ns', 'p1');
    const second = await api.listNamespacedNetworkPolicy({ namespace: 'ns', limit: 2, _continue: first.metadata!._continue! });
    assert.deepEqual(second.items.map((p) => p.metadata!.name), ['p2', 'p3']);
    assert.equal(second.metadata!.resourceVersion, first.metadata!.resourceVersion, 'continued pages keep the first page\'s resourceVersion');
    const third = await api.listNamespacedNetworkPolicy({ namespace: 'ns', limit: 2, _continue: second.metadata!._continue! });
    assert.deepEqual(third.items.map((p) => p.metadata!.name), ['p4', 'p5']);
    assert.equal(third.metadata!._continue, undefined);
  });

  it('filters lists by namespace and label selector', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'a', name: 'temp' }));
    fake.putPolicy(grantPolicy({ namespace: 'a', name: 'perm', temporary: false }));
    fake.putPolicy(grantPolicy({ namespace: 'b', name: 'temp' }));
    const all = await api.listNetworkPolicyForAllNamespaces({ labelSelector: 'netpol-guard.io/temporary=true' });
    assert.deepEqual(all.items.map((p) => `${p.metadata!.namespace}/${p.metadata!.name}`), ['a/temp', 'b/temp']);
    const inA = await api.listNamespacedNetworkPolicy({ namespace: 'a' });
    assert.equal(inA.items.length, 2);
    await assert.rejects(api.listNamespacedNetworkPolicy({ namespace: 'a', labelSelector: 'a b' }), (e) => codeOf(e) === 400);
  });

  it('answers 410 for a continue token older than a compaction', async () => {
    for (let i = 0; i < 3; i++) fake.putPolicy(grantPolicy({ namespace: 'ns', name: `p${i}` }));
    const first = await api.listNamespacedNetworkPolicy({ namespace: 'ns', limit: 1 });
    fake.compact();
    await assert.rejects(api.listNamespacedNetworkPolicy({ namespace: 'ns', limit: 1, _continue: first.metadata!._continue! }), (e) => codeOf(e) === 410);
  });

  it('enforces delete preconditions and reports missing objects', async () => {
    const stored = fake.putPolicy(grantPolicy({ namespace: 'ns', name: 'p' }));
    const uid = stored.metadata!.uid!;
    const rv = stored.metadata!.resourceVersion!;
    await assert.rejects(
      api.deleteNamespacedNetworkPolicy({ namespace: 'ns', name: 'p', body: { preconditions: { uid: 'other' } } }),
      (e) => codeOf(e) === 409 && /UID in precondition/.test(JSON.stringify((e as { body: unknown }).body)),
    );
    await assert.rejects(
      api.deleteNamespacedNetworkPolicy({ namespace: 'ns', name: 'p', body: { preconditions: { uid, resourceVersion: '1' } } }),
      (e) => codeOf(e) === 409,
    );
    await api.deleteNamespacedNetworkPolicy({ namespace: 'ns', name: 'p', dryRun: 'All', body: { preconditions: { uid, resourceVersion: rv } } });
    assert.equal(fake.hasPolicy('ns', 'p'), true, 'dryRun=All deletes nothing');
    await api.deleteNamespacedNetworkPolicy({ namespace: 'ns', name: 'p', body: { preconditions: { uid, resourceVersion: rv } } });
    assert.equal(fake.hasPolicy('ns', 'p'), false);
    await assert.rejects(api.deleteNamespacedNetworkPolicy({ namespace: 'ns', name: 'p' }), (e) => codeOf(e) === 404);
    await assert.rejects(api.readNamespacedNetworkPolicy({ namespace: 'ns', name: 'p' }), (e) => codeOf(e) === 404);
  });

  it('creates, merge-patches and replaces policies, keeping uid and bumping resourceVersion', async () => {
    const created = await api.createNamespacedNetworkPolicy({
      namespace: 'ns',
      body: { metadata: { name: 'p' }, spec: { podSelector: {}, ingress: [{ _from: [{ podSelector: {} }] }] } },
    });
    assert.ok(created.metadata?.uid);
    assert.equal(fake.getPolicy('ns', 'p')!.spec!.ingress![0]!._from, undefined, 'stored in wire form');
    assert.ok((fake.getPolicy('ns', 'p')!.spec!.ingress![0] as Record<string, unknown>).from);
    await assert.rejects(api.createNamespacedNetworkPolicy({ namespace: 'ns', body: { metadata: { name: 'p' }, spec: { podSelector: {} } } }), (e) => codeOf(e) === 409);

    const patched = await api.patchNamespacedNetworkPolicy(
      { namespace: 'ns', name: 'p', body: { metadata: { annotations: { 'netpol-guard.io/expires-at': '2030-01-01T00:00:00Z' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    assert.equal(patched.metadata!.uid, created.metadata!.uid);
    assert.equal(patched.metadata!.annotations!['netpol-guard.io/expires-at'], '2030-01-01T00:00:00Z');
    assert.ok(Number(patched.metadata!.resourceVersion) > Number(created.metadata!.resourceVersion));

    const stale: V1NetworkPolicy = { ...patched, metadata: { ...patched.metadata, resourceVersion: created.metadata!.resourceVersion } };
    await assert.rejects(api.replaceNamespacedNetworkPolicy({ namespace: 'ns', name: 'p', body: stale }), (e) => codeOf(e) === 409);
  });

  it('creates Events and refuses a duplicate name or a foreign namespace', async () => {
    const core = fake.kubeConfig().makeApiClient(CoreV1Api);
    const event = { metadata: { name: 'e1', namespace: 'ns' }, involvedObject: { kind: 'NetworkPolicy', name: 'p', namespace: 'ns' }, reason: 'Expired' };
    await core.createNamespacedEvent({ namespace: 'ns', body: event });
    await assert.rejects(core.createNamespacedEvent({ namespace: 'ns', body: event }), (e) => codeOf(e) === 409);
    await assert.rejects(core.createNamespacedEvent({ namespace: 'other', body: event }), (e) => codeOf(e) === 400);
    assert.equal(fake.events.length, 1);
  });

  it('rejects a client without the token', async () => {
    const kc = fake.kubeConfig();
    kc.users = [{ name: 'fake', token: 'wrong' }];
    await assert.rejects(kc.makeApiClient(NetworkingV1Api).listNetworkPolicyForAllNamespaces(), (e) => codeOf(e) === 401);
  });

  it('injects faults with headers, only for matching requests, the given number of times', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'ns', name: 'p' }));
    fake.failNext('get', { status: 429, headers: { 'retry-after': '3' }, times: 2, match: (r) => r.path.endsWith('/p') });
    for (let i = 0; i < 2; i++) {
      await assert.rejects(api.readNamespacedNetworkPolicy({ namespace: 'ns', name: 'p' }), (e) =>
        codeOf(e) === 429 && (e as { headers: Record<string, string> }).headers['retry-after'] === '3',
      );
    }
    assert.equal((await api.readNamespacedNetworkPolicy({ namespace: 'ns', name: 'p' })).metadata!.name, 'p');
  });

  it('streams watch events, translating selector transitions, and resumes from history', async () => {
    const watch = new Watch(fake.kubeConfig());
    const seen: string[] = [];
    const list = await api.listNetworkPolicyForAllNamespaces({ labelSelector: 'netpol-guard.io/temporary=true' });
    const controller = await watch.watch(
      '/apis/networking.k8s.io/v1/networkpolicies',
      { labelSelector: 'netpol-guard.io/temporary=true', resourceVersion: list.metadata!.resourceVersion },
      (type, obj: V1NetworkPolicy) => seen.push(`${type}:${obj.metadata!.name}`),
      () => undefined,
    );
    fake.putPolicy(grantPolicy({ namespace: 'ns', name: 'w' }));
    fake.putPolicy(grantPolicy({ namespace: 'ns', name: 'w', annotations: { x: '1' } }));
    fake.putPolicy(grantPolicy({ namespace: 'ns', name: 'w', temporary: false }));
    fake.putPolicy(grantPolicy({ namespace: 'ns', name: 'w' }));
    fake.putPolicy(grantPolicy({ namespace: 'ns', name: 'unrelated', temporary: false }));
    fake.removePolicy('ns', 'w');
    await waitFor(() => seen.length === 5, 'five events');
    assert.deepEqual(seen, ['ADDED:w', 'MODIFIED:w', 'DELETED:w', 'ADDED:w', 'DELETED:w']);
    controller.abort();

    // Resuming from the list's resourceVersion replays the same history.
    const replay: string[] = [];
    const again = await watch.watch(
      '/apis/networking.k8s.io/v1/networkpolicies',
      { labelSelector: 'netpol-guard.io/temporary=true', resourceVersion: list.metadata!.resourceVersion },
      (type, obj: V1NetworkPolicy) => replay.push(`${type}:${obj.metadata!.name}`),
      () => undefined,
    );
    await waitFor(() => replay.length === 5, 'the replay');
    assert.deepEqual(replay, seen);
    again.abort();
  });

  it('answers a too-old resume with an ERROR event carrying code 410', async () => {
    const watch = new Watch(fake.kubeConfig());
    const old = fake.resourceVersion;
    fake.compact();
    let error: { code?: number } | undefined;
    let done = false;
    await watch.watch('/apis/networking.k8s.io/v1/networkpolicies', { resourceVersion: old }, (type, obj) => {
      if (type === 'ERROR') error = obj as { code?: number };
    }, () => (done = true));
    await waitFor(() => done, 'the stream to end');
    assert.equal(error?.code, 410);
  });

  it('serves plain HTTP too (for benchmarks), which client-node only allows with TLS verification off', async () => {
    const plain = await FakeApiServer.start({ tls: false });
    try {
      assert.match(plain.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      plain.putPolicy(grantPolicy({ namespace: 'ns', name: 'p' }));
      const items = (await plain.kubeConfig().makeApiClient(NetworkingV1Api).listNetworkPolicyForAllNamespaces()).items;
      assert.equal(items.length, 1);
    } finally {
      await plain.stop();
    }
  });
});
