import type { JsonPatchOperation } from '../lifecycle/patch.js';
import { parseTimestamp, formatTimestamp } from '../lifecycle/timestamp.js';
import { sameJson } from '../lifecycle/updateChanges.js';
import { isJsonObject } from '../schema/json.js';
import { distinctApprovers, phaseOf } from './approvals.js';
import { APPROVE_VERB, GRANT_REQUEST_GROUP, GRANT_REQUEST_PLURAL, type GrantApproval, type GrantDenial, type GrantRequest } from './grantRequest.js';

/**
 * Writes to a GrantRequest's status subresource (grantrequests/status), decided without I/O.
 *
 * Three kinds of people write there:
 *   approvers   append one approval (`by`, `at` stamped by the mutating webhook, an optional
 *               `comment`) or set the denial (`by`, `at` stamped, a `reason`), while Pending;
 *   the requester  withdraws: phase Pending → Withdrawn and nothing else (a status write rather
 *               than a delete, so the request and who filed it stay on record and the controller
 *               closes it like any other ending);
 *   the controller (config approval.controllerUsers)  moves the phase and writes the fields that
 *               follow from it, and never approvals or the denial.
 * Anything else is refused, naming the field.
 */

/** The status fields only the controller writes (the requester's withdrawal aside: phase only). */
export const CONTROLLER_STATUS_FIELDS = ['phase', 'requiredApprovals', 'approvedAt', 'policyName', 'expiresAt', 'closedAt', 'message'] as const;

export interface StatusWriteInput {
  namespace: string;
  name: string;
  /** The stored request. */
  old: GrantRequest;
  /** The request as written (for /validate: after the mutating webhook stamped it). */
  updated: GrantRequest;
  username: string;
  controllerUsers: ReadonlySet<string>;
}

export type StatusWrite =
  | { kind: 'unchanged' }
  | { kind: 'controller' }
  | { kind: 'withdrawal' }
  | { kind: 'approval'; index: number; entry: GrantApproval }
  | { kind: 'denial'; denial: GrantDenial }
  | { kind: 'refused'; problem: string };

/** What the write does, or the first reason it cannot be anything admissible. */
export function classifyStatusWrite(input: StatusWriteInput): StatusWrite {
  const { old, updated, username } = input;
  const oldStatus = old.status ?? {};
  const newStatus = updated.status ?? {};
  const oldApprovals = Array.isArray(oldStatus.approvals) ? oldStatus.approvals : [];
  const newApprovals = Array.isArray(newStatus.approvals) ? newStatus.approvals : [];
  const approvalsUnchanged = sameJson(oldApprovals, newApprovals);
  const denialUnchanged = sameJson(oldStatus.denial, newStatus.denial);

  if (input.controllerUsers.has(username)) {
    if (!approvalsUnchanged) return { kind: 'refused', problem: `status.approvals: the controller (${username}) never writes approvals; only approvers do` };
    if (!denialUnchanged) return { kind: 'refused', problem: `status.denial: the controller (${username}) never writes a denial; only approvers do` };
    return { kind: 'controller' };
  }

  const changedControllerFields = CONTROLLER_STATUS_FIELDS.filter((field) => !sameJson(oldStatus[field], newStatus[field]));
  if (changedControllerFields.length > 0) {
    const withdrawal =
      changedControllerFields.length === 1 &&
      changedControllerFields[0] === 'phase' &&
      newStatus.phase === 'Withdrawn' &&
      approvalsUnchanged &&
      denialUnchanged;
    if (!withdrawal) {
      return {
        kind: 'refused',
        problem: `${changedControllerFields.map((f) => `status.${f}`).join(', ')}: written only by the netpol-guard controller; an approver appends to status.approvals or sets status.denial, the requester may only set phase Withdrawn`,
      };
    }
    if (username !== updated.spec?.requestedBy) {
      return { kind: 'refused', problem: `status.phase: only the requester (${updated.spec?.requestedBy ?? 'unknown'}) may withdraw this request` };
    }
    if (phaseOf(old) !== 'Pending') return { kind: 'refused', problem: `status.phase: the request is ${phaseOf(old)}; only a Pending request can be withdrawn` };
    return { kind: 'withdrawal' };
  }

  for (let i = 0; i < oldApprovals.length; i++) {
    const before = oldApprovals[i];
    const who = isJsonObject(before) && typeof before.by === 'string' ? before.by : 'unknown';
    if (i >= newApprovals.length) {
      return { kind: 'refused', problem: `status.approvals[${i}]: the approval by ${who} was removed; approvals are append-only` };
    }
    if (!sameJson(before, newApprovals[i])) {
      return { kind: 'refused', problem: `status.approvals[${i}]: the approval by ${who} was altered; approvals are append-only` };
    }
  }
  const added = newApprovals.length - oldApprovals.length;
  if (added > 1) return { kind: 'refused', problem: `status.approvals: ${added} approvals added in one write; each person appends one` };
  if (oldStatus.denial !== undefined && !denialUnchanged) {
    return { kind: 'refused', problem: `status.denial: the request was already denied by ${oldStatus.denial.by}; a denial is never changed or removed` };
  }
  const denied = !denialUnchanged && newStatus.denial !== undefined;
  if (added === 1 && denied) return { kind: 'refused', problem: 'status: approve or deny, not both in one write' };
  if (added === 1) {
    const entry = newApprovals[oldApprovals.length];
    if (!isJsonObject(entry)) return { kind: 'refused', problem: `status.approvals[${oldApprovals.length}]: must be an object with by, at and an optional comment` };
    return { kind: 'approval', index: oldApprovals.length, entry: entry as unknown as GrantApproval };
  }
  if (denied) {
    if (!isJsonObject(newStatus.denial)) return { kind: 'refused', problem: 'status.denial: must be an object with by, at and reason' };
    return { kind: 'denial', denial: newStatus.denial };
  }
  return { kind: 'unchanged' };
}

