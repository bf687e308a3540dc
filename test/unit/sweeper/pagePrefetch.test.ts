import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { CoreV1Event, V1NetworkPolicy } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { defaultConfig } from '../../../src/config/load.js';
import type { DeletePreconditions, DeleteResult, EventResult, ListPageParams, PolicyApi, PolicyPage } from '../../../src/sweeper/kubeApi.js';
import { Sweeper } from '../../../src/sweeper/sweeper.js';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { captureLogger, FakeClock, recordingSleep, settle, waitFor } from './support.js';

const T0 = new Date('2030-01-01T12:00:00Z');
const minutes = (n: number): Date => new Date(T0.getTime() + n * 60_000);

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** What client-node throws for an HTTP error answer (see apiErrors.ts). */
function apiError(code: number): Error {
  return Object.assign(new Error(`HTTP ${code}`), { code, headers: {}, body: { code } });
}

function grant(name: string, expiresAt: Date): V1NetworkPolicy {
  const policy = grantPolicy({ namespace: 'team-a', name, expiresAt });
  policy.metadata!.uid = `uid-${name}`;
  policy.metadata!.resourceVersion = '1';
  return policy;
}

/**
 * A PolicyApi whose every list and delete answer is released by the test, so the order of calls
 * (not timing) decides what is asserted. Calls are logged as "list:<token>" and "delete:<name>".
 */
class ScriptedApi implements PolicyApi {
  readonly calls: string[] = [];
  readonly lists: Array<{ params: ListPageParams; answer: Deferred<PolicyPage> }> = [];
  readonly deletes: Array<{ target: DeletePreconditions; answer: Deferred<DeleteResult> }> = [];

  listPage(params: ListPageParams): Promise<PolicyPage> {
    this.calls.push(`list:${params.continueToken ?? '-'}`);
    const answer = deferred<PolicyPage>();
    this.lists.push({ params, answer });
    return answer.promise;
  }

  deleteWithPreconditions(target: DeletePreconditions): Promise<DeleteResult> {
    this.calls.push(`delete:${target.name}`);
    const answer = deferred<DeleteResult>();
    this.deletes.push({ target, answer });
    return answer.promise;
  }

  async read(): Promise<V1NetworkPolicy | undefined> {
    throw new Error('read is not expected in these tests');
  }

  async createEvent(_event: CoreV1Event): Promise<EventResult> {
    return 'created';
  }

  watch(): never {
    throw new Error('watch is not expected in these tests');
  }

  close(): void {}
}

function page(items: V1NetworkPolicy[], continueToken?: string): PolicyPage {
  return { items, continueToken, resourceVersion: '10' };
}

function scriptedSweeper(api: PolicyApi): { sweeper: Sweeper; registry: Registry } {
  const registry = new Registry();
  const { logger } = captureLogger();
  const sweeper = new Sweeper({ api, config: defaultConfig(), registry, logger, clock: new FakeClock(T0), sleep: recordingSleep().sleep, instance: 'test' });
  return { sweeper, registry };
}

async function failuresOf(registry: Registry, operation: string): Promise<number | undefined> {
  const data = await registry.getSingleMetric('netpol_guard_sweeper_failures_total')!.get();
  return data.values.find((v) => v.labels.operation === operation)?.value;
}

