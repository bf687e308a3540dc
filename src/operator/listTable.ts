import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { type AnnotationKeys, readGrantAnnotations, stringMap } from '../lifecycle/annotations.js';
import { formatTimestamp } from '../lifecycle/timestamp.js';
import type { Direction } from '../policy/breadth.js';
import { directionsOf, summarizeAccess } from './describe.js';
import { formatExpiresIn } from './relative.js';

/** When a grant ends, as far as its annotations say. */
export type GrantExpiry =
  | { kind: 'at'; at: Date }
  /** A ttl but no expires-at: the mutating webhook never stamped it, so the sweeper cannot act. */
  | { kind: 'ttl-only'; ttl: string }
  | { kind: 'invalid'; raw: string }
  | { kind: 'none' };

export interface GrantRow {
  namespace: string;
  name: string;
  ticket: string | undefined;
  ticketUrl: string | undefined;
  requestedBy: string | undefined;
  grantedAt: string | undefined;
  expiry: GrantExpiry;
  directions: Direction[];
  access: string;
}

export function grantRow(policy: V1NetworkPolicy, keys: AnnotationKeys): GrantRow {
  const grant = readGrantAnnotations(policy, keys);
  const annotations = stringMap(policy.metadata?.annotations);
  let expiry: GrantExpiry;
  if (grant.expiresAt.state === 'valid') expiry = { kind: 'at', at: grant.expiresAt.value };
  else if (grant.expiresAt.state === 'invalid') expiry = { kind: 'invalid', raw: grant.expiresAt.raw };
  else if (grant.ttl.state !== 'absent') expiry = { kind: 'ttl-only', ttl: grant.ttl.raw };
  else expiry = { kind: 'none' };
  return {
    namespace: policy.metadata?.namespace ?? '',
    name: policy.metadata?.name ?? '',
    ticket: grant.ticket,
    ticketUrl: annotations[keys.ticketUrl],
    requestedBy: grant.requestedBy,
    grantedAt: grant.grantedAt.state === 'valid' ? formatTimestamp(grant.grantedAt.value) : grant.grantedAt.state === 'invalid' ? grant.grantedAt.raw : undefined,
    expiry,
    directions: directionsOf(policy),
    access: summarizeAccess(policy),
  };
}

/** Soonest expiry first (already-expired ones lead); grants without a usable expiry last. */
export function sortGrantRows(rows: readonly GrantRow[]): GrantRow[] {
  const rank = (r: GrantRow): number => (r.expiry.kind === 'at' ? r.expiry.at.getTime() : Number.POSITIVE_INFINITY);
  return [...rows].sort((a, b) => {
    const byExpiry = rank(a) - rank(b);
    if (byExpiry !== 0 && !Number.isNaN(byExpiry)) return byExpiry;
    return a.namespace === b.namespace ? compare(a.name, b.name) : compare(a.namespace, b.namespace);
  });
}

export function expiryCell(expiry: GrantExpiry, now: Date): string {
  switch (expiry.kind) {
    case 'at':
      return formatExpiresIn(expiry.at, now);
    case 'ttl-only':
      return `ttl ${expiry.ttl}, never stamped`;
    case 'invalid':
      return 'invalid expires-at';
    case 'none':
      return 'no expiry';
  }
}

export interface TableOptions {
  wide: boolean;
  /** Longest ACCESS cell in the narrow table; longer ones end in "…" (wide never cuts). */
  maxAccessWidth?: number;
}

const NONE = '<none>';

/** kubectl-style columns: upper-case headers, two spaces between columns, no trailing blanks. */
export function formatGrantTable(rows: readonly GrantRow[], now: Date, options: TableOptions): string {
  const maxAccess = options.maxAccessWidth ?? 80;
  const header = options.wide
    ? ['NAMESPACE', 'NAME', 'TICKET', 'REQUESTED-BY', 'EXPIRES', 'EXPIRES-AT', 'GRANTED-AT', 'ACCESS']
    : ['NAMESPACE', 'NAME', 'TICKET', 'REQUESTED-BY', 'EXPIRES', 'ACCESS'];
  const body = rows.map((r) => {
    const common = [r.namespace, r.name, r.ticket ?? NONE, r.requestedBy ?? NONE, expiryCell(r.expiry, now)];
    if (!options.wide) return [...common, clip(r.access, maxAccess)];
    const at = r.expiry.kind === 'at' ? formatTimestamp(r.expiry.at) : r.expiry.kind === 'invalid' ? r.expiry.raw : NONE;
    return [...common, at, r.grantedAt ?? NONE, r.access];
  });
  return renderColumns([header, ...body]);
}

export function renderColumns(table: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of table) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return table
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - [...cell].length))).join('  ').trimEnd())
    .map((line) => `${line}\n`)
    .join('');
}

/** Machine-readable form: every field of the table, timestamps as RFC 3339, plus seconds left. */
export function formatGrantJson(rows: readonly GrantRow[], now: Date): string {
  const grants = rows.map((r) => ({
    namespace: r.namespace,
    name: r.name,
    ticket: r.ticket ?? null,
    ticketUrl: r.ticketUrl ?? null,
    requestedBy: r.requestedBy ?? null,
    grantedAt: r.grantedAt ?? null,
    expiresAt: r.expiry.kind === 'at' ? formatTimestamp(r.expiry.at) : null,
    expiresInSeconds: r.expiry.kind === 'at' ? Math.floor((r.expiry.at.getTime() - now.getTime()) / 1_000) : null,
    expired: r.expiry.kind === 'at' && r.expiry.at.getTime() <= now.getTime(),
    expires: expiryCell(r.expiry, now),
    directions: r.directions,
    access: r.access,
  }));
  return `${JSON.stringify({ now: formatTimestamp(now), grants }, null, 2)}\n`;
}

function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, Math.max(1, max - 1)).join('')}…` : text;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
