import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { WebhookTargetFile } from '../../../src/config/types.js';
import { expiringNotification, type GrantNotification } from '../../../src/controller/notification.js';
import { type DeliveryOutcome, NotificationQueue, type QueuedNotification, type SendOutcome } from '../../../src/controller/notificationQueue.js';
import { Notifier } from '../../../src/controller/notifier.js';
import { webhookSender } from '../../../src/controller/webhookTransport.js';
import { captureLogger, metricValue } from '../sweeper/support.js';
import { WebhookReceiver } from '../../helpers/webhookReceiver.js';

const SECRET = 'T000/B000/s3cr3t-t0ken';

function notification(policy = 'db', event: GrantNotification['event'] = 'expiring'): GrantNotification {
  return { ...expiringNotification({ namespace: 'payments', name: policy, uid: `uid-${policy}`, access: 'ingress' }, new Date('2030-01-01T00:10:00Z'), new Date('2030-01-01T00:00:00Z')), event };
}

const target = (overrides: Partial<WebhookTargetFile> = {}): WebhookTargetFile => ({ name: 'ops', urlFile: '/nonexistent', format: 'json', events: ['opened', 'changed', 'expiring', 'expired', 'revoked', 'deleted'], ...overrides });

/** A queue around a scripted send; records outcomes and the waits it asked for. */
function scriptedQueue(script: SendOutcome[] | ((n: number) => Promise<SendOutcome>), options: { capacity?: number; maxAttempts?: number } = {}) {
  const outcomes: { policy: string; outcome: DeliveryOutcome; attempts: number; reason?: string }[] = [];
  const delays: number[] = [];
  let calls = 0;
  const queue = new NotificationQueue({
    capacity: options.capacity ?? 10,
    maxAttempts: options.maxAttempts ?? 4,
    baseDelayMs: 100,
    maxDelayMs: 1_000,
    random: () => 0.5,
    sleep: async (ms) => {
      delays.push(ms);
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
    send: async () => {
      const n = calls++;
      if (typeof script === 'function') return script(n);
      return script[n] ?? { ok: true };
    },
    onOutcome: (item: QueuedNotification, outcome, detail) => outcomes.push({ policy: item.notification.policy, outcome, ...detail }),
  });
  return { queue, outcomes, delays, calls: () => calls };
}

describe('NotificationQueue', () => {
  it('5xx then success: retried with exponential, jittered waits, then sent', async () => {
    const fail: SendOutcome = { ok: false, retry: true, reason: 'HTTP 503' };
    const q = scriptedQueue([fail, fail, { ok: true }]);
    q.queue.enqueue({ target: target(), notification: notification() });
    await q.queue.idle();
    assert.deepEqual(q.outcomes, [{ policy: 'db', outcome: 'sent', attempts: 3 }]);
    assert.deepEqual(q.delays, [75, 150], 'base 100 then 200, each scaled by the jitter (0.5 → ¾)');
  });

  it('gives up after maxAttempts and reports failed with the last reason', async () => {
    const q = scriptedQueue(() => Promise.resolve({ ok: false, retry: true, reason: 'ECONNREFUSED' }), { maxAttempts: 3 });
    q.queue.enqueue({ target: target(), notification: notification() });
    await q.queue.idle();
    assert.deepEqual(q.outcomes, [{ policy: 'db', outcome: 'failed', attempts: 3, reason: 'ECONNREFUSED' }]);
    assert.equal(q.calls(), 3);
  });

  it('a non-retryable answer (4xx, TLS) fails at once', async () => {
    const q = scriptedQueue([{ ok: false, retry: false, reason: 'HTTP 404' }]);
    q.queue.enqueue({ target: target(), notification: notification() });
    await q.queue.idle();
    assert.deepEqual(q.outcomes, [{ policy: 'db', outcome: 'failed', attempts: 1, reason: 'HTTP 404' }]);
    assert.deepEqual(q.delays, []);
  });

  it('delivers in order, one at a time', async () => {
    const q = scriptedQueue([]);
    for (const p of ['a', 'b', 'c']) q.queue.enqueue({ target: target(), notification: notification(p) });
    await q.queue.idle();
    assert.deepEqual(q.outcomes.map((o) => o.policy), ['a', 'b', 'c']);
  });

  it('a full queue drops its oldest waiting notification and reports each drop', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const q = scriptedQueue(async () => {
      await gate;
      return { ok: true };
    }, { capacity: 2 });
    // 'a' is being sent (not waiting); b, c wait; d pushes b out, e pushes c out.
    for (const p of ['a', 'b', 'c', 'd', 'e']) q.queue.enqueue({ target: target(), notification: notification(p) });
    assert.equal(q.queue.depth, 2);
    release();
    await q.queue.idle();
    assert.deepEqual(q.outcomes.filter((o) => o.outcome === 'dropped').map((o) => [o.policy, o.reason]), [['b', 'queue full'], ['c', 'queue full']]);
    assert.deepEqual(q.outcomes.filter((o) => o.outcome === 'sent').map((o) => o.policy), ['a', 'd', 'e']);
  });

  it('close drops what waits and abandons a retry wait', async () => {
    const q = scriptedQueue(() => Promise.resolve({ ok: false, retry: true, reason: 'HTTP 500' }), { maxAttempts: 100 });
    q.queue.enqueue({ target: target(), notification: notification('a') });
    q.queue.enqueue({ target: target(), notification: notification('b') });
    await new Promise<void>((resolve) => setImmediate(resolve));
    await q.queue.close();
    assert.deepEqual(q.outcomes.map((o) => [o.policy, o.outcome]), [['a', 'dropped'], ['b', 'dropped']]);
    q.queue.enqueue({ target: target(), notification: notification('c') });
    assert.deepEqual(q.outcomes.at(-1), { policy: 'c', outcome: 'dropped', attempts: 0, reason: 'queue closed' });
  });
});

