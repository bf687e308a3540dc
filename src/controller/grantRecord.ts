import { createHash } from 'node:crypto';
import type { V1NetworkPolicy, V1ObjectMeta } from '@kubernetes/client-node';
import { type AnnotationKeys, readGrantAnnotations, readStamp, type Stamp, stringEntry } from '../lifecycle/annotations.js';
import { formatDuration } from '../lifecycle/duration.js';
import { formatTimestamp, parseTimestamp } from '../lifecycle/timestamp.js';
import { summarizeAccess } from '../operator/describe.js';

/**
 * The history of one grant as a cluster-scoped GrantRecord (grantrecords.netpol-guard.io,
 * v1alpha1; manifests/crds/grantrecords.netpol-guard.io.yaml is its schema). Pure: the leader
 * calls these with what it observed and writes the result; nothing here reads a clock or the API.
 *
 * Sizes are bounded whatever the policy holds, because a record that grows past what etcd takes
 * (about 1.5 MiB) could no longer be written and a grant would end unrecorded: spec snapshots are
 * cut at 8 KiB (with the sha256 of the whole), free text at 1 KiB, the change list at the latest
 * 50 (older ones are counted, not kept).
 */

export const GRANT_RECORD_GROUP = 'netpol-guard.io';
export const GRANT_RECORD_VERSION = 'v1alpha1';
export const GRANT_RECORD_API_VERSION = `${GRANT_RECORD_GROUP}/${GRANT_RECORD_VERSION}`;
export const GRANT_RECORD_KIND = 'GrantRecord';
export const GRANT_RECORD_PLURAL = 'grantrecords';
export const SPEC_SNAPSHOT_LIMIT_BYTES = 8 * 1024;
export const MAX_RECORDED_CHANGES = 50;
export const MAX_TEXT_LENGTH = 1024;
/** As many as a profile can require (approval.required is at most 5), with room. */
export const MAX_RECORDED_APPROVALS = 20;
export const DEFAULT_HISTORY_RETENTION_MS = 90 * 86_400_000;
/** Labels on every record so `history -n NS` and the pruner can select on the server side. */
export const POLICY_NAMESPACE_LABEL = `${GRANT_RECORD_GROUP}/policy-namespace`;
export const STATE_LABEL = `${GRANT_RECORD_GROUP}/state`;

/**
 * Open while the policy exists. Expired: deleted by the controller at its expiry. Revoked: deleted
 * by `revoke` (who is stamped). Deleted: deleted by anyone else, seen by a watching leader.
 * DeletedNotObserved: found gone on a resync, having vanished while no leader watched.
 */
export const GRANT_RECORD_STATES = ['Open', 'Expired', 'Revoked', 'Deleted', 'DeletedNotObserved'] as const;
export type GrantRecordState = (typeof GRANT_RECORD_STATES)[number];
export type CloseHow = Exclude<GrantRecordState, 'Open'>;

export interface SpecSnapshot {
  /** The spec as canonical JSON (sorted keys); its first 8 KiB only when `truncated`. */
  json: string;
  /** Size of the whole canonical JSON in UTF-8 bytes. */
  bytes: number;
  truncated: boolean;
  /** sha256 (hex) of the whole canonical JSON: what the spec was even when the text is cut. */
  sha256: string;
}

export interface GrantChange {
  /** When the controller saw the change. */
  observedAt: string;
  /** The changed-by stamp of this very update; absent when the update carried no fresh stamp. */
  by?: string;
  /** The changed-at stamp that goes with `by`. */
  stampedAt?: string;
  field: 'expiry' | 'spec';
  /** expiry: the old and new expires-at (or "none"); spec: the old and new one-line access summary. */
  from: string;
  to: string;
  fromSha256?: string;
  toSha256?: string;
}

export interface GrantRecordSpec {
  policy: { namespace: string; name: string; uid: string };
  ticket?: string;
  ticketUrl?: string;
  requestedBy?: string;
  /** The granted-at stamp when valid, else when the controller first saw the grant. */
  openedAt: string;
  /** When the controller first saw the grant. */
  observedAt: string;
  /** Found already live without a record (no leader watched when it was created). */
  openedLate: boolean;
  /** expires-at when first seen. */
  initialExpiresAt?: string;
  admittedAccess: string;
  admittedSpec: SpecSnapshot;
  /** The GrantRequest whose approval opened this grant (README: Approvals), in its namespace. */
  grantRequest?: string;
  /** Who approved it and when (the webhook's stamps), in approval order: the distinct approvers that counted. */
  approvals?: { by: string; at: string }[];
  /** The user whose break-glass group bypassed the findings when it was admitted, and when. */
  breakGlassBy?: string;
  breakGlassAt?: string;
}

