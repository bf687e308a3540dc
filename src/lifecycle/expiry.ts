import type { GrantAnnotations } from './annotations.js';

/**
 * Where a grant's expiry comes from, decided the same way by the validator, the mutator and the
 * CLI: an explicit expires-at wins over a ttl; a ttl counts from `now`; the configured defaultTTL
 * applies only when neither is written.
 */
export type ExpirySource =
  | { kind: 'expires-at'; at: Date }
  | { kind: 'ttl'; at: Date; ttlMs: number }
  | { kind: 'default-ttl'; at: Date; ttlMs: number }
  | { kind: 'none' }
  | { kind: 'invalid'; field: 'ttl' | 'expires-at'; raw: string; error: string };

export function resolveExpiry(grant: GrantAnnotations, defaultTTLms: number | undefined, now: Date): ExpirySource {
  if (grant.expiresAt.state === 'invalid') {
    return { kind: 'invalid', field: 'expires-at', raw: grant.expiresAt.raw, error: grant.expiresAt.error };
  }
  if (grant.expiresAt.state === 'valid') return { kind: 'expires-at', at: grant.expiresAt.value };
  if (grant.ttl.state === 'invalid') return { kind: 'invalid', field: 'ttl', raw: grant.ttl.raw, error: grant.ttl.error };
  if (grant.ttl.state === 'valid') return { kind: 'ttl', at: addMs(now, grant.ttl.value), ttlMs: grant.ttl.value };
  if (defaultTTLms !== undefined) return { kind: 'default-ttl', at: addMs(now, defaultTTLms), ttlMs: defaultTTLms };
  return { kind: 'none' };
}

/** `now + ms`, truncated to whole seconds like every stored timestamp. */
export function addMs(now: Date, ms: number): Date {
  return new Date(Math.floor(now.getTime() / 1_000) * 1_000 + ms);
}
