import { formatDuration } from '../lifecycle/duration.js';

/**
 * A distance in time as a person reads it: `2h`, `1h5m`, `4m30s`, `42s`. From ten minutes on the
 * seconds are rounded away: a grant made a moment ago for 1h reads `1h`, not `59m59s` (stored
 * times are whole seconds, so "now" is up to a second off from the instant they were counted from).
 */
export function formatSpan(ms: number): string {
  const abs = Math.abs(ms);
  const unit = abs >= 600_000 ? 60_000 : 1_000;
  const rounded = Math.round(abs / unit) * unit;
  return rounded < 1_000 ? '0s' : formatDuration(rounded);
}

/** `in 2h` for a future expiry; `EXPIRED 3m ago` once it has passed (the sweeper deletes at <= now). */
export function formatExpiresIn(expiresAt: Date, now: Date): string {
  const delta = expiresAt.getTime() - now.getTime();
  if (delta > 0) return `in ${formatSpan(Math.max(delta, 1_000))}`;
  if (delta > -1_000) return 'EXPIRED just now';
  return `EXPIRED ${formatSpan(delta)} ago`;
}