export interface GrantRecordStatus {
  state: GrantRecordState;
  /** The expiry in force now (or when closed); absent when the policy carries none. */
  expiresAt?: string;
  access: string;
  specSha256: string;
  /** The spec after the latest spec change; absent while it is still the admitted one. */
  latestSpec?: SpecSnapshot;
  changes: GrantChange[];
  /** Changes dropped from the front of `changes` to keep the record small. */
  omittedChanges: number;
  closedAt?: string;
  closedBy?: string;
  /** Why closedBy is missing or what to check, for Deleted and DeletedNotObserved. */
  closedNote?: string;
  /** Expired only: seconds from expires-at to the deletion. */
  expiryLagSeconds?: number;
  openSeconds?: number;
  /** openSeconds in words (`1h30m`), for the printer column. */
  duration?: string;
}

export interface GrantRecord {
  apiVersion: typeof GRANT_RECORD_API_VERSION;
  kind: typeof GRANT_RECORD_KIND;
  metadata: V1ObjectMeta;
  spec: GrantRecordSpec;
  status: GrantRecordStatus;
}

/** What the record functions need of the config: the annotation keys (GuardConfig fits). */
export interface RecordConfig {
  keys: AnnotationKeys;
}

/**
 * The record's name: the policy uid, which the API server makes unique and never reuses, so a
 * deleted and re-created policy of the same name gets a new record. A uid that is not a valid
 * object name (never from a real API server) is hashed rather than trusted.
 */
export function recordName(uid: string): string {
  return /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(uid) ? uid : `uid-${sha256(uid).slice(0, 40)}`;
}

/** A new Open record for a grant first seen at `observedAt` (late: it was already live, unrecorded). */
export function recordOpened(
  policy: V1NetworkPolicy,
  observedAt: Date,
  config: RecordConfig,
  options: { late?: boolean; approval?: { grantRequest: string; approvals: readonly { by: string; at: string }[] } } = {},
): GrantRecord {
  const meta = policy.metadata;
  const ref = { namespace: required(meta?.namespace, 'metadata.namespace'), name: required(meta?.name, 'metadata.name'), uid: required(meta?.uid, 'metadata.uid') };
  const grant = readGrantAnnotations(policy, config.keys);
  const snapshot = specSnapshot(policy);
  const access = clip(summarizeAccess(policy));
  const expiresAt = expiryText(policy, config.keys);
  const spec: GrantRecordSpec = {
    policy: ref,
    openedAt: grant.grantedAt.state === 'valid' ? formatTimestamp(grant.grantedAt.value) : formatTimestamp(observedAt),
    observedAt: formatTimestamp(observedAt),
    openedLate: options.late === true,
    admittedAccess: access,
    admittedSpec: snapshot,
  };
  if (grant.ticket !== undefined) spec.ticket = clip(grant.ticket);
  const url = stringEntry(policy.metadata?.annotations, config.keys.ticketUrl);
  if (url !== undefined) spec.ticketUrl = clip(url);
  if (grant.requestedBy !== undefined) spec.requestedBy = clip(grant.requestedBy);
  if (expiresAt !== undefined) spec.initialExpiresAt = expiresAt;
  if (options.approval !== undefined) {
    spec.grantRequest = clip(options.approval.grantRequest);
    spec.approvals = options.approval.approvals.slice(0, MAX_RECORDED_APPROVALS).map((a) => ({ by: clip(a.by), at: clip(a.at) }));
  }
  const breakGlass = readStamp(policy, config.keys.breakGlassBy, config.keys.breakGlassAt);
  if (breakGlass !== undefined) {
    spec.breakGlassBy = clip(breakGlass.by);
    spec.breakGlassAt = formatTimestamp(breakGlass.at);
  }
  const status: GrantRecordStatus = { state: 'Open', access, specSha256: snapshot.sha256, changes: [], omittedChanges: 0 };
  if (expiresAt !== undefined) status.expiresAt = expiresAt;
  return {
    apiVersion: GRANT_RECORD_API_VERSION,
    kind: GRANT_RECORD_KIND,
    metadata: { name: recordName(ref.uid), labels: { [POLICY_NAMESPACE_LABEL]: ref.namespace, [STATE_LABEL]: 'Open' } },
    spec,
    status,
  };
}

