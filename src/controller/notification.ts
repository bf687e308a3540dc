import type { NotificationEvent } from '../config/types.js';
import { formatTimestamp } from '../lifecycle/timestamp.js';
import type { GrantRequest } from '../approval/grantRequest.js';
import { summarizeAccess } from '../operator/describe.js';
import type { GrantRecord } from './grantRecord.js';

/**
 * What a grant notification says, whatever the wire format. Pure: built from the GrantRecord
 * transitions the leader wrote (so notifications are exactly the history) plus the ExpiringSoon
 * warning. The JSON format sends this object as is (README: Notifications, "JSON payload").
 */
export interface GrantNotification {
  /** Bumped only on an incompatible change; fields may be added within a version. */
  version: 1;
  event: NotificationEvent;
  namespace: string;
  policy: string;
  uid: string;
  ticket?: string;
  ticketUrl?: string;
  requester?: string;
  /** The expiry in force (RFC 3339), absent when the grant carries none. */
  expiresAt?: string;
  /** When it happened (RFC 3339, whole seconds): the change or close as recorded, or the warning time. */
  at: string;
  /** changed: who stamped the change; revoked: who revoked. Absent when nobody can be named. */
  by?: string;
  /** opened: the grant was found already live without a record (no leader watched its creation). */
  late?: boolean;
  /** changed: each field that moved. */
  changes?: { field: 'expiry' | 'spec'; from: string; to: string }[];
  /** expired: seconds from expires-at to the deletion. */
  lagSeconds?: number;
  /** deleted: `observed` (a watching leader saw the delete) or `not-observed` (found gone on a resync). */
  deletion?: 'observed' | 'not-observed';
  /** The one-line access summary, as in `list` and the record. */
  access: string;
  /** Request events (requested, approved, denied, lapsed), and a grant a request opened: the GrantRequest's name. */
  request?: string;
  /** Request events: who approved, and when, in approval order. */
  approvals?: { by: string; at: string }[];
  /** Request events: distinct approvers required. */
  required?: number;
  /** requested: why, in the requester's words; denied: the denial's reason. */
  reason?: string;
  /** requested: the exact command that approves the request. */
  approveCommand?: string;
  /** requested: how long the access would last once approved. */
  duration?: string;
  /** break-glass: when the break-glass admission was stamped (`by` says who). */
  breakGlassAt?: string;
}

/**
 * The notifications one record write stands for: `before` is the record as it was (undefined for
 * a new record), `after` as written. Opening, each new change and the close each give one; a
 * write that moved nothing notifiable gives none.
 */
export function transitionNotifications(before: GrantRecord | undefined, after: GrantRecord, at: Date): GrantNotification[] {
  const out: GrantNotification[] = [];
  if (before === undefined) {
    out.push({ ...common(after, formatTimestamp(at)), event: 'opened', ...(after.spec.openedLate ? { late: true } : {}) });
    // Always audited and always announced: the findings were bypassed by someone's group.
    if (after.spec.breakGlassBy !== undefined) {
      out.push({ ...common(after, formatTimestamp(at)), event: 'break-glass', by: after.spec.breakGlassBy, ...(after.spec.breakGlassAt !== undefined ? { breakGlassAt: after.spec.breakGlassAt } : {}) });
    }
  }
  const wasChanges = before === undefined ? 0 : before.status.changes.length + before.status.omittedChanges;
  const nowChanges = after.status.changes.length + after.status.omittedChanges;
  if (nowChanges > wasChanges) {
    const fresh = after.status.changes.slice(Math.max(0, after.status.changes.length - (nowChanges - wasChanges)));
    const last = fresh.at(-1);
    out.push({
      ...common(after, last?.observedAt ?? formatTimestamp(at)),
      event: 'changed',
      ...(last?.by !== undefined ? { by: last.by } : {}),
      changes: fresh.map((c) => ({ field: c.field, from: c.from, to: c.to })),
    });
  }
  const wasOpen = before === undefined || before.status.state === 'Open';
  if (wasOpen && after.status.state !== 'Open') {
    const closedAt = after.status.closedAt ?? formatTimestamp(at);
    const base = common(after, closedAt);
    switch (after.status.state) {
      case 'Expired':
        out.push({ ...base, event: 'expired', ...(after.status.expiryLagSeconds !== undefined ? { lagSeconds: after.status.expiryLagSeconds } : {}) });
        break;
      case 'Revoked':
        out.push({ ...base, event: 'revoked', ...(after.status.closedBy !== undefined ? { by: after.status.closedBy } : {}) });
        break;
      case 'Deleted':
        out.push({ ...base, event: 'deleted', deletion: 'observed' });
        break;
      case 'DeletedNotObserved':
        out.push({ ...base, event: 'deleted', deletion: 'not-observed' });
        break;
    }
  }
  return out;
}

