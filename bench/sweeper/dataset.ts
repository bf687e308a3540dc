/** The sweeper benchmark's data set, shared by the fake API server and the checks on each pass. */

/** Every hundredth grant has expired (and is reported, in dry-run, with an audit line). */
export const EXPIRED_EVERY = 100;
export const NAMESPACES = 100;
export const PAGE_SIZE = 500;
export const LABEL_SELECTOR = 'netpol-guard.io/temporary=true';

export function expiredCount(count: number): number {
  return Math.floor(count / EXPIRED_EVERY);
}

export function isExpired(index: number): boolean {
  return index % EXPIRED_EVERY === EXPIRED_EVERY - 1;
}
