import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createLimiter } from '../../../src/sweeper/limiter.js';
import { GrantSchedule, type ScheduledGrant } from '../../../src/sweeper/schedule.js';

const grant = (uid: string, dueMs: number): ScheduledGrant => ({
  namespace: 'ns',
  name: `n-${uid}`,
  uid,
  resourceVersion: '1',
  expiresAtMs: dueMs,
  dueMs,
});

describe('GrantSchedule', () => {
  it('hands out due grants earliest first and leaves later ones', () => {
    const s = new GrantSchedule();
    s.upsert(grant('c', 30));
    s.upsert(grant('a', 10));
    s.upsert(grant('b', 20));
    assert.equal(s.nextDueMs(), 10);
    assert.deepEqual(s.takeDue(20).map((g) => g.uid), ['a', 'b']);
    assert.equal(s.size, 1);
    assert.equal(s.nextDueMs(), 30);
  });

  it('an update moves a grant; a removal drops it', () => {
    const s = new GrantSchedule();
    s.upsert(grant('a', 10));
    s.upsert(grant('b', 20));
    s.upsert(grant('a', 50));
    s.remove('b');
    assert.equal(s.nextDueMs(), 50);
    assert.deepEqual(s.takeDue(40), []);
    assert.deepEqual(s.takeDue(50).map((g) => g.uid), ['a']);
    assert.equal(s.nextDueMs(), undefined);
  });

  it('sweepUnseen forgets grants a relist did not see', () => {
    const s = new GrantSchedule();
    s.upsert(grant('a', 10), 1);
    s.upsert(grant('b', 20), 1);
    s.upsert(grant('a', 10), 2);
    assert.deepEqual(s.sweepUnseen(2).map((g) => g.uid), ['b']);
    assert.equal(s.size, 1);
    assert.equal(s.has('a'), true);
  });

  it('property: behaves like a sorted map under random upserts, removes and takes', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('upsert' as const), uid: fc.integer({ min: 0, max: 20 }), due: fc.integer({ min: 0, max: 1_000 }) }),
      fc.record({ kind: fc.constant('remove' as const), uid: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ kind: fc.constant('take' as const), now: fc.integer({ min: 0, max: 1_000 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const s = new GrantSchedule();
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'upsert') {
            s.upsert(grant(String(o.uid), o.due));
            model.set(String(o.uid), o.due);
          } else if (o.kind === 'remove') {
            assert.equal(s.remove(String(o.uid)), model.delete(String(o.uid)));
          } else {
            const taken = s.takeDue(o.now);
            const expected = [...model].filter(([, due]) => due <= o.now).sort((a, b) => a[1] - b[1]);
            assert.deepEqual(taken.map((g) => g.dueMs), expected.map(([, due]) => due));
            assert.deepEqual(new Set(taken.map((g) => g.uid)), new Set(expected.map(([uid]) => uid)));
            for (const [uid] of expected) model.delete(uid);
          }
          assert.equal(s.size, model.size);
          const min = model.size === 0 ? undefined : Math.min(...model.values());
          assert.equal(s.nextDueMs(), min);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('createLimiter', () => {
  it('never runs more than its concurrency, and runs everything', async () => {
    const limiter = createLimiter(3);
    let active = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limiter.run(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((resolve) => setImmediate(resolve));
          active--;
          return i;
        }),
      ),
    );
    assert.equal(peak, 3);
    assert.deepEqual(results, Array.from({ length: 20 }, (_, i) => i));
    await limiter.idle();
    assert.equal(limiter.active, 0);
  });

  it('a failing task releases its slot and rejects only its own promise', async () => {
    const limiter = createLimiter(1);
    const failed = limiter.run(async () => {
      throw new Error('boom');
    });
    const next = limiter.run(async () => 'next');
    await assert.rejects(failed, /boom/);
    assert.equal(await next, 'next');
  });

  it('rejects a nonsensical concurrency', () => {
    assert.throws(() => createLimiter(0), RangeError);
    assert.throws(() => createLimiter(1.5), RangeError);
  });
});
