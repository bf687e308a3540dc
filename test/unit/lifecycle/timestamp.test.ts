import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatTimestamp, parseTimestamp } from '../../../src/lifecycle/timestamp.js';

function parsedIso(text: string): string {
  const parsed = parseTimestamp(text);
  if (!parsed.ok) assert.fail(`${text}: ${parsed.error}`);
  return parsed.date.toISOString();
}

describe('parseTimestamp', () => {
  const good: [string, string][] = [
    ['2026-11-23T18:00:00Z', '2026-11-23T18:00:00.000Z'],
    ['2026-11-23t18:00:00z', '2026-11-23T18:00:00.000Z'],
    ['2026-11-23T20:00:00+02:00', '2026-11-23T18:00:00.000Z'],
    ['2026-11-23T12:30:00-05:30', '2026-11-23T18:00:00.000Z'],
    ['2026-11-24T01:00:00+07:00', '2026-11-23T18:00:00.000Z'],
    ['2026-11-23T18:00:00.123456789Z', '2026-11-23T18:00:00.123Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000Z'],
    [' 2026-11-23T18:00:00Z ', '2026-11-23T18:00:00.000Z'],
  ];
  for (const [text, iso] of good) it(`accepts ${JSON.stringify(text)}`, () => assert.equal(parsedIso(text), iso));

  const bad: [string, RegExp][] = [
    ['2026-02-30T00:00:00Z', /no such calendar date/],
    ['2026-02-29T00:00:00Z', /no such calendar date/],
    ['1900-02-29T00:00:00Z', /no such calendar date/],
    ['2026-04-31T00:00:00Z', /no such calendar date/],
    ['2026-13-01T00:00:00Z', /no such calendar date/],
    ['2026-00-10T00:00:00Z', /no such calendar date/],
    ['2026-11-00T00:00:00Z', /no such calendar date/],
    ['2026-11-23T24:00:00Z', /out-of-range time/],
    ['2026-11-23T23:60:00Z', /out-of-range time/],
    ['2026-11-23T23:59:60Z', /out-of-range time/],
    ['2026-11-23T18:00:00', /not an RFC 3339 timestamp/],
    ['2026-11-23', /not an RFC 3339 timestamp/],
    ['2026-11-23 18:00:00Z', /not an RFC 3339 timestamp/],
    ['2026', /not an RFC 3339 timestamp/],
    ['Nov 23 2026', /not an RFC 3339 timestamp/],
    ['1795370400', /not an RFC 3339 timestamp/],
    ['2026-11-23T18:00:00+0200', /not an RFC 3339 timestamp/],
    ['2026-11-23T18:00:00+24:00', /not a valid timestamp/],
    ['', /not an RFC 3339 timestamp/],
  ];
  for (const [text, error] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      const parsed = parseTimestamp(text);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.error, error);
    });
  }

  it('accepts exactly the real calendar dates (proleptic Gregorian, years 0000-9999)', () => {
    const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    const monthDays = (y: number, m: number): number => [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
    const pad = (n: number, width: number): string => String(n).padStart(width, '0');
    const years = fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(0, 4, 100, 400, 1900, 2000, 2100));
    fc.assert(
      fc.property(years, fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), (y, m, d) => {
        const text = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T00:00:00Z`;
        const parsed = parseTimestamp(text);
        assert.equal(parsed.ok, d <= monthDays(y, m), text);
        if (parsed.ok) {
          assert.equal(parsed.date.getUTCFullYear(), y);
          assert.equal(parsed.date.getUTCMonth() + 1, m);
          assert.equal(parsed.date.getUTCDate(), d);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('leap day of year 0000 is a real date', () => assert.equal(parsedIso('0000-02-29T00:00:00Z'), '0000-02-29T00:00:00.000Z'));
});

describe('formatTimestamp', () => {
  it('writes UTC with a Z and whole seconds, truncating fractions', () => {
    assert.equal(formatTimestamp(new Date('2026-11-23T18:00:00.999Z')), '2026-11-23T18:00:00Z');
    assert.equal(formatTimestamp(new Date('2026-11-23T18:00:00Z')), '2026-11-23T18:00:00Z');
    assert.equal(formatTimestamp(new Date('1969-12-31T23:59:59.500Z')), '1969-12-31T23:59:59Z');
  });

  it('round-trips through parseTimestamp', () => {
    const dates = fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59) }).map((ms) => new Date(ms));
    fc.assert(
      fc.property(dates, (date) => {
        const text = formatTimestamp(date);
        assert.match(text, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
        const parsed = parseTimestamp(text);
        assert.ok(parsed.ok, text);
        assert.equal(parsed.date.getTime(), Math.floor(date.getTime() / 1000) * 1000);
      }),
      { numRuns: 500 },
    );
  });
});
