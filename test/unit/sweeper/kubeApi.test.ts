import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createPolicyApi, type PolicyApi } from '../../../src/sweeper/kubeApi.js';
import { DEFAULT_RETRY_POLICY } from '../../../src/kube/retry.js';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { recordingSleep, waitFor } from './support.js';

describe('PolicyApi over client-node', () => {
  let fake: FakeApiServer;
  let api: PolicyApi;
  let delays: number[];

  before(async () => {
    fake = await FakeApiServer.start();
  });
  after(async () => {
    await fake.stop();
  });
  beforeEach(() => {
    fake.reset();
    const recorder = recordingSleep();
    delays = recorder.delays;
    api = createPolicyApi(fake.kubeConfig(), { retry: { ...DEFAULT_RETRY_POLICY, sleep: recorder.sleep, random: () => 0 } });
  });

  it('maps a list page, with no continue token on the last page', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'a', name: 'x' }));
    fake.putPolicy(grantPolicy({ namespace: 'a', name: 'y' }));
    const first = await api.listPage({ namespace: undefined, labelSelector: 'netpol-guard.io/temporary=true', limit: 1, continueToken: undefined });
    assert.equal(first.items.length, 1);
    assert.ok(first.continueToken);
    assert.equal(first.resourceVersion, fake.resourceVersion);
    const last = await api.listPage({ namespace: 'a', labelSelector: 'netpol-guard.io/temporary=true', limit: 1, continueToken: first.continueToken });
    assert.equal(last.items[0]!.metadata!.name, 'y');
    assert.equal(last.continueToken, undefined);
  });

  it('maps delete answers to deleted, gone and conflict', async () => {
    const stored = fake.putPolicy(grantPolicy({ namespace: 'a', name: 'x' }));
    const target = { namespace: 'a', name: 'x', uid: stored.metadata!.uid!, resourceVersion: stored.metadata!.resourceVersion! };
    assert.equal(await api.deleteWithPreconditions({ ...target, resourceVersion: '1' }), 'conflict');
    assert.equal(await api.deleteWithPreconditions(target), 'deleted');
    assert.equal(await api.deleteWithPreconditions(target), 'gone');
    assert.equal(await api.read('a', 'x'), undefined);
  });

  it('maps an Event name clash to "exists"', async () => {
    const event = { metadata: { name: 'e', namespace: 'a' }, involvedObject: { kind: 'NetworkPolicy', name: 'x', namespace: 'a' } };
    assert.equal(await api.createEvent(event), 'created');
    assert.equal(await api.createEvent(event), 'exists');
  });

  it('retries transient errors inside each call', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'a', name: 'x' }));
    fake.failNext('get', { status: 502, times: 2 });
    assert.equal((await api.read('a', 'x'))?.metadata?.name, 'x');
    assert.equal(delays.length, 2);
  });

  it('gives up on a request the server never answers (per-request deadline)', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'a', name: 'x' }));
    const stalled = createPolicyApi(fake.kubeConfig(), {
      retry: { ...DEFAULT_RETRY_POLICY, maxAttempts: 1 },
      requestTimeoutMs: 200,
    });
    let release!: () => void;
    fake.beforeNext('get', () => new Promise<void>((resolve) => (release = resolve)));
    try {
      await assert.rejects(stalled.read('a', 'x'), (err: unknown) => ['AbortError', 'TimeoutError'].includes((err as Error).name));
    } finally {
      release();
    }
  });

  it('reports a watch refused with 410 as not connected, with the status on the error', async () => {
    fake.failNext('watch', { status: 410 });
    const stream = api.watch({ namespace: undefined, labelSelector: '', resourceVersion: '1', timeoutSeconds: 60 }, () => undefined);
    assert.equal(await stream.connected, false);
    assert.equal((await stream.ended as { statusCode?: number }).statusCode, 410);
  });

  it('delivers watch events and ends cleanly on abort', async () => {
    const events: string[] = [];
    const stream = api.watch(
      { namespace: 'a', labelSelector: 'netpol-guard.io/temporary=true', resourceVersion: fake.resourceVersion, timeoutSeconds: 60 },
      (type, object) => events.push(`${type}:${(object as { metadata: { name: string } }).metadata.name}`),
    );
    assert.equal(await stream.connected, true);
    assert.equal(fake.requestsFor('watch')[0]!.query.allowWatchBookmarks, 'true');
    assert.equal(fake.requestsFor('watch')[0]!.query.timeoutSeconds, '60');
    fake.putPolicy(grantPolicy({ namespace: 'a', name: 'x' }));
    fake.putPolicy(grantPolicy({ namespace: 'b', name: 'elsewhere' }));
    fake.sendBookmark();
    await waitFor(() => events.length === 2, 'the ADDED event and the bookmark');
    assert.deepEqual(events, ['ADDED:x', 'BOOKMARK:undefined']);
    stream.abort();
    assert.equal(await stream.ended, null);
    await waitFor(() => fake.watchCount === 0, 'the server to see the close');
  });
});
