import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { parseDuration } from './duration.js';
import { parseTimestamp } from './timestamp.js';

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
  const annotations = stringMap(policy?.metadata?.annotations);
  const labels = stringMap(policy?.metadata?.labels);
  return {
    ttl: parseField(annotations[keys.ttl], (raw) => {
      const r = parseDuration(raw);
      return r.ok ? { ok: true, value: r.ms } : r;
    }),
    expiresAt: parseField(annotations[keys.expiresAt], parseDate),
    grantedAt: parseField(annotations[keys.grantedAt], parseDate),
    ticket: annotations[keys.ticket],
    requestedBy: annotations[keys.requestedBy],
    temporaryLabel: labels[keys.temporaryLabel],
  };
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
 * Annotations and labels arrive from untrusted JSON: keep only string values so a malformed
 * object (numbers, nulls, nested objects) cannot crash a reader.
 */
export function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return out;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}