/**
 * The record after `newPolicy` was seen. Compares with what the record holds (not only with
 * `oldPolicy`, which a watcher may have missed), and appends one change per moved field. The
 * changed-by stamp is quoted only when this update refreshed it (its changed-at differs from the
 * old policy's and from the last recorded one): a stale stamp would blame the previous editor.
 * Returns `record` itself when nothing recordable moved, or when the record is already closed.
 */
export function recordChanged(
  record: GrantRecord,
  oldPolicy: V1NetworkPolicy | undefined,
  newPolicy: V1NetworkPolicy,
  at: Date,
  config: RecordConfig,
): GrantRecord {
  if (record.status.state !== 'Open') return record;
  const uid = newPolicy.metadata?.uid;
  if (uid !== record.spec.policy.uid) {
    throw new RangeError(`policy uid ${String(uid)} does not belong to record ${String(record.metadata.name)} (uid ${record.spec.policy.uid})`);
  }
  const stamp = freshStamp(record, oldPolicy, newPolicy, config.keys);
  const base = { observedAt: formatTimestamp(at), ...(stamp ? { by: clip(stamp.by), stampedAt: formatTimestamp(stamp.at) } : {}) };
  const changes: GrantChange[] = [];
  const status: GrantRecordStatus = { ...record.status };

  const expiresAt = expiryText(newPolicy, config.keys);
  if (expiresAt !== record.status.expiresAt) {
    changes.push({ ...base, field: 'expiry', from: record.status.expiresAt ?? 'none', to: expiresAt ?? 'none' });
    if (expiresAt === undefined) delete status.expiresAt;
    else status.expiresAt = expiresAt;
  }
  const snapshot = specSnapshot(newPolicy);
  if (snapshot.sha256 !== record.status.specSha256) {
    const access = clip(summarizeAccess(newPolicy));
    changes.push({ ...base, field: 'spec', from: record.status.access, to: access, fromSha256: record.status.specSha256, toSha256: snapshot.sha256 });
    status.access = access;
    status.specSha256 = snapshot.sha256;
    if (snapshot.sha256 === record.spec.admittedSpec.sha256) delete status.latestSpec;
    else status.latestSpec = snapshot;
  }
  if (changes.length === 0) return record;
  const all = [...record.status.changes, ...changes];
  const dropped = Math.max(0, all.length - MAX_RECORDED_CHANGES);
  status.changes = all.slice(dropped);
  status.omittedChanges = record.status.omittedChanges + dropped;
  return { ...record, status };
}

/**
 * How a grant that is gone ended, from the last state the leader saw of it: deleted by this
 * controller → Expired; carrying a revoked-by stamp → Revoked by that user; otherwise Deleted
 * (by someone a watcher cannot name).
 */
export function closeReason(
  lastSeen: V1NetworkPolicy | undefined,
  deletedByController: boolean,
  config: RecordConfig,
): { how: CloseHow; by?: string } {
  if (deletedByController) return { how: 'Expired' };
  const revoked = readStamp(lastSeen, config.keys.revokedBy, config.keys.revokedAt);
  return revoked ? { how: 'Revoked', by: revoked.by } : { how: 'Deleted' };
}

/** The record closed `how`, at `at`. The first close wins: closing a closed record returns it as is. */
export function recordClosed(record: GrantRecord, how: CloseHow, at: Date, by?: string, note?: string): GrantRecord {
  if (record.status.state !== 'Open') return record;
  const status: GrantRecordStatus = { ...record.status, state: how, closedAt: formatTimestamp(at) };
  if (by !== undefined && by.trim() !== '') status.closedBy = clip(by);
  const opened = parseTimestamp(record.spec.openedAt);
  if (opened.ok) {
    const openMs = Math.max(0, at.getTime() - opened.date.getTime());
    status.openSeconds = Math.floor(openMs / 1_000);
    status.duration = formatDuration(openMs);
  }
  const { namespace, name, uid } = record.spec.policy;
  const target = `the DELETE of networkpolicies/${name} in namespace ${namespace} (uid ${uid})`;
  if (how === 'Expired') {
    const expiry = record.status.expiresAt === undefined ? undefined : parseTimestamp(record.status.expiresAt);
    if (expiry?.ok) status.expiryLagSeconds = Math.round(at.getTime() - expiry.date.getTime()) / 1_000;
  } else if (how === 'Revoked' && status.closedBy === undefined) {
    status.closedNote = `revoked without a revoked-by stamp; see the API server audit log for ${target}`;
  } else if (how === 'Deleted' && status.closedBy === undefined) {
    status.closedNote = `deleted outside netpol-guard; a watcher cannot know by whom: see the API server audit log for ${target}`;
  } else if (how === 'DeletedNotObserved') {
    status.closedNote = `found gone at ${status.closedAt} while no leader watched; it was deleted earlier: see the API server audit log for ${target}`;
  }
  if (note !== undefined) status.closedNote = note;
  if (status.closedNote !== undefined) status.closedNote = clip(status.closedNote);
  return { ...record, metadata: withState(record.metadata, how), status };
}

