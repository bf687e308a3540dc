/**
 * RFC 3339 timestamps for `expires-at` and `granted-at`. `Date.parse` alone accepts far too much
 * (`"2026"`, `"Nov 1"`), so the shape is checked first; the stored form is always UTC, second
 * precision, `Z` suffix, which is also what Kubernetes uses in its own timestamps.
 *
 * Both functions run on every admission request, so the common case avoids the slow general
 * paths (`Date.parse`, `toISOString`) while giving exactly their results.
 */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/;

export type TimestampParse = { ok: true; date: Date } | { ok: false; error: string };

export function parseTimestamp(text: string): TimestampParse {
  const value = text.trim();
  if (!RFC3339.test(value)) {
    return { ok: false, error: `"${truncate(value)}" is not an RFC 3339 timestamp like 2026-11-23T18:00:00Z` };
  }
  // The shape check fixes where every field is (YYYY-MM-DDTHH:MM:SS then fraction and zone), so
  // they are read in place rather than through capture groups.
  const year = digitsAt(value, 0, 4);
  const month = digitsAt(value, 5, 2);
  const day = digitsAt(value, 8, 2);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return { ok: false, error: `"${truncate(value)}" has no such calendar date` };
  }
  const hour = digitsAt(value, 11, 2);
  const minute = digitsAt(value, 14, 2);
  const second = digitsAt(value, 17, 2);
  if (hour > 23 || minute > 59 || second > 59) {
    return { ok: false, error: `"${truncate(value)}" has an out-of-range time of day` };
  }
  // The form this project writes (exactly `…:SSZ`: UTC, no fraction) is computed from its checked
  // fields: the same instant Date.parse gives, without its cost. Date.UTC reads years 0-99 as
  // 1900-1999, so those, offsets and fractions take the general path.
  if (value.length === CANONICAL_LENGTH && value.endsWith('Z') && year >= 100) {
    return { ok: true, date: new Date(Date.UTC(year, month - 1, day, hour, minute, second)) };
  }
  const ms = Date.parse(value.toUpperCase());
  if (Number.isNaN(ms)) return { ok: false, error: `"${truncate(value)}" is not a valid timestamp` };
  return { ok: true, date: new Date(ms) };
}

/** Length of `2026-11-23T18:00:00Z`. */
const CANONICAL_LENGTH = 20;

/** The decimal number written by `count` ASCII digits of `text` from `start` (already checked to be digits). */
function digitsAt(text: string, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) n = n * 10 + (text.charCodeAt(i) - 48);
  return n;
}

/** `2026-11-23T18:00:00Z`: UTC, whole seconds (fractions truncated, never rounded up). */
export function formatTimestamp(date: Date): string {
  const year = date.getUTCFullYear();
  // toISOString writes years outside 0000-9999 in its extended ±YYYYYY form (and throws on an
  // invalid date, where year is NaN); leave those to it so every date formats exactly as before.
  if (!(year >= 0 && year <= 9999)) {
    return new Date(Math.floor(date.getTime() / 1_000) * 1_000).toISOString().replace('.000Z', 'Z');
  }
  // Leaving out the milliseconds field is the truncation: every field is already rounded down.
  return (
    `${String(year).padStart(4, '0')}-${twoDigits(date.getUTCMonth() + 1)}-${twoDigits(date.getUTCDate())}` +
    `T${twoDigits(date.getUTCHours())}:${twoDigits(date.getUTCMinutes())}:${twoDigits(date.getUTCSeconds())}Z`
  );
}

function twoDigits(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Proleptic Gregorian, like Date: year 0 is a leap year. */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
