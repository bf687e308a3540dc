import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { parseDuration } from './duration.js';
import { parseTimestamp } from './timestamp.js';
import { isJsonObject } from '../schema/json.js';

export const DEFAULT_ANNOTATION_PREFIX = 'netpol-guard.io';

/**
 * The annotation and label keys of the contract, derived from the configured prefix. Everything
 * that reads or writes a grant goes through these names so a prefix change is one setting.
 */
export interface AnnotationKeys {
  ttl: string;
  expiresAt: string;
  ticket: string;
  ticketUrl: string;
  requestedBy: string;
  grantedAt: string;
  /**
   * Who last moved the expiry or the spec, and when. Like requested-by, written only by the
   * mutating webhook from the request's userInfo; whatever a client writes there is replaced.
   */
  changedBy: string;
  changedAt: string;
  /**
   * Who revoked the grant, and when. A client asks for the stamp by writing any value into
   * revoked-by (`revoke` does, then deletes); the mutator replaces it with the request's user and
   * the time (see revocationRequested in mutation.ts). Never taken from the object.
   */
  revokedBy: string;
  revokedAt: string;
  /**
   * The user whose break-glass group bypassed the findings of this grant's admission, and when;
   * stamped by the mutating webhook, stripped from any client (README: Break glass).
   */
  breakGlassBy: string;
  breakGlassAt: string;
  /**
   * On a NetworkPolicy the controller created for an approved GrantRequest: the request's name
   * and its approvers (comma-separated, in order). Checked by the webhook against the request.
   */
  grantRequest: string;
  approvedBy: string;
  /** Label (not annotation) that lets the sweeper list grants with a label selector. */
  temporaryLabel: string;
}

export function annotationKeys(prefix: string = DEFAULT_ANNOTATION_PREFIX): AnnotationKeys {
  return {
    ttl: `${prefix}/ttl`,
    expiresAt: `${prefix}/expires-at`,
    ticket: `${prefix}/ticket`,
    ticketUrl: `${prefix}/ticket-url`,
    requestedBy: `${prefix}/requested-by`,
    grantedAt: `${prefix}/granted-at`,
    changedBy: `${prefix}/changed-by`,
    changedAt: `${prefix}/changed-at`,
    revokedBy: `${prefix}/revoked-by`,
    revokedAt: `${prefix}/revoked-at`,
    breakGlassBy: `${prefix}/break-glass-by`,
    breakGlassAt: `${prefix}/break-glass-at`,
    grantRequest: `${prefix}/grant-request`,
    approvedBy: `${prefix}/approved-by`,
    temporaryLabel: `${prefix}/temporary`,
  };
}

/** Value of the temporary label on every policy that carries an expiry. */
export const TEMPORARY_LABEL_VALUE = 'true';

/** A field of the contract: absent, present and parsed, or present but unparseable. */
export type Parsed<T> =
  | { state: 'absent' }
  | { state: 'valid'; raw: string; value: T }
  | { state: 'invalid'; raw: string; error: string };

/** The lifecycle annotations of one policy, each parsed but not judged against any config. */
export interface GrantAnnotations {
  ttl: Parsed<number>;
  expiresAt: Parsed<Date>;
  grantedAt: Parsed<Date>;
  ticket: string | undefined;
  requestedBy: string | undefined;
  temporaryLabel: string | undefined;
}

export function readGrantAnnotations(policy: V1NetworkPolicy | undefined, keys: AnnotationKeys): GrantAnnotations {
  const annotations = policy?.metadata?.annotations;
  return {
    ttl: parseField(stringEntry(annotations, keys.ttl), parseTtl),
    expiresAt: parseField(stringEntry(annotations, keys.expiresAt), parseDate),
    grantedAt: readGrantedAt(policy, keys),
    ticket: stringEntry(annotations, keys.ticket),
    requestedBy: stringEntry(annotations, keys.requestedBy),
    temporaryLabel: stringEntry(policy?.metadata?.labels, keys.temporaryLabel),
  };
}

/** Only the granted-at stamp, for callers that need nothing else of a (stored) policy. */
export function readGrantedAt(policy: V1NetworkPolicy | undefined, keys: AnnotationKeys): Parsed<Date> {
  return parseField(stringEntry(policy?.metadata?.annotations, keys.grantedAt), parseDate);
}

/** Who stamped a change or a revocation, and when (both present and the time valid, else absent). */
export interface Stamp {
  by: string;
  at: Date;
  /** The annotation text of `at`, to compare stamps without re-formatting. */
  atRaw: string;
}

/** The changed-by/changed-at or revoked-by/revoked-at pair of a policy, when whole and valid. */
export function readStamp(policy: V1NetworkPolicy | undefined, byKey: string, atKey: string): Stamp | undefined {
  const annotations = policy?.metadata?.annotations;
  const by = stringEntry(annotations, byKey);
  const at = parseField(stringEntry(annotations, atKey), parseDate);
  if (by === undefined || by.trim() === '' || at.state !== 'valid') return undefined;
  return { by, at: at.value, atRaw: at.raw };
}

function parseTtl(raw: string): { ok: true; value: number } | { ok: false; error: string } {
  const r = parseDuration(raw);
  return r.ok ? { ok: true, value: r.ms } : r;
}

function parseDate(raw: string): { ok: true; value: Date } | { ok: false; error: string } {
  const r = parseTimestamp(raw);
  return r.ok ? { ok: true, value: r.date } : r;
}

function parseField<T>(
  raw: string | undefined,
  parse: (raw: string) => { ok: true; value: T } | { ok: false; error: string },
): Parsed<T> {
  if (raw === undefined) return { state: 'absent' };
  const r = parse(raw);
  return r.ok ? { state: 'valid', raw, value: r.value } : { state: 'invalid', raw, error: r.error };
}

/**
 * One entry of an untrusted annotation or label map, read the way stringMap would see it (own,
 * enumerable, string-valued) but without copying the whole map: annotations carry kubectl's
 * last-applied configuration and more, and only a handful of keys matter here.
 */
export function stringEntry(map: unknown, key: string): string | undefined {
  if (!isJsonObject(map)) return undefined;
  const value = map[key];
  // Most keys are absent: the (slower) own-and-enumerable test runs only for a string found.
  if (typeof value !== 'string') return undefined;
  return Object.prototype.propertyIsEnumerable.call(map, key) ? value : undefined;
}

/**
 * Annotations and labels arrive from untrusted JSON: keep only string values so a malformed
 * object (numbers, nulls, nested objects) cannot crash a reader.
 */
export function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isJsonObject(value)) return out;
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}
