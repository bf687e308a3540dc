import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatDuration, parseDuration } from '../../../src/lifecycle/duration.js';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('parseDuration', () => {
  const good: [string, number][] = [
    ['1h30m', H + 30 * M],
    ['90m', 90 * M],
    ['2h', 2 * H],
    ['1d', D],
    ['45s', 45 * S],
    ['1d2h3m4s', D + 2 * H + 3 * M + 4 * S],
    ['30m1h', H + 30 * M],
    ['0h30m', 30 * M],
    ['  2h ', 2 * H],
    ['36500d', 36_500 * D],
  ];
  for (const [text, ms] of good) {
    it(`accepts ${JSON.stringify(text)}`, () => assert.deepEqual(parseDuration(text), { ok: true, ms }));
  }

  const bad: [string, RegExp][] = [
    ['0s', /is zero/],
    ['0h0m', /is zero/],
    ['1.5h', /is not a duration/],
    ['1h1h', /repeats the unit "h"/],
    ['1m30s2m', /repeats the unit "m"/],
    ['', /empty duration/],
    ['   ', /empty duration/],
    ['2', /is not a duration/],
    ['h', /is not a duration/],
    ['-1h', /is not a duration/],
    ['+1h', /is not a duration/],
    ['1H', /is not a duration/],
    ['1 h', /is not a duration/],
    ['1h 30m', /is not a duration/],
    ['100ms', /is not a duration/],
    ['1w', /is not a duration/],
    ['36501d', /longer than 100 years/],
    ['99999999999999999999999h', /longer than 100 years/],
  ];
  for (const [text, error] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      const parsed = parseDuration(text);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.error, error);
    });
  }

  it('truncates a very long input in its error', () => {
    const parsed = parseDuration('x'.repeat(500));
    assert.equal(parsed.ok, false);
    if (!parsed.ok) assert.ok(parsed.error.length < 200, parsed.error);
  });
});

describe('formatDuration', () => {
  const cases: [number, string][] = [
    [93_600_000, '1d2h'],
    [H + 30 * M, '1h30m'],
    [D + S, '1d1s'],
    [59 * S, '59s'],
    [0, '0s'],
    [999, '0s'],
    [1_999, '1s'],
  ];
  for (const [ms, text] of cases) it(`${ms} ms → ${text}`, () => assert.equal(formatDuration(ms), text));

  it('round-trips through parseDuration for whole seconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 36_500 * 86_400 }), (seconds) => {
        const text = formatDuration(seconds * S);
        assert.deepEqual(parseDuration(text), { ok: true, ms: seconds * S }, text);
      }),
      { numRuns: 500 },
    );
  });
});
