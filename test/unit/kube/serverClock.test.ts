import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ServerClock } from '../../../src/kube/serverClock.js';

/** The Date header a server whose clock reads `serverMs` would send (whole seconds). */
const dateHeader = (serverMs: number): string => new Date(serverMs).toUTCString();

describe('ServerClock', () => {
  it('is the local clock until a response has been seen', () => {
    const clock = new ServerClock({ localNow: () => 1_000_000 });
    assert.equal(clock.offsetMs(), undefined);
    assert.equal(clock.now().getTime(), 1_000_000);
  });

  it('ignores absent and unparseable Date headers', () => {
    const clock = new ServerClock({ localNow: () => 1_000_000 });
    clock.observeDateHeader(undefined);
    clock.observeDateHeader('not a date');
    assert.equal(clock.offsetMs(), undefined);
  });

  it('follows a server 10 minutes ahead and one 10 minutes behind', () => {
    const local = Date.parse('2030-01-01T12:00:00Z');
    for (const offset of [600_000, -600_000]) {
      const clock = new ServerClock({ localNow: () => local });
      clock.observeDateHeader(dateHeader(local + offset));
      assert.equal(clock.offsetMs(), offset);
      assert.equal(clock.now().getTime(), local + offset);
    }
  });

  it('rounds a sub-second server time down, never up (the estimate is a lower bound)', () => {
    const local = Date.parse('2030-01-01T12:00:00Z');
    const clock = new ServerClock({ localNow: () => local });
    clock.observeDateHeader(dateHeader(local + 5_999));
    assert.equal(clock.offsetMs(), 5_000);
  });

  it('takes the median of recent samples, so one stray clock (a proxy) does not move it', () => {
    let local = Date.parse('2030-01-01T12:00:00Z');
    const clock = new ServerClock({ localNow: () => local });
    for (const offset of [60_000, 60_000, 3_600_000, 60_000, -3_600_000]) {
      clock.observeDateHeader(dateHeader(local + offset));
      local += 1_000;
    }
    assert.equal(clock.offsetMs(), 60_000);
  });

  it('forgets samples older than maxSampleAgeMs, so a stepped local clock is followed', () => {
    let local = Date.parse('2030-01-01T12:00:00Z');
    const clock = new ServerClock({ localNow: () => local, maxSampleAgeMs: 60_000 });
    clock.observeDateHeader(dateHeader(local + 600_000));
    local += 61_000;
    assert.equal(clock.offsetMs(), undefined);
    clock.observeDateHeader(dateHeader(local));
    assert.equal(clock.offsetMs(), 0);
  });

  it('drops samples from the local future (the local clock was stepped back)', () => {
    let local = Date.parse('2030-01-01T12:00:00Z');
    const clock = new ServerClock({ localNow: () => local });
    clock.observeDateHeader(dateHeader(local));
    local -= 3_600_000;
    assert.equal(clock.offsetMs(), undefined);
  });

  it('never runs ahead of the true server time, and lags it by at most 1 s plus the response delay', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -86_400_000, max: 86_400_000 }),
        fc.array(fc.record({ gapMs: fc.integer({ min: 0, max: 30_000 }), delayMs: fc.integer({ min: 0, max: 2_000 }) }), { minLength: 1, maxLength: 20 }),
        (trueOffsetMs, responses) => {
          let local = Date.parse('2030-01-01T12:00:00Z');
          const clock = new ServerClock({ localNow: () => local });
          let maxDelay = 0;
          for (const { gapMs, delayMs } of responses) {
            local += gapMs;
            const stamped = local + trueOffsetMs; // the server writes Date ...
            local += delayMs; // ... and the response arrives delayMs later
            maxDelay = Math.max(maxDelay, delayMs);
            clock.observeDateHeader(dateHeader(stamped));
          }
          const estimate = clock.now().getTime();
          const truth = local + trueOffsetMs;
          return estimate <= truth && truth - estimate < 1_000 + maxDelay;
        },
      ),
    );
  });
});
