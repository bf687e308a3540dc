import { parseTimestamp } from '../lifecycle/timestamp.js';
import { renderColumns } from '../operator/listTable.js';
import { type GrantRecord, POLICY_NAMESPACE_LABEL } from './grantRecord.js';

/**
 * What `netpol-guard history` shows: GrantRecords filtered and rendered as a table, JSON or CSV.
 * Pure: records, filters and `now` in, text out.
 */

export interface HistoryFilter {
  /** Only grants of this namespace; undefined: all. */
  namespace?: string;
  ticket?: string;
  requester?: string;
  /** Only grants open at some point within this long before `now` (still open, or closed since). */
  sinceMs?: number;
}

export type HistoryOutput = 'table' | 'wide' | 'json' | 'csv';

/** The server-side selector for a namespace filter (records carry their policy's namespace as a label). */
export function historySelector(filter: HistoryFilter): string | undefined {
  return filter.namespace === undefined ? undefined : `${POLICY_NAMESPACE_LABEL}=${filter.namespace}`;
}

/** The records that match, oldest opening first (ties by namespace, then name). */
export function selectRecords(records: readonly GrantRecord[], filter: HistoryFilter, now: Date): GrantRecord[] {
  const sinceMs = filter.sinceMs === undefined ? undefined : now.getTime() - filter.sinceMs;
  return records
    .filter((r) => filter.namespace === undefined || r.spec.policy.namespace === filter.namespace)
    .filter((r) => filter.ticket === undefined || r.spec.ticket === filter.ticket)
    .filter((r) => filter.requester === undefined || r.spec.requestedBy === filter.requester)
    .filter((r) => {
      if (sinceMs === undefined || r.status.state === 'Open') return true;
      const closed = r.status.closedAt === undefined ? undefined : parseTimestamp(r.status.closedAt);
      // A closed record without a readable closedAt is shown rather than silently hidden.
      return closed === undefined || !closed.ok || closed.date.getTime() >= sinceMs;
    })
    .sort((a, b) => compare(a.spec.openedAt, b.spec.openedAt) || compare(a.spec.policy.namespace, b.spec.policy.namespace) || compare(a.spec.policy.name, b.spec.policy.name));
}

export function formatHistory(records: readonly GrantRecord[], output: HistoryOutput, now: Date): string {
  if (output === 'json') return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: records }, null, 2)}\n`;
  if (output === 'csv') return formatCsv(records);
  const wide = output === 'wide';
  const header = ['NAMESPACE', 'POLICY', 'TICKET', 'REQUESTED-BY', 'STATE', 'OPENED', 'CLOSED', 'DURATION', ...(wide ? ['CLOSED-BY', 'EXPIRES', 'CHANGES', 'ACCESS'] : [])];
  const rows = records.map((r) => [
    r.spec.policy.namespace,
    r.spec.policy.name,
    cell(r.spec.ticket),
    cell(r.spec.requestedBy),
    r.status.state + (r.spec.openedLate ? ' (late)' : ''),
    r.spec.openedAt,
    cell(r.status.closedAt),
    r.status.duration ?? (r.status.state === 'Open' ? openFor(r, now) : '-'),
    ...(wide ? [cell(r.status.closedBy), cell(r.status.expiresAt), String(r.status.changes.length + r.status.omittedChanges), r.status.access] : []),
  ].map(oneLine));
  return renderColumns([header, ...rows]);
}

export const CSV_COLUMNS = [
  'namespace', 'policy', 'uid', 'ticket', 'ticketUrl', 'requestedBy', 'state', 'openedAt', 'openedLate', 'expiresAt',
  'closedAt', 'closedBy', 'closedNote', 'openSeconds', 'expiryLagSeconds', 'changes', 'admittedAccess', 'access',
] as const;

/** RFC 4180 CSV with a header row; each change as `at field from -> to (by who)`, joined by "; ". */
export function formatCsv(records: readonly GrantRecord[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of records) {
    const changes = r.status.changes.map((c) => `${c.observedAt} ${c.field} ${c.from} -> ${c.to}${c.by ? ` (by ${c.by})` : ''}`);
    if (r.status.omittedChanges > 0) changes.unshift(`(${r.status.omittedChanges} earlier changes omitted)`);
    const values: Record<(typeof CSV_COLUMNS)[number], string | number | boolean | undefined> = {
      namespace: r.spec.policy.namespace,
      policy: r.spec.policy.name,
      uid: r.spec.policy.uid,
      ticket: r.spec.ticket,
      ticketUrl: r.spec.ticketUrl,
      requestedBy: r.spec.requestedBy,
      state: r.status.state,
      openedAt: r.spec.openedAt,
      openedLate: r.spec.openedLate,
      expiresAt: r.status.expiresAt,
      closedAt: r.status.closedAt,
      closedBy: r.status.closedBy,
      closedNote: r.status.closedNote,
      openSeconds: r.status.openSeconds,
      expiryLagSeconds: r.status.expiryLagSeconds,
      changes: changes.join('; '),
      admittedAccess: r.spec.admittedAccess,
      access: r.status.access,
    };
    lines.push(CSV_COLUMNS.map((column) => csvField(values[column])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * One CSV field. Quoted when it holds a comma, quote, CR or LF (quotes doubled). Text a
 * spreadsheet would run as a formula (=, +, -, @, tab or CR first) gets a leading apostrophe:
 * tickets and user names are user-written, and an auditor opens the export in a spreadsheet.
 */
export function csvField(value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function openFor(record: GrantRecord, now: Date): string {
  const opened = parseTimestamp(record.spec.openedAt);
  if (!opened.ok) return '-';
  const seconds = Math.max(0, Math.floor((now.getTime() - opened.date.getTime()) / 1_000));
  return `${formatSeconds(seconds)} so far`;
}

function formatSeconds(total: number): string {
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3_600);
  const m = Math.floor((total % 3_600) / 60);
  const s = total % 60;
  const parts = [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : '', !d && !h && (s || !m) ? `${s}s` : ''];
  return parts.join('');
}

function cell(value: string | undefined): string {
  return value === undefined || value === '' ? '-' : value;
}

/** Table cells are one line whatever a user wrote. */
function oneLine(value: string): string {
  return value.replace(/[\r\n\t]+/g, ' ');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

