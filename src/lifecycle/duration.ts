/**
 * TTL strings: one or more `<int><unit>` groups with units s, m, h, d, e.g. `90m`, `2h`, `1h30m`,
 * `1d`. Deliberately stricter than Go's time.ParseDuration: no fractions, no signs, no spaces, no
 * sub-second units, because a TTL is typed by a person at 2am and must mean one thing only.
 */
const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION_SHAPE = /^(?:[0-9]+[smhd])+$/;

/** Longest duration we accept (about 100 years); keeps arithmetic far from Number overflow. */
const MAX_DURATION_MS = 100 * 365 * UNIT_MS.d!;

export type DurationParse = { ok: true; ms: number } | { ok: false; error: string };

export function parseDuration(text: string): DurationParse {
  const value = text.trim();
  if (value === '') return { ok: false, error: 'empty duration' };
  if (!DURATION_SHAPE.test(value)) {
    return {
      ok: false,
      error: `"${truncate(value)}" is not a duration; use <number><unit> groups with units s, m, h, d, e.g. 90m, 2h, 1h30m`,
    };
  }
  // The shape check above guarantees the text is nothing but <digits><unit> groups, so one
  // left-to-right scan reads them (cheaper than matchAll, which runs on every admission request).
  let total = 0;
  let seenUnits = '';
  let groupStart = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value[i]!;
    const unitMs = UNIT_MS[unit];
    if (unitMs === undefined) continue; // a digit of the current group
    if (seenUnits.includes(unit)) return { ok: false, error: `"${truncate(value)}" repeats the unit "${unit}"` };
    seenUnits += unit;
    total += Number(value.slice(groupStart, i)) * unitMs;
    if (total > MAX_DURATION_MS) return { ok: false, error: `"${truncate(value)}" is longer than 100 years` };
    groupStart = i + 1;
  }
  if (total <= 0) return { ok: false, error: `"${truncate(value)}" is zero; a TTL must be positive` };
  return { ok: true, ms: total };
}

/** Human form of a millisecond duration, largest units first: 93_600_000 → `1d2h`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return '0s';
  let rest = Math.floor(ms / 1_000);
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      parts.push(`${n}${unit}`);
      rest -= n * size;
    }
  }
  return parts.join('');
}

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