describe('NotificationQueue: closing during a send', () => {
  it('a request cut short by close is dropped, not failed', async () => {
    const outcomes: [string, DeliveryOutcome][] = [];
    const queue = new NotificationQueue({
      capacity: 10, maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 1, random: () => 0, sleep: async () => undefined,
      // Like webhookSender: an abort ends the request as a non-retryable 'stopped'.
      send: (_target, _n, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ ok: false, retry: false, reason: 'stopped' }), { once: true })),
      onOutcome: (item, outcome) => outcomes.push([item.notification.policy, outcome]),
    });
    queue.enqueue({ target: target(), notification: notification('in-flight') });
    await new Promise<void>((resolve) => setImmediate(resolve));
    await queue.close();
    assert.deepEqual(outcomes, [['in-flight', 'dropped']]);
  });
});

describe('webhookSender over HTTPS', () => {
  let receiver: WebhookReceiver;
  let dir: string;
  const never = new AbortController().signal;

  before(async () => {
    receiver = await WebhookReceiver.start();
    dir = mkdtempSync(join(tmpdir(), 'netpol-guard-webhook-'));
    writeFileSync(join(dir, 'url'), `${receiver.url(SECRET)}\n`);
    writeFileSync(join(dir, 'ca.crt'), receiver.caPem);
  });
  after(async () => {
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    receiver.requests.length = 0;
    receiver.script.length = 0;
    receiver.fallback = { status: 200 };
  });

  const withCa = (overrides: Partial<WebhookTargetFile> = {}): WebhookTargetFile => target({ urlFile: join(dir, 'url'), caFile: join(dir, 'ca.crt'), ...overrides });

  it('POSTs the JSON payload to the URL from urlFile, verifying the receiver against caFile', async () => {
    const outcome = await webhookSender()(withCa(), notification(), never);
    assert.deepEqual(outcome, { ok: true });
    assert.equal(receiver.requests.length, 1);
    assert.equal(receiver.requests[0]!.method, 'POST');
    assert.equal(receiver.requests[0]!.path, `/hooks/${SECRET}`);
    assert.equal(receiver.requests[0]!.headers['content-type'], 'application/json');
    assert.deepEqual(receiver.bodies()[0], notification());
  });

  it('the slack format sends text and blocks', async () => {
    await webhookSender()(withCa({ format: 'slack' }), notification(), never);
    const body = receiver.bodies()[0] as { text: string; blocks: unknown[] };
    assert.match(body.text, /expires soon/);
    assert.equal(body.blocks.length, 1);
  });

  it('TLS verification is on: a receiver whose CA is not given (self-signed to us) fails, not retried, never reached', async () => {
    const outcome = await webhookSender()(target({ urlFile: join(dir, 'url') }), notification(), never);
    assert.equal(outcome.ok, false);
    assert.ok(!outcome.ok && !outcome.retry, 'a certificate problem is not retried');
    assert.match(!outcome.ok ? outcome.reason : '', /^TLS verification failed: [A-Z_]+$/);
    assert.equal(receiver.requests.length, 0, 'no request body went to an unverified receiver');
  });

  it('a receiver that never answers times out (retryable)', async () => {
    receiver.fallback = 'hang';
    const started = Date.now();
    const outcome = await webhookSender({ timeoutMs: 200 })(withCa(), notification(), never);
    assert.deepEqual(outcome, { ok: false, retry: true, reason: 'timed out after 200 ms' });
    assert.ok(Date.now() - started < 5_000);
  });

  it('5xx, 429 and 408 are retryable; other 4xx and 3xx are not (no redirect is followed)', async () => {
    for (const [status, retry] of [[500, true], [503, true], [429, true], [408, true], [400, false], [404, false], [301, false]] as const) {
      receiver.script.push({ status });
      assert.deepEqual(await webhookSender()(withCa(), notification(), never), { ok: false, retry, reason: `HTTP ${status}` }, String(status));
    }
  });

  it('a dead receiver (nothing listening) is a retryable connection error', async () => {
    const port = await closedPort();
    writeFileSync(join(dir, 'dead'), `https://127.0.0.1:${port}/hooks/${SECRET}`);
    const outcome = await webhookSender()(withCa({ urlFile: join(dir, 'dead') }), notification(), never);
    assert.deepEqual(outcome, { ok: false, retry: true, reason: 'ECONNREFUSED' });
  });

  it('refuses a plain-http URL and says why without quoting it', async () => {
    writeFileSync(join(dir, 'plain'), `http://127.0.0.1:1/hooks/${SECRET}`);
    assert.deepEqual(await webhookSender()(withCa({ urlFile: join(dir, 'plain') }), notification(), never), { ok: false, retry: false, reason: 'urlFile does not hold an https URL' });
    writeFileSync(join(dir, 'garbage'), `not a url ${SECRET}`);
    assert.deepEqual(await webhookSender()(withCa({ urlFile: join(dir, 'garbage') }), notification(), never), { ok: false, retry: false, reason: 'urlFile does not hold a URL' });
    assert.deepEqual(await webhookSender()(withCa({ urlFile: join(dir, 'missing') }), notification(), never), { ok: false, retry: true, reason: 'cannot read urlFile: ENOENT' });
  });

  it('reads urlFile at every send: a rotated Secret applies to the next notification', async () => {
    const other = await WebhookReceiver.start();
    try {
      writeFileSync(join(dir, 'rotating'), receiver.url());
      const rotating = target({ urlFile: join(dir, 'rotating'), caFile: join(dir, 'both.crt') });
      writeFileSync(join(dir, 'both.crt'), `${receiver.caPem}\n${other.caPem}`);
      await webhookSender()(rotating, notification('first'), never);
      writeFileSync(join(dir, 'rotating'), other.url());
      await webhookSender()(rotating, notification('second'), never);
      assert.deepEqual(receiver.bodies().map((b) => (b as GrantNotification).policy), ['first']);
      assert.deepEqual(other.bodies().map((b) => (b as GrantNotification).policy), ['second']);
    } finally {
      await other.stop();
    }
  });
});