describe('sweep --once lists one page ahead', () => {
  it('asks for the next page while the current one is swept, never more than one ahead, and sweeps page by page', async () => {
    const api = new ScriptedApi();
    const { sweeper } = scriptedSweeper(api);
    const pass = sweeper.runOnce();

    await waitFor(() => api.lists.length === 1, 'the first list');
    api.lists[0]!.answer.resolve(page([grant('a', minutes(-1))], 't1'));
    await waitFor(() => api.deletes.length === 1, 'the first deletion');
    assert.deepEqual(api.calls, ['list:-', 'list:t1', 'delete:a'], 'page 2 was requested before page 1 was swept');

    // Page 2 arrives while page 1's deletion is still running: it is held, not swept, and page 3
    // is not asked for (that would be a third page in memory).
    api.lists[1]!.answer.resolve(page([grant('b', minutes(-1))], 't2'));
    await settle(5);
    assert.deepEqual(api.calls, ['list:-', 'list:t1', 'delete:a']);

    api.deletes[0]!.answer.resolve('deleted');
    await waitFor(() => api.deletes.length === 2, 'the second deletion');
    assert.deepEqual(api.calls, ['list:-', 'list:t1', 'delete:a', 'list:t2', 'delete:b']);

    api.lists[2]!.answer.resolve(page([grant('c', minutes(30))]));
    await settle(5);
    assert.equal(api.lists.length, 3, 'no request after the last page');
    api.deletes[1]!.answer.resolve('deleted');

    const summary = await pass;
    assert.equal(summary.complete, true);
    assert.equal(summary.listed, 3);
    assert.equal(summary.deleted, 2);
    assert.equal(summary.kept, 1);
  });

  it('a prefetched page that fails ends the pass like any failed list, after the current page is swept', async () => {
    const api = new ScriptedApi();
    const { sweeper, registry } = scriptedSweeper(api);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const pass = sweeper.runOnce();
      await waitFor(() => api.lists.length === 1, 'the first list');
      api.lists[0]!.answer.resolve(page([grant('a', minutes(-1)), grant('b', minutes(30))], 't1'));
      await waitFor(() => api.deletes.length === 1 && api.lists.length === 2, 'the deletion and the prefetch');
      // The prefetch fails while nobody is waiting for it yet.
      api.lists[1]!.answer.reject(apiError(403));
      await settle(5);
      api.deletes[0]!.answer.resolve('deleted');

      const summary = await pass;
      assert.equal(summary.complete, false);
      assert.equal(summary.deleted, 1, 'the page in hand was still swept');
      assert.equal(summary.kept, 1);
      assert.equal(await failuresOf(registry, 'list'), 1);
      assert.deepEqual(api.calls, ['list:-', 'list:t1', 'delete:a'], 'a 403 is not retried or restarted');
      await settle(2);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a 410 on the prefetched page restarts the list only once the current page is swept, crediting its progress', async () => {
    const api = new ScriptedApi();
    const { sweeper } = scriptedSweeper(api);
    const pass = sweeper.runOnce();
    await waitFor(() => api.lists.length === 1, 'the first list');
    api.lists[0]!.answer.resolve(page([grant('a', minutes(-1))], 't1'));
    await waitFor(() => api.deletes.length === 1 && api.lists.length === 2, 'the deletion and the prefetch');
    api.lists[1]!.answer.reject(apiError(410));
    await settle(5);
    assert.equal(api.lists.length, 2, 'no restart while the current page is still being swept');

    api.deletes[0]!.answer.resolve('deleted');
    await waitFor(() => api.lists.length === 3, 'the restarted list');
    assert.equal(api.lists[2]!.params.continueToken, undefined, 'the restart begins at the top');
    api.lists[2]!.answer.resolve(page([grant('b', minutes(30))]));

    const summary = await pass;
    assert.deepEqual(api.calls, ['list:-', 'list:t1', 'delete:a', 'list:-']);
    assert.equal(summary.listRestarts, 1);
    assert.equal(summary.complete, true);
    assert.equal(summary.deleted, 1);
    assert.equal(summary.kept, 1);
  });

  it('settles grants that are not due without a deletion, and hands every other one to the reaper', async () => {
    const api = new ScriptedApi();
    const { sweeper } = scriptedSweeper(api);
    const pass = sweeper.runOnce();
    await waitFor(() => api.lists.length === 1, 'the first list');
    const unlabelled = grant('unlabelled', minutes(-1));
    delete unlabelled.metadata!.labels!['netpol-guard.io/temporary'];
    const noExpiry = grant('no-expiry', minutes(-1));
    delete noExpiry.metadata!.annotations!['netpol-guard.io/expires-at'];
    const expiring = grant('now', T0);
    api.lists[0]!.answer.resolve(page([grant('later', minutes(1)), unlabelled, noExpiry, expiring]));
    await waitFor(() => api.deletes.length === 1, 'the deletion');
    api.deletes[0]!.answer.resolve('deleted');
    const summary = await pass;
    assert.deepEqual(api.calls, ['list:-', 'delete:now'], 'only the grant due at exactly now is deleted');
    assert.deepEqual(
      { kept: summary.kept, ignored: summary.ignored, invalid: summary.invalid, deleted: summary.deleted, failed: summary.failed },
      { kept: 1, ignored: 1, invalid: 1, deleted: 1, failed: 0 },
    );
  });
});