/** Closed records older than the retention go; an open one, or one without a readable closedAt, stays. */
export function shouldPrune(record: GrantRecord, now: Date, retentionMs: number): boolean {
  const closed = record.status.state === 'Open' || record.status.closedAt === undefined ? undefined : parseTimestamp(record.status.closedAt);
  return isPastRetention(closed?.ok ? closed.date.getTime() : undefined, now, retentionMs);
}

/** Closed at `closedAtMs`, at least `retentionMs` before `now` (never when the close time is unknown). */
export function isPastRetention(closedAtMs: number | undefined, now: Date, retentionMs: number): boolean {
  if (!(retentionMs > 0)) throw new RangeError(`history retention must be positive, got ${retentionMs} ms`);
  return closedAtMs !== undefined && now.getTime() - closedAtMs >= retentionMs;
}

/** The spec as canonical JSON, cut at the limit on a character boundary, with the hash of the whole. */
export function specSnapshot(policy: V1NetworkPolicy, limitBytes: number = SPEC_SNAPSHOT_LIMIT_BYTES): SpecSnapshot {
  const json = JSON.stringify(canonical(policy.spec ?? {}));
  const bytes = Buffer.byteLength(json, 'utf8');
  const digest = sha256(json);
  if (bytes <= limitBytes) return { json, bytes, truncated: false, sha256: digest };
  // A cut inside a multi-byte character decodes to U+FFFD: drop it rather than store a broken one.
  const cut = Buffer.from(json, 'utf8').subarray(0, limitBytes).toString('utf8').replace(/\uFFFD+$/, '');
  return { json: cut, bytes, truncated: true, sha256: digest };
}

/**
 * Sorted keys, and client-node's `_from` spelled `from` as on the wire, so the same spec hashes
 * the same whether it came from a watch event, a typed object or a stored snapshot.
 */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value.toISOString();
  const out: Record<string, unknown> = {};
  const entries = Object.entries(value).map(([k, v]) => [k === '_from' ? 'from' : k, v] as const);
  for (const [k, v] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (v !== undefined) out[k] = canonical(v);
  }
  return out;
}

function freshStamp(record: GrantRecord, oldPolicy: V1NetworkPolicy | undefined, newPolicy: V1NetworkPolicy, keys: AnnotationKeys): Stamp | undefined {
  const stamp = readStamp(newPolicy, keys.changedBy, keys.changedAt);
  if (stamp === undefined) return undefined;
  const before = readStamp(oldPolicy, keys.changedBy, keys.changedAt);
  if (before !== undefined && before.atRaw === stamp.atRaw && before.by === stamp.by) return undefined;
  const stampedAt = formatTimestamp(stamp.at);
  const last = record.status.changes.at(-1);
  if (last?.stampedAt === stampedAt && last.by === stamp.by) return undefined;
  return stamp;
}

/** expires-at as RFC 3339 when valid, the raw text (clipped) when not, undefined when absent. */
function expiryText(policy: V1NetworkPolicy, keys: AnnotationKeys): string | undefined {
  const expiresAt = readGrantAnnotations(policy, keys).expiresAt;
  if (expiresAt.state === 'absent') return undefined;
  return expiresAt.state === 'valid' ? formatTimestamp(expiresAt.value) : clip(expiresAt.raw);
}

function withState(metadata: V1ObjectMeta, state: GrantRecordState): V1ObjectMeta {
  return { ...metadata, labels: { ...metadata.labels, [STATE_LABEL]: state } };
}

function required(value: string | undefined, path: string): string {
  if (value === undefined || value === '') throw new TypeError(`cannot record a grant without ${path}`);
  return value;
}

function clip(text: string): string {
  const chars = [...text];
  return chars.length > MAX_TEXT_LENGTH ? `${chars.slice(0, MAX_TEXT_LENGTH - 1).join('')}…` : text;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