describe('Notifier', () => {
  let receiver: WebhookReceiver;
  let dir: string;

  before(async () => {
    receiver = await WebhookReceiver.start();
    dir = mkdtempSync(join(tmpdir(), 'netpol-guard-notifier-'));
    writeFileSync(join(dir, 'url'), receiver.url(SECRET));
    writeFileSync(join(dir, 'ca.crt'), receiver.caPem);
  });
  after(async () => {
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends each event to the targets that asked for it, and counts by target, event and outcome', async () => {
    receiver.requests.length = 0;
    const registry = new Registry();
    const { logger } = captureLogger();
    const targets = [
      target({ name: 'all', urlFile: join(dir, 'url'), caFile: join(dir, 'ca.crt') }),
      target({ name: 'chat', urlFile: join(dir, 'url'), caFile: join(dir, 'ca.crt'), format: 'slack', events: ['expired'] }),
    ];
    const notifier = new Notifier({ targets: () => targets, registry, logger, sleep: async () => undefined });
    notifier.notify(notification('a', 'opened'));
    notifier.notify(notification('a', 'expired'));
    await notifier.idle();
    assert.equal(receiver.requests.length, 3);
    assert.equal(await metricValue(registry, 'netpol_guard_notifications_total', { target: 'all', event: 'opened', outcome: 'sent' }), 1);
    assert.equal(await metricValue(registry, 'netpol_guard_notifications_total', { target: 'all', event: 'expired', outcome: 'sent' }), 1);
    assert.equal(await metricValue(registry, 'netpol_guard_notifications_total', { target: 'chat', event: 'expired', outcome: 'sent' }), 1);
    assert.equal(await metricValue(registry, 'netpol_guard_notifications_total', { target: 'chat', event: 'opened', outcome: 'sent' }), undefined);
    assert.equal(await metricValue(registry, 'netpol_guard_notification_queue_depth', { target: 'all' }), 0);
    await notifier.close();
  });

  it('a target removed by a reload gets nothing more; one added gets what comes next', async () => {
    receiver.requests.length = 0;
    const { logger } = captureLogger();
    let targets = [target({ name: 'old', urlFile: join(dir, 'url'), caFile: join(dir, 'ca.crt') })];
    const notifier = new Notifier({ targets: () => targets, registry: new Registry(), logger, sleep: async () => undefined });
    notifier.notify(notification('before'));
    await notifier.idle();
    targets = [target({ name: 'new', urlFile: join(dir, 'url'), caFile: join(dir, 'ca.crt'), format: 'slack' })];
    await notifier.reconcileTargets();
    notifier.notify(notification('after'));
    await notifier.idle();
    assert.equal(receiver.requests.length, 2);
    assert.equal((receiver.bodies()[0] as GrantNotification).policy, 'before');
    assert.match((receiver.bodies()[1] as { text: string }).text, /after/);
    await notifier.close();
  });

  it('the URL never appears in a log line, whatever goes wrong', async () => {
    const selfSigned = await WebhookReceiver.start();
    const port = await closedPort();
    const files = {
      tls: selfSigned.url(SECRET),
      dead: `https://127.0.0.1:${port}/hooks/${SECRET}`,
      plain: `http://user:pass@127.0.0.1:${port}/hooks/${SECRET}`,
      garbage: `::${SECRET}::`,
      hang: receiver.url(SECRET),
    };
    for (const [name, url] of Object.entries(files)) writeFileSync(join(dir, name), url);
    receiver.fallback = 'hang';
    try {
      const { logger, lines } = captureLogger();
      const targets = Object.keys(files).map((name) => target({ name, urlFile: join(dir, name), ...(name === 'hang' ? { caFile: join(dir, 'ca.crt') } : {}) }));
      targets.push(target({ name: 'missing', urlFile: join(dir, `missing-${SECRET.replace(/\//g, '-')}`) }));
      const notifier = new Notifier({
        targets: () => targets, registry: new Registry(), logger, maxAttempts: 2,
        send: webhookSender({ timeoutMs: 150 }), sleep: async () => undefined,
      });
      notifier.notify(notification());
      await notifier.idle();
      const text = lines.map((l) => JSON.stringify(l)).join('\n');
      const failed = lines.filter((l) => l.msg === 'notification failed').map((l) => l['target']).sort();
      assert.deepEqual(failed, ['dead', 'garbage', 'hang', 'missing', 'plain', 'tls']);
      for (const secret of [SECRET, 's3cr3t', ...Object.values(files), 'user:pass']) {
        assert.ok(!text.includes(secret), `a log line quotes "${secret}":\n${text}`);
      }
      await notifier.close();
    } finally {
      receiver.fallback = { status: 200 };
      await selfSigned.stop();
    }
  });
});

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
