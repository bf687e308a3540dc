/**
 * RFC 3339 timestamps for `expires-at` and `granted-at`. `Date.parse` alone accepts far too much
 * (`"2026"`, `"Nov 1"`), so the shape is checked first; the stored form is always UTC, second
 * precision, `Z` suffix, which is also what Kubernetes uses in its own timestamps.
 */
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

export type TimestampParse = { ok: true; date: Date } | { ok: false; error: string };

export function parseTimestamp(text: string): TimestampParse {
  const value = text.trim();
  const m = RFC3339.exec(value);
  if (!m) {
    return { ok: false, error: `"${truncate(value)}" is not an RFC 3339 timestamp like 2026-11-23T18:00:00Z` };
  }
  const [, y, mo, d, h, mi, s] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(Number(y), month)) {
    return { ok: false, error: `"${truncate(value)}" has no such calendar date` };
  }
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    return { ok: false, error: `"${truncate(value)}" has an out-of-range time of day` };
  }
  const ms = Date.parse(value.toUpperCase());
  if (Number.isNaN(ms)) return { ok: false, error: `"${truncate(value)}" is not a valid timestamp` };
  return { ok: true, date: new Date(ms) };
}

/** `2026-11-23T18:00:00Z`: UTC, whole seconds (fractions truncated, never rounded up). */
export function formatTimestamp(date: Date): string {
  const ms = Math.floor(date.getTime() / 1_000) * 1_000;
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function daysInMonth(year: number, month: number): number {
  // Date.UTC maps years 0-99 to 1900-1999, which would make 0000-02-29 (a leap day) invalid.
  const date = new Date(0);
  date.setUTCFullYear(year, month, 0);
  return date.getUTCDate();
}

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