/** The `expiring` notification for a grant whose ExpiringSoon Event was just written. */
export function expiringNotification(
  grant: { namespace: string; name: string; uid: string; ticket?: string | undefined; ticketUrl?: string | undefined; requester?: string | undefined; access: string },
  expiresAt: Date,
  at: Date,
): GrantNotification {
  return {
    version: 1,
    event: 'expiring',
    namespace: grant.namespace,
    policy: grant.name,
    uid: grant.uid,
    ...(grant.ticket !== undefined ? { ticket: grant.ticket } : {}),
    ...(grant.ticketUrl !== undefined ? { ticketUrl: grant.ticketUrl } : {}),
    ...(grant.requester !== undefined ? { requester: grant.requester } : {}),
    expiresAt: formatTimestamp(expiresAt),
    at: formatTimestamp(at),
    access: grant.access,
  };
}

function common(record: GrantRecord, at: string): Omit<GrantNotification, 'event'> {
  const { spec, status } = record;
  return {
    version: 1,
    namespace: spec.policy.namespace,
    policy: spec.policy.name,
    uid: spec.policy.uid,
    ...(spec.ticket !== undefined ? { ticket: spec.ticket } : {}),
    ...(spec.ticketUrl !== undefined ? { ticketUrl: spec.ticketUrl } : {}),
    ...(spec.requestedBy !== undefined ? { requester: spec.requestedBy } : {}),
    ...(status.expiresAt !== undefined ? { expiresAt: status.expiresAt } : {}),
    at,
    access: status.access,
    ...(spec.grantRequest !== undefined ? { request: spec.grantRequest } : {}),
    ...(spec.approvals !== undefined ? { approvals: spec.approvals } : {}),
  };
}

/**
 * The notification of a GrantRequest transition. `policy` is the request's name until its
 * policy exists (the policy takes the request's name unless that name is taken), `uid` the
 * request's. `approveCommand` is given for `requested`.
 */
export function requestNotification(
  event: 'requested' | 'approved' | 'denied' | 'lapsed',
  request: GrantRequest,
  at: Date,
  approveCommand?: string,
): GrantNotification {
  const meta = request.metadata ?? {};
  const status = request.status ?? {};
  const approvals = (status.approvals ?? []).map((a) => ({ by: a.by, at: a.at }));
  const base: GrantNotification = {
    version: 1,
    event,
    namespace: meta.namespace ?? '',
    policy: status.policyName ?? meta.name ?? '',
    uid: meta.uid ?? '',
    request: meta.name ?? '',
    ...(request.spec?.ticket !== undefined ? { ticket: request.spec.ticket } : {}),
    ...(request.spec?.requestedBy !== undefined ? { requester: request.spec.requestedBy } : {}),
    ...(status.expiresAt !== undefined ? { expiresAt: status.expiresAt } : {}),
    at: formatTimestamp(at),
    access: summarizeAccess({ metadata: { namespace: meta.namespace ?? '' }, spec: request.spec?.policy ?? { podSelector: {} } }),
    ...(approvals.length > 0 ? { approvals } : {}),
    ...(status.requiredApprovals !== undefined ? { required: status.requiredApprovals } : {}),
  };
  if (event === 'requested') {
    if (request.spec?.duration !== undefined) base.duration = request.spec.duration;
    if (request.spec?.reason !== undefined) base.reason = request.spec.reason;
    if (approveCommand !== undefined) base.approveCommand = approveCommand;
  }
  if (event === 'denied' && status.denial !== undefined) {
    base.by = status.denial.by;
    base.reason = status.denial.reason;
  }
  if (event === 'lapsed' && status.message !== undefined) base.reason = status.message;
  return base;
}
