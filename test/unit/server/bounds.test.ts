import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectionsCheckingIntervalMs, DEFAULT_SERVER_BOUNDS, serverBoundsProblems } from '../../../src/server/bounds.js';
import { Gate } from '../../../src/server/largeBodies.js';

describe('server bounds', () => {
  it('defaults fit the API server as the only client', () => {
    assert.deepEqual(serverBoundsProblems({ ...DEFAULT_SERVER_BOUNDS }), []);
    // The API server waits at most 30 s for a webhook; a request may never take longer than that.
    assert.ok(DEFAULT_SERVER_BOUNDS.requestTimeoutMs <= 30_000 && DEFAULT_SERVER_BOUNDS.headersTimeoutMs <= DEFAULT_SERVER_BOUNDS.requestTimeoutMs);
    // Go's HTTP client keeps idle connections 90 s; the server must outlast it (see bounds.ts).
    assert.ok(DEFAULT_SERVER_BOUNDS.keepAliveTimeoutMs > 90_000);
    assert.ok(DEFAULT_SERVER_BOUNDS.tlsHandshakeTimeoutMs <= 10_000);
    assert.ok(DEFAULT_SERVER_BOUNDS.maxConnections > 0);
  });

  it('names every unusable bound', () => {
    const problems = serverBoundsProblems({ headersTimeoutMs: 0, requestTimeoutMs: -1, keepAliveTimeoutMs: 1.5, tlsHandshakeTimeoutMs: NaN, maxConnections: 0, largeBodyBytes: -1, largeBodySlots: 0 });
    for (const key of ['headersTimeoutMs', 'requestTimeoutMs', 'keepAliveTimeoutMs', 'tlsHandshakeTimeoutMs', 'maxConnections', 'largeBodyBytes', 'largeBodySlots']) {
      assert.ok(problems.some((p) => p.startsWith(`${key}: `)), `${key} in ${problems.join('; ')}`);
    }
    assert.deepEqual(serverBoundsProblems({ ...DEFAULT_SERVER_BOUNDS, headersTimeoutMs: 20_000 }), [
      'headersTimeoutMs (20000) must not be longer than requestTimeoutMs (10000)',
    ]);
  });

  it('checks the timeouts often enough that a stalled request outlives its bound by at most a quarter of it', () => {
    assert.equal(connectionsCheckingIntervalMs(DEFAULT_SERVER_BOUNDS), 1_000);
    assert.equal(connectionsCheckingIntervalMs({ headersTimeoutMs: 600, requestTimeoutMs: 1_000 }), 150);
    assert.equal(connectionsCheckingIntervalMs({ headersTimeoutMs: 1, requestTimeoutMs: 1 }), 10);
  });
});

describe('Gate (large bodies, a few at a time)', () => {
  it('admits up to its slots, queues the rest in order, and lets a waiter leave the queue', async () => {
    const gate = new Gate(2);
    const order: string[] = [];
    const a = gate.enter();
    const b = gate.enter();
    const c = gate.enter();
    const d = gate.enter();
    for (const [name, t] of [['a', a], ['b', b], ['c', c], ['d', d]] as const) void t.admitted.then(() => order.push(name));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['a', 'b']);
    assert.equal(gate.inUse, 2);
    assert.equal(gate.waiting, 2);
    c.leave(); // its connection closed while it waited
    a.leave();
    a.leave(); // idempotent: must not free a second slot
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['a', 'b', 'd'], 'c left the queue, so d got the freed slot');
    assert.equal(gate.inUse, 2);
    b.leave();
    d.leave();
    assert.equal(gate.inUse, 0);
    assert.equal(gate.waiting, 0);
  });

  it('refuses a gate without slots', () => {
    assert.throws(() => new Gate(0), /slots must be a positive whole number/);
  });
});
