import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { DEFAULT_ANNOTATION_PREFIX, type Parsed, stringEntry } from '../lifecycle/annotations.js';
import { parseTimestamp } from '../lifecycle/timestamp.js';

/**
 * The stamps the history needs beyond the grant contract of lifecycle/annotations.ts. Like
 * requested-by, they are written by the mutating webhook from the request's userInfo (never taken
 * from the object), so a record that quotes them quotes the API server's word, not the editor's:
 * changed-by/changed-at on every UPDATE that moves the expiry or the spec, revoked-by/revoked-at on
 * the UPDATE `revoke` sends just before it deletes.
 */
export interface HistoryAnnotationKeys {
  changedBy: string;
  changedAt: string;
  revokedBy: string;
  revokedAt: string;
}

export function historyAnnotationKeys(prefix: string = DEFAULT_ANNOTATION_PREFIX): HistoryAnnotationKeys {
  return {
    changedBy: `${prefix}/changed-by`,
    changedAt: `${prefix}/changed-at`,
    revokedBy: `${prefix}/revoked-by`,
    revokedAt: `${prefix}/revoked-at`,
  };
}

/** Who stamped a change or a revocation, and when (both present and the time valid, else absent). */
export interface Stamp {
  by: string;
  at: Date;
  /** The annotation text of `at`, to compare stamps without re-formatting. */
  atRaw: string;
}

export function readStamp(policy: V1NetworkPolicy | undefined, byKey: string, atKey: string): Stamp | undefined {
  const annotations = policy?.metadata?.annotations;
  const by = stringEntry(annotations, byKey);
  const at = parseStampTime(stringEntry(annotations, atKey));
  if (by === undefined || by.trim() === '' || at.state !== 'valid') return undefined;
  return { by, at: at.value, atRaw: at.raw };
}

function parseStampTime(raw: string | undefined): Parsed<Date> {
  if (raw === undefined) return { state: 'absent' };
  const r = parseTimestamp(raw);
  return r.ok ? { state: 'valid', raw, value: r.date } : { state: 'invalid', raw, error: r.error };
}