/** Whether deciding the write needs the SubjectAccessReview answer (approvals and denials only). */
export function needsApproveCheck(write: StatusWrite): boolean {
  return write.kind === 'approval' || write.kind === 'denial';
}

/**
 * The mutating webhook's patch: the appended approval's (or the new denial's) `by` and `at` are
 * the authenticated user and `now`, whatever the client wrote. Other writes are left untouched
 * (the validating webhook judges them).
 */
export function stampStatusWrite(input: StatusWriteInput, now: Date): JsonPatchOperation[] {
  const write = classifyStatusWrite(input);
  const at = formatTimestamp(now);
  if (write.kind === 'approval') {
    const base = `/status/approvals/${write.index}`;
    return [
      { op: 'add', path: `${base}/by`, value: input.username },
      { op: 'add', path: `${base}/at`, value: at },
    ];
  }
  if (write.kind === 'denial') {
    return [
      { op: 'add', path: '/status/denial/by', value: input.username },
      { op: 'add', path: '/status/denial/at', value: at },
    ];
  }
  return [];
}

export interface StatusVerdict {
  allowed: boolean;
  /** On refusal: one line naming the request and the reason. */
  message?: string;
  write: StatusWrite;
}

/**
 * The validating webhook's verdict. `canApprove` is the SubjectAccessReview's answer for this
 * user (verb approve on grantrequests in the namespace): asked by the shell only when
 * needsApproveCheck; undefined when it could not be asked, which refuses (fail closed).
 */
export function decideStatusWrite(input: StatusWriteInput, canApprove: boolean | undefined): StatusVerdict {
  const write = classifyStatusWrite(input);
  const what = write.kind === 'denial' ? 'denial' : write.kind === 'approval' ? 'approval' : 'status update';
  const refuse = (problem: string): StatusVerdict => ({
    allowed: false,
    message: `netpol-guard refused the ${what} of GrantRequest ${input.namespace}/${input.name}: ${problem}`,
    write,
  });
  switch (write.kind) {
    case 'refused':
      return refuse(write.problem);
    case 'unchanged':
    case 'controller':
    case 'withdrawal':
      return { allowed: true, write };
    case 'approval':
    case 'denial': {
      const { old, username } = input;
      const requester = old.spec?.requestedBy;
      const phase = phaseOf(old);
      if (phase !== 'Pending') return refuse(`the request is ${phase}; approvals and denials are taken only while it is Pending`);
      if (old.status?.denial !== undefined) return refuse(`the request was already denied by ${old.status.denial.by}`);
      if (requester !== undefined && username === requester) {
        return refuse(
          write.kind === 'approval'
            ? `you (${username}) filed this request; nobody approves their own access (two-person rule)`
            : `you (${username}) filed this request; withdraw it instead (set status.phase Withdrawn)`,
        );
      }
      if (canApprove === undefined) return refuse(`could not ask the API server whether ${username} may ${APPROVE_VERB} grantrequests (SubjectAccessReview failed); try again`);
      if (!canApprove) {
        return refuse(
          `${username} may not ${APPROVE_VERB} ${GRANT_REQUEST_PLURAL}.${GRANT_REQUEST_GROUP} in namespace ${input.namespace} ` +
            `(RBAC verb "${APPROVE_VERB}"; a platform team grants it with the ClusterRole netpol-guard-approver)`,
        );
      }
      if (write.kind === 'approval') {
        const earlier = (old.status?.approvals ?? []).find((a) => a?.by === username);
        if (earlier !== undefined) return refuse(`already approved by you (${username}, at ${earlier.at})`);
        const problem = stampProblem(write.entry, username);
        if (problem !== undefined) return refuse(`status.approvals[${write.index}].${problem}`);
        if (write.entry.comment !== undefined && typeof write.entry.comment !== 'string') return refuse(`status.approvals[${write.index}].comment: must be a string`);
        return { allowed: true, write };
      }
      const problem = stampProblem(write.denial, username);
      if (problem !== undefined) return refuse(`status.denial.${problem}`);
      if (typeof write.denial.reason !== 'string' || write.denial.reason.trim() === '') return refuse('status.denial.reason: a denial needs a reason (netpol-guard deny NAME --reason "...")');
      return { allowed: true, write };
    }
  }
}

/** `by`/`at` as the mutating webhook stamps them; anything else means it did not run. */
function stampProblem(entry: { by?: unknown; at?: unknown }, username: string): string | undefined {
  if (entry.by !== username) return `by: must be the authenticated user ${username} (stamped by the netpol-guard mutating webhook), got ${JSON.stringify(entry.by)}`;
  if (typeof entry.at !== 'string' || !parseTimestamp(entry.at).ok) return `at: must be the time the netpol-guard mutating webhook stamped, got ${JSON.stringify(entry.at)}`;
  return undefined;
}

/** How many distinct approvers the request has after this write (for the audit line and warnings). */
export function approversAfter(input: StatusWriteInput): string[] {
  return distinctApprovers(input.updated.status?.approvals, input.updated.spec?.requestedBy ?? input.old.spec?.requestedBy);
}
