import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { recordChanged, recordClosed, recordOpened } from '../../../src/controller/grantRecord.js';
import { expiringNotification, type GrantNotification, transitionNotifications } from '../../../src/controller/notification.js';
import { formatNotification, slackMessage } from '../../../src/controller/notificationFormats.js';
import { backoffDelay } from '../../../src/controller/notificationQueue.js';
import { CONFIG, grantPolicy, T0, UID } from './grantFixtures.js';

const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1_000);

describe('transitionNotifications: one notification per record transition', () => {
  const opened = recordOpened(grantPolicy(), T0, CONFIG);

  it('a new record is `opened`, with who, ticket and expiry', () => {
    const [n, ...rest] = transitionNotifications(undefined, opened, T0);
    assert.equal(rest.length, 0);
    assert.deepEqual(n, {
      version: 1,
      event: 'opened',
      namespace: 'payments',
      policy: 'db-debug',
      uid: UID,
      ticket: 'INC-1234',
      ticketUrl: 'https://tracker.example/browse/INC-1234',
      requester: 'alice@example.com',
      expiresAt: '2026-12-01T06:00:00Z',
      at: '2026-12-01T04:00:00Z',
      access: opened.status.access,
    });
  });

  it('a record opened late says so', () => {
    const late = recordOpened(grantPolicy(), T0, CONFIG, { late: true });
    assert.equal(transitionNotifications(undefined, late, T0)[0]?.late, true);
  });

  it('an extension stamped by bob is `changed` by bob, from → to', () => {
    const extended = grantPolicy({ annotations: { 'netpol-guard.io/expires-at': '2026-12-01T08:00:00Z', 'netpol-guard.io/changed-by': 'bob', 'netpol-guard.io/changed-at': '2026-12-01T04:30:00Z' } });
    const after = recordChanged(opened, grantPolicy(), extended, at(1800), CONFIG);
    const ns = transitionNotifications(opened, after, at(1800));
    assert.equal(ns.length, 1);
    assert.equal(ns[0]!.event, 'changed');
    assert.equal(ns[0]!.by, 'bob');
    assert.equal(ns[0]!.expiresAt, '2026-12-01T08:00:00Z');
    assert.deepEqual(ns[0]!.changes, [{ field: 'expiry', from: '2026-12-01T06:00:00Z', to: '2026-12-01T08:00:00Z' }]);
  });

  it('each way a grant ends has its event: expired (with lag), revoked (by), deleted (observed or not)', () => {
    const cases: [Parameters<typeof recordClosed>[1], string | undefined, Partial<GrantNotification>][] = [
      ['Expired', undefined, { event: 'expired', lagSeconds: 1.5 }],
      ['Revoked', 'alice', { event: 'revoked', by: 'alice' }],
      ['Deleted', undefined, { event: 'deleted', deletion: 'observed' }],
      ['DeletedNotObserved', undefined, { event: 'deleted', deletion: 'not-observed' }],
    ];
    const closeAt = new Date('2026-12-01T06:00:01.500Z');
    for (const [how, by, expected] of cases) {
      const closed = recordClosed(opened, how, closeAt, by);
      const ns = transitionNotifications(opened, closed, closeAt);
      assert.equal(ns.length, 1, how);
      for (const [key, value] of Object.entries(expected)) assert.deepEqual(ns[0]![key as keyof GrantNotification], value, `${how}: ${key}`);
      assert.equal(ns[0]!.at, '2026-12-01T06:00:01Z', `${how}: at is the close time`);
    }
  });

  it('a record opened and closed in one write (opened late at its close) gives both, in order', () => {
    const closed = recordClosed(recordOpened(grantPolicy(), T0, CONFIG, { late: true }), 'Deleted', at(5));
    assert.deepEqual(transitionNotifications(undefined, closed, at(5)).map((n) => n.event), ['opened', 'deleted']);
  });

  it('a write that moves nothing notifiable gives nothing; a closed record closed again gives nothing', () => {
    const closed = recordClosed(opened, 'Expired', at(7200));
    assert.deepEqual(transitionNotifications(opened, opened, T0), []);
    assert.deepEqual(transitionNotifications(closed, recordClosed(closed, 'Deleted', at(7300)), at(7300)), []);
  });
});

describe('notification formats', () => {
  const n = expiringNotification(
    { namespace: 'payments', name: 'db-debug', uid: UID, ticket: 'INC-1', requester: '<!channel> mallory', access: 'ingress from 198.51.100.0/24 on TCP/5432' },
    new Date('2026-12-01T06:00:00Z'),
    new Date('2026-12-01T05:50:00Z'),
  );

  it('json is the documented GrantNotification object', () => {
    const body = JSON.parse(formatNotification(n, 'json')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['access', 'at', 'event', 'expiresAt', 'namespace', 'policy', 'requester', 'ticket', 'uid', 'version']);
    assert.equal(body['event'], 'expiring');
    assert.equal(body['version'], 1);
    assert.equal(body['expiresAt'], '2026-12-01T06:00:00Z');
  });

  it('slack is an incoming-webhook message: text plus one mrkdwn section with the same text', () => {
    const body = JSON.parse(formatNotification(n, 'slack')) as { text: string; blocks: { type: string; text: { type: string; text: string } }[] };
    assert.match(body.text, /^\*Temporary network access expires soon\*: networkpolicy `payments\/db-debug`/);
    assert.match(body.text, /Ticket: INC-1/);
    assert.match(body.text, /Expires at: 2026-12-01T06:00:00Z/);
    assert.equal(body.blocks.length, 1);
    assert.equal(body.blocks[0]!.type, 'section');
    assert.equal(body.blocks[0]!.text.type, 'mrkdwn');
    assert.equal(body.blocks[0]!.text.text, body.text);
  });

  it('slack escapes user-written text: an annotation cannot mention @channel or forge a link', () => {
    const { text } = slackMessage({ ...n, ticket: '<https://evil.example|INC-1>', requester: '<!channel> & co' });
    assert.doesNotMatch(text, /<!channel>/);
    assert.doesNotMatch(text, /<https:/);
    assert.match(text, /&lt;!channel&gt; &amp; co/);
  });

  it('every event has a slack headline', () => {
    for (const event of ['opened', 'changed', 'expiring', 'expired', 'revoked', 'deleted'] as const) {
      assert.match(slackMessage({ ...n, event }).text, /^\*Temporary network access [a-z ]+\*/);
    }
  });
});

describe('backoffDelay', () => {
  it('doubles per attempt, is capped, and jitter keeps it in [½, 1] of that', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 5_000 }), fc.integer({ min: 1, max: 60_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, base, max, random) => {
        const ceiling = Math.min(max, base * 2 ** (attempt - 1));
        const delay = backoffDelay(attempt, base, max, random);
        assert.ok(delay >= Math.floor(ceiling / 2) && delay <= ceiling, `${delay} not in [${ceiling / 2}, ${ceiling}]`);
      }),
    );
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, 1_000, 10_000, 0.999999)), [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
  });
});