/**
 * Like client-node, which only reaches the socket after promise and nextTick hops: a request is
 * logged as "sent:<token>" when it would leave, not when listPage is called.
 */
class DeferredSendApi extends ScriptedApi {
  constructor(private readonly events: string[]) {
    super();
  }

  override listPage(params: ListPageParams): Promise<PolicyPage> {
    const answer = super.listPage(params);
    process.nextTick(() => void Promise.resolve().then(() => this.events.push(`sent:${params.continueToken ?? '-'}`)));
    return answer;
  }
}

describe('sweep --once overlaps the next list request with a sweep that never waits for I/O', () => {
  it('sends the request for page 2 before page 1 is swept in a dry run', async () => {
    const events: string[] = [];
    const api = new DeferredSendApi(events);
    const logger = pino(
      { level: 'info' },
      {
        write: (line: string) => {
          const entry = JSON.parse(line) as { msg: string; name?: string };
          events.push(`log:${entry.msg}:${entry.name ?? ''}`);
        },
      },
    );
    const sweeper = new Sweeper({ api, config: defaultConfig(), registry: new Registry(), logger, clock: new FakeClock(T0), dryRun: true, instance: 'test' });
    const pass = sweeper.runOnce();
    await waitFor(() => api.lists.length === 1, 'the first list');
    api.lists[0]!.answer.resolve(page([grant('a', minutes(-1)), grant('b', minutes(5))], 't1'));
    await waitFor(() => api.lists.length === 2, 'the prefetch');
    api.lists[1]!.answer.resolve(page([grant('c', minutes(-1))]));
    const summary = await pass;
    assert.equal(summary.dryRun, 2);
    const sent = events.indexOf('sent:t1');
    const swept = events.indexOf('log:grant expired:a');
    assert.ok(sent >= 0 && swept >= 0, events.join(', '));
    assert.ok(sent < swept, `page 2 was requested only after page 1 was swept: ${events.join(', ')}`);
  });
});

describe('sweep --once prefetching against the fake API server', () => {
  let fake: FakeApiServer;
  before(async () => {
    fake = await FakeApiServer.start();
  });
  after(async () => {
    await fake.stop();
  });
  beforeEach(() => {
    fake.reset();
  });
  afterEach(() => {
    fake.clearFaults();
  });

  it('retries a prefetched page on 5xx inside the list call, as any list, and misses no grant', async () => {
    for (let i = 0; i < 6; i++) fake.putPolicy(grantPolicy({ namespace: 'team-a', name: `g-${i}`, expiresAt: minutes(i % 2 === 0 ? -1 : 30) }));
    fake.failNext('list', { status: 503, times: 2, match: (r) => r.query.continue !== undefined });
    const { sleep, delays } = recordingSleep();
    const { logger, lines } = captureLogger();
    const sweeper = new Sweeper({
      kubeConfig: fake.kubeConfig(),
      config: defaultConfig(),
      registry: new Registry(),
      logger,
      clock: new FakeClock(T0),
      sleep,
      random: () => 0.5,
      instance: 'test',
      pageSize: 2,
    });
    const summary = await sweeper.runOnce();
    assert.equal(summary.complete, true);
    assert.equal(summary.listRestarts, 0);
    assert.equal(summary.deleted, 3);
    assert.equal(summary.kept, 3);
    assert.equal(delays.length, 2, 'two retry waits');
    assert.equal(lines.filter((l) => l.msg === 'API call failed; retrying' && l.operation === 'list').length, 2);
    assert.deepEqual(
      fake.requestsFor('list').map((r) => r.status),
      [200, 503, 503, 200, 200],
    );
    assert.deepEqual(fake.listPolicies().map((p) => p.metadata!.name), ['g-1', 'g-3', 'g-5']);
  });
});
