import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { defaultConfig, parseConfigText } from '../../../src/config/load.js';
import type { GuardConfig } from '../../../src/config/types.js';
import { DEFAULT_RETRY_POLICY } from '../../../src/kube/retry.js';
import type { SweeperOptions } from '../../../src/sweeper/sweeper.js';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { FakeClock, metricValue, sweeperHarness, type SweeperHarness } from './support.js';

const T0 = new Date('2030-01-01T12:00:00Z');
const minutes = (n: number): Date => new Date(T0.getTime() + n * 60_000);
const SELECTOR = 'netpol-guard.io/temporary=true';

let fake: FakeApiServer;

before(async () => {
  fake = await FakeApiServer.start();
});
after(async () => {
  await fake.stop();
});

function harness(overrides: Partial<SweeperOptions> = {}, config: GuardConfig = defaultConfig()): SweeperHarness {
  return sweeperHarness(fake.kubeConfig(), new FakeClock(T0), { config, ...overrides });
}

describe('sweep --once against the fake API server', () => {
  beforeEach(() => {
    // A fresh world per test; one server for the file keeps the TLS setup cost to once.
    fake.reset();
    fake.setIgnoreLabelSelector(false);
  });
  afterEach(() => {
    fake.clearFaults();
  });

  it('walks every page (limit + continue) and deletes each expired grant, keeping future ones', async () => {
    for (let i = 0; i < 7; i++) fake.putPolicy(grantPolicy({ namespace: 'team-a', name: `expired-${i}`, expiresAt: minutes(-1 - i) }));
    fake.putPolicy(grantPolicy({ namespace: 'team-b', name: 'future-0', expiresAt: minutes(30) }));
    fake.putPolicy(grantPolicy({ namespace: 'team-b', name: 'future-1', expiresAt: minutes(90) }));
    const h = harness({ pageSize: 4 });

    const summary = await h.sweeper.runOnce();

    const lists = fake.requestsFor('list');
    assert.equal(lists.length, 3, 'three pages of 4, 4 and 1');
    for (const l of lists) {
      assert.equal(l.query.limit, '4');
      assert.equal(l.query.labelSelector, SELECTOR);
      assert.equal(l.path, '/apis/networking.k8s.io/v1/networkpolicies');
    }
    assert.equal(lists[0]!.query.continue, undefined);
    assert.ok(lists[1]!.query.continue && lists[2]!.query.continue, 'later pages follow the continue token');
    assert.deepEqual(
      fake.listPolicies().map((p) => p.metadata!.name),
      ['future-0', 'future-1'],
    );
    assert.equal(summary.deleted, 7);
    assert.equal(summary.kept, 2);
    assert.equal(summary.failed, 0);
    assert.equal(summary.complete, true);
    assert.equal(summary.listed, 9);
  });

  it('uses pages of 500 by default', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'one', expiresAt: minutes(5) }));
    await harness().sweeper.runOnce();
    assert.equal(fake.requestsFor('list')[0]!.query.limit, '500');
  });

  it('restarts the list from scratch when a continue token is rejected with 410 Gone', async () => {
    for (let i = 0; i < 5; i++) fake.putPolicy(grantPolicy({ namespace: 'team-a', name: `g-${i}`, expiresAt: minutes(-10) }));
    fake.failNext('list', { status: 410, match: (r) => r.query.continue !== undefined });
    const h = harness({ pageSize: 2 });

    const summary = await h.sweeper.runOnce();

    const lists = fake.requestsFor('list');
    assert.equal(lists[1]!.status, 410);
    assert.equal(lists[2]!.query.continue, undefined, 'the list after the 410 starts over');
    assert.equal(fake.policyCount, 0, 'every grant was still found and deleted');
    assert.equal(summary.listRestarts, 1);
    assert.equal(summary.deleted, 5);
    assert.equal(summary.complete, true);
  });

  it('restarts when compaction makes the continue token too old (the server-side path)', async () => {
    for (let i = 0; i < 4; i++) fake.putPolicy(grantPolicy({ namespace: 'team-a', name: `g-${i}`, expiresAt: minutes(-10) }));
    let compacted = false;
    fake.beforeNext('list', (r) => {
      if (r.query.continue !== undefined && !compacted) {
        compacted = true;
        fake.compact();
      }
    }, 10);
    const summary = await harness({ pageSize: 2 }).sweeper.runOnce();
    assert.equal(compacted, true);
    assert.equal(summary.listRestarts, 1);
    assert.equal(fake.policyCount, 0);
  });

  it('sends uid and resourceVersion preconditions in the DELETE body', async () => {
    const stored = fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'db-access', expiresAt: minutes(-1) }));
    await harness().sweeper.runOnce();
    const [del] = fake.requestsFor('delete');
    assert.ok(del);
    assert.equal(del.path, '/apis/networking.k8s.io/v1/namespaces/team-a/networkpolicies/db-access');
    assert.deepEqual((del.body as { preconditions: unknown }).preconditions, {
      uid: stored.metadata!.uid,
      resourceVersion: stored.metadata!.resourceVersion,
    });
  });

  it('treats 404 on delete as success (another sweeper got there first)', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'raced', expiresAt: minutes(-1) }));
    fake.beforeNext('delete', () => {
      fake.removePolicy('team-a', 'raced');
    });
    const h = harness();
    const summary = await h.sweeper.runOnce();
    assert.equal(fake.requestsFor('delete')[0]!.status, 404);
    assert.equal(summary.alreadyGone, 1);
    assert.equal(summary.failed, 0);
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_deletions_total', { outcome: 'already-gone' }), 1);
    assert.equal(fake.events.length, 0, 'no Expired event from the sweeper that did not delete it');
  });

  it('on 409 re-reads the policy and keeps it when the grant was extended in between', async () => {
    const original = grantPolicy({ namespace: 'team-a', name: 'extended', expiresAt: minutes(-1), ticket: 'OPS-1' });
    fake.putPolicy(original);
    fake.beforeNext('delete', () => {
      // Someone extends the grant between our list and our delete.
      fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'extended', expiresAt: minutes(60), ticket: 'OPS-1' }));
    });
    const summary = await harness().sweeper.runOnce();
    assert.deepEqual(fake.requests.map((r) => `${r.route}:${r.status}`), ['list:200', 'delete:409', 'get:200']);
    assert.equal(fake.hasPolicy('team-a', 'extended'), true, 'an extended grant must survive');
    assert.equal(summary.kept, 1);
    assert.equal(summary.deleted, 0);
    assert.equal(summary.failed, 0);
  });

  it('on 409 for an unrelated edit re-decides and deletes the new version with its own preconditions', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'touched', expiresAt: minutes(-1) }));
    let edited: string | undefined;
    fake.beforeNext('delete', () => {
      const p = grantPolicy({ namespace: 'team-a', name: 'touched', expiresAt: minutes(-1), annotations: { note: 'edited' } });
      edited = fake.putPolicy(p).metadata!.resourceVersion;
    });
    const summary = await harness().sweeper.runOnce();
    const deletes = fake.requestsFor('delete');
    assert.deepEqual(deletes.map((d) => d.status), [409, 200]);
    assert.equal((deletes[1]!.body as { preconditions: { resourceVersion: string } }).preconditions.resourceVersion, edited);
    assert.equal(summary.deleted, 1);
    assert.equal(fake.hasPolicy('team-a', 'touched'), false);
  });

  it('honours Retry-After on 429 (asks the injected sleep for exactly that long)', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'throttled', expiresAt: minutes(-1) }));
    fake.failNext('delete', { status: 429, headers: { 'retry-after': '7' } });
    const h = harness();
    const summary = await h.sweeper.runOnce();
    assert.deepEqual(h.delays, [7_000]);
    assert.equal(summary.deleted, 1);
    assert.deepEqual(fake.requestsFor('delete').map((d) => d.status), [429, 200]);
  });

  it('backs off exponentially with jitter on 5xx, then succeeds', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'flaky', expiresAt: minutes(-1) }));
    fake.failNext('list', { status: 503, times: 2 });
    fake.failNext('delete', { status: 500, times: 1 });
    const h = harness();
    const summary = await h.sweeper.runOnce();
    assert.equal(summary.deleted, 1);
    assert.equal(h.delays.length, 3);
    const [first, second, third] = h.delays as [number, number, number];
    const base = DEFAULT_RETRY_POLICY.baseDelayMs;
    // Equal jitter: each wait lies in [step/2, step] with step doubling per attempt.
    assert.ok(first >= base / 2 && first <= base, `first wait ${first}`);
    assert.ok(second >= base && second <= 2 * base, `second wait ${second}`);
    assert.ok(second > first);
    assert.ok(third >= base / 2 && third <= base, 'the delete starts its own attempt count');
  });

  it('gives up after bounded attempts, counts the failure and leaves the grant for the next pass', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'broken', expiresAt: minutes(-1) }));
    fake.failNext('delete', { status: 500, times: 100 });
    const h = harness({ retry: { maxAttempts: 3 } });
    const summary = await h.sweeper.runOnce();
    assert.equal(fake.requestsFor('delete').length, 3);
    assert.equal(summary.failed, 1);
    assert.equal(fake.hasPolicy('team-a', 'broken'), true);
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_failures_total', { operation: 'delete' }), 1);
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_last_successful_pass_timestamp_seconds'), 0, 'a pass with a failed deletion is not successful');
  });

  it('does not retry a 403: it is an answer, not a hiccup', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'forbidden', expiresAt: minutes(-1) }));
    fake.failNext('delete', { status: 403 });
    const h = harness();
    const summary = await h.sweeper.runOnce();
    assert.equal(fake.requestsFor('delete').length, 1);
    assert.deepEqual(h.delays, []);
    assert.equal(summary.failed, 1);
  });

  it('reports an incomplete pass when the list itself fails', async () => {
    fake.failNext('list', { status: 403 });
    const summary = await harness().sweeper.runOnce();
    assert.equal(summary.complete, false);
  });

  it('--dry-run reports what it would delete and deletes nothing', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'would-go', expiresAt: minutes(-2), ticket: 'OPS-9' }));
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'stays', expiresAt: minutes(2) }));
    const h = harness({ dryRun: true });
    const summary = await h.sweeper.runOnce();
    assert.equal(fake.requestsFor('delete').length, 0);
    assert.equal(fake.policyCount, 2);
    assert.equal(fake.events.length, 0);
    assert.equal(summary.dryRun, 1);
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_deletions_total', { outcome: 'dry-run' }), 1);
    const audit = h.lines.filter((l) => l.msg === 'grant expired');
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.name, 'would-go');
    assert.equal(audit[0]!.dryRun, true);
    assert.equal(audit[0]!.deletedAt, null);
  });

  it('never deletes a labelled policy with a missing or unparseable expiry, and warns once per uid+resourceVersion', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'no-expiry' }));
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'bad-expiry', expiresAt: 'tomorrow-ish' }));
    const h = harness();

    const first = await h.sweeper.runOnce();
    const second = await h.sweeper.runOnce();

    assert.equal(fake.requestsFor('delete').length, 0);
    assert.equal(fake.policyCount, 2);
    assert.equal(first.invalid, 2);
    assert.equal(second.invalid, 2);
    const warnings = fake.events.filter((e) => e.reason === 'InvalidExpiry');
    assert.equal(warnings.length, 2, 'one Warning per policy, not per pass');
    assert.equal(fake.requestsFor('createEvent').length, 2, 'the second pass does not even try again');
    for (const w of warnings) {
      assert.equal(w.type, 'Warning');
      assert.equal(w.involvedObject.kind, 'NetworkPolicy');
      assert.equal(w.involvedObject.uid, fake.getPolicy('team-a', w.involvedObject.name!)!.metadata!.uid);
    }
    assert.match(warnings.find((w) => w.involvedObject.name === 'bad-expiry')!.message!, /expires-at.*tomorrow-ish/);
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_invalid_grants_total'), 2);

    // A second process (the next CronJob run) is told the Event exists and records no duplicate.
    const nextRun = harness();
    await nextRun.sweeper.runOnce();
    assert.equal(fake.events.filter((e) => e.reason === 'InvalidExpiry').length, 2);
    assert.deepEqual(fake.requestsFor('createEvent').slice(2).map((r) => r.status), [409, 409]);

    // A new version of a still-invalid policy is a new fact and is reported again.
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'bad-expiry', expiresAt: 'still-bad' }));
    await h.sweeper.runOnce();
    assert.equal(fake.events.filter((e) => e.reason === 'InvalidExpiry').length, 3);
  });

  it('never touches an unlabelled policy, even when the server ignores the label selector', async () => {
    fake.setIgnoreLabelSelector(true);
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'permanent', expiresAt: minutes(-60), temporary: false }));
    fake.putPolicy(
      grantPolicy({ namespace: 'team-a', name: 'label-false', expiresAt: minutes(-60), temporary: false, labels: { 'netpol-guard.io/temporary': 'false' } }),
    );
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'real-grant', expiresAt: minutes(-60) }));
    const h = harness();
    const summary = await h.sweeper.runOnce();
    assert.equal(fake.requestsFor('list')[0]!.query.labelSelector, SELECTOR, 'the selector was asked for');
    assert.equal(summary.listed, 3, 'the misbehaving server returned all three');
    assert.equal(summary.ignored, 2);
    assert.equal(summary.deleted, 1);
    assert.deepEqual(fake.listPolicies().map((p) => p.metadata!.name), ['label-false', 'permanent']);
    assert.equal(h.lines.filter((l) => /label selector should have excluded/.test(String(l.msg))).length, 2);
  });

  it('the fake applies the label selector when it behaves', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'permanent', expiresAt: minutes(-60), temporary: false }));
    const summary = await harness().sweeper.runOnce();
    assert.equal(summary.listed, 0);
  });

  it('records an Expired Event and one audit line per deletion', async () => {
    const grantedAt = minutes(-120);
    const stored = fake.putPolicy(
      grantPolicy({ namespace: 'team-a', name: 'db', expiresAt: minutes(-1), ticket: 'OPS-42', requestedBy: 'alice@example.com', grantedAt }),
    );
    const h = harness();
    await h.sweeper.runOnce();

    assert.equal(fake.events.length, 1);
    const event = fake.events[0]!;
    assert.equal(event.reason, 'Expired');
    assert.equal(event.type, 'Normal');
    assert.equal(event.metadata.namespace, 'team-a');
    assert.deepEqual(
      { ...event.involvedObject },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        namespace: 'team-a',
        name: 'db',
        uid: stored.metadata!.uid,
        resourceVersion: stored.metadata!.resourceVersion,
      },
    );
    assert.equal(event.source?.component, 'netpol-guard-sweeper');
    assert.equal(event.reportingInstance, 'sweeper-test-0');
    assert.match(event.message!, /OPS-42/);

    const audit = h.lines.filter((l) => l.msg === 'grant expired');
    assert.equal(audit.length, 1);
    const line = audit[0]!;
    assert.equal(line.namespace, 'team-a');
    assert.equal(line.name, 'db');
    assert.equal(line.uid, stored.metadata!.uid);
    assert.equal(line.ticket, 'OPS-42');
    assert.equal(line.requestedBy, 'alice@example.com');
    assert.equal(line.grantedAt, '2030-01-01T10:00:00Z');
    assert.equal(line.expiresAt, '2030-01-01T11:59:00Z');
    assert.equal(line.deletedAt, T0.toISOString());
    assert.equal(line.lagSeconds, 60);
    assert.equal(line.dryRun, false);
  });

  it('a failed Event does not fail the deletion', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'db', expiresAt: minutes(-1) }));
    fake.failNext('createEvent', { status: 403 });
    const h = harness();
    const summary = await h.sweeper.runOnce();
    assert.equal(summary.deleted, 1);
    assert.equal(summary.failed, 0);
    assert.equal(fake.hasPolicy('team-a', 'db'), false);
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_failures_total', { operation: 'event' }), 1);
  });

  it('exports deletions, live grants, expiry lag and the last successful pass', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'a', expiresAt: minutes(-1) }));
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'b', expiresAt: minutes(-3) }));
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'c', expiresAt: minutes(10) }));
    const h = harness();
    await h.sweeper.runOnce();
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_deletions_total', { outcome: 'deleted' }), 2);
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_live_grants'), 1);
    assert.equal(await metricValue(h.registry, 'netpol_guard_sweeper_last_successful_pass_timestamp_seconds'), T0.getTime() / 1_000);
    const lag = await h.registry.getSingleMetric('netpol_guard_sweeper_expiry_lag_seconds')!.get();
    const named = (suffix: string): number | undefined =>
      lag.values.find((v) => (v as { metricName?: string }).metricName === `netpol_guard_sweeper_expiry_lag_seconds_${suffix}`)?.value;
    const count = named('count');
    const sum = named('sum');
    assert.equal(count, 2);
    assert.equal(sum, 60 + 180);
  });

  it('--namespace restricts the list to that namespace', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'a', expiresAt: minutes(-1) }));
    fake.putPolicy(grantPolicy({ namespace: 'team-b', name: 'b', expiresAt: minutes(-1) }));
    await harness({ namespace: 'team-b' }).sweeper.runOnce();
    assert.equal(fake.requestsFor('list')[0]!.path, '/apis/networking.k8s.io/v1/namespaces/team-b/networkpolicies');
    assert.deepEqual(fake.listPolicies().map((p) => `${p.metadata!.namespace}/${p.metadata!.name}`), ['team-a/a']);
  });

  it('follows a configured annotation prefix for the label and annotations', async () => {
    const parsed = parseConfigText('annotationPrefix: grants.example.com\n');
    assert.ok(parsed.ok);
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'custom', expiresAt: minutes(-1), prefix: 'grants.example.com' }));
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'default-prefix', expiresAt: minutes(-1) }));
    const summary = await harness({}, parsed.config).sweeper.runOnce();
    assert.equal(fake.requestsFor('list')[0]!.query.labelSelector, 'grants.example.com/temporary=true');
    assert.equal(summary.deleted, 1);
    assert.deepEqual(fake.listPolicies().map((p) => p.metadata!.name), ['default-prefix']);
  });

  it('reuses kept-alive connections instead of a new TLS handshake per call', async () => {
    for (let i = 0; i < 10; i++) fake.putPolicy(grantPolicy({ namespace: 'team-a', name: `g-${i}`, expiresAt: minutes(-1) }));
    const before = fake.connectionCount;
    const summary = await harness({ concurrency: 1 }).sweeper.runOnce();
    assert.equal(summary.deleted, 10);
    assert.equal(fake.requests.length, 21, 'one list, ten deletes, ten events');
    assert.ok(fake.connectionCount - before <= 3, `${fake.connectionCount - before} connections for 21 calls`);
  });

  it('gives up restarting a list that keeps expiring without any progress', async () => {
    for (let i = 0; i < 3; i++) fake.putPolicy(grantPolicy({ namespace: 'team-a', name: `future-${i}`, expiresAt: minutes(60) }));
    fake.failNext('list', { status: 410, times: 100, match: (r) => r.query.continue !== undefined });
    const summary = await harness({ pageSize: 1 }).sweeper.runOnce();
    assert.equal(summary.complete, false);
    assert.equal(summary.listRestarts, 3);
    assert.equal(fake.requestsFor('list').length, 8, 'four first pages, four rejected continues');
  });

  it('keeps restarting while each attempt removes grants', async () => {
    for (let i = 0; i < 6; i++) fake.putPolicy(grantPolicy({ namespace: 'team-a', name: `g-${i}`, expiresAt: minutes(-1) }));
    fake.failNext('list', { status: 410, times: 100, match: (r) => r.query.continue !== undefined });
    const summary = await harness({ pageSize: 1 }).sweeper.runOnce();
    assert.equal(summary.deleted, 6);
    assert.equal(summary.listRestarts, 5, 'more restarts than the no-progress limit, each one after a deletion');
    assert.equal(fake.policyCount, 0);
  });

  it('keeps at most --concurrency deletions in flight', async () => {
    for (let i = 0; i < 12; i++) fake.putPolicy(grantPolicy({ namespace: 'team-a', name: `g-${String(i).padStart(2, '0')}`, expiresAt: minutes(-1) }));
    let inFlight = 0;
    let peak = 0;
    let release: Array<() => void> = [];
    // A barrier inside the server: each DELETE waits until three are in flight at once (or 2 s
    // pass), so a limiter that let a fourth through would be caught deterministically.
    fake.beforeNext('delete', async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      if (inFlight >= 3) {
        for (const r of release) r();
        release = [];
      } else {
        await new Promise<void>((resolve) => {
          const fallback = setTimeout(resolve, 2_000);
          release.push(() => {
            clearTimeout(fallback);
            resolve();
          });
        });
      }
      inFlight--;
    }, 12);
    const summary = await harness({ concurrency: 3 }).sweeper.runOnce();
    assert.equal(summary.deleted, 12);
    assert.equal(peak, 3);
  });
});
