import { distinctApprovers, phaseOf } from '../approval/approvals.js';
import type { GrantRequest } from '../approval/grantRequest.js';
import { creationTime } from '../approval/requestDecision.js';
import { summarizeAccess } from './describe.js';
import { formatSpan } from './relative.js';

/** One line of `list --pending`: a request waiting for approvers (Pending) or for the controller (Approved). */
export interface QueueRow {
  namespace: string;
  name: string;
  phase: string;
  /** Since it was filed. */
  age: string;
  requester: string;
  ticket: string;
  /** Distinct approvers so far / required, e.g. `1/2`. */
  approvals: string;
  approvedBy: string;
  duration: string;
  access: string;
}

/** The queue: Pending and Approved requests, oldest first. Pure. */
export function queueRows(requests: readonly GrantRequest[], requiredFor: (request: GrantRequest) => number, now: Date): QueueRow[] {
  const waiting = requests.filter((r) => {
    const phase = phaseOf(r);
    return phase === 'Pending' || phase === 'Approved';
  });
  const created = (r: GrantRequest): number => {
    const t = creationTime(r);
    return t.ok ? t.date.getTime() : Number.POSITIVE_INFINITY;
  };
  return [...waiting]
    .sort((a, b) => created(a) - created(b) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
    .map((r) => {
      const approvers = distinctApprovers(r.status?.approvals, r.spec?.requestedBy);
      const born = creationTime(r);
      return {
        namespace: r.metadata?.namespace ?? '',
        name: r.metadata?.name ?? '',
        phase: phaseOf(r),
        age: born.ok ? formatSpan(Math.max(0, now.getTime() - born.date.getTime())) : '?',
        requester: r.spec?.requestedBy ?? '<unstamped>',
        ticket: r.spec?.ticket ?? '',
        approvals: `${approvers.length}/${requiredFor(r)}`,
        approvedBy: approvers.join(',') || '-',
        duration: r.spec?.duration ?? '',
        access: summarizeAccess({ metadata: { namespace: r.metadata?.namespace ?? '' }, spec: r.spec?.policy ?? { podSelector: {} } }),
      };
    });
}

/** Columns like `list`: NAMESPACE (with -A) NAME PHASE AGE REQUESTER TICKET APPROVALS APPROVED-BY FOR ACCESS. */
export function formatQueueTable(rows: readonly QueueRow[], options: { namespaces: boolean }): string {
  const header = [...(options.namespaces ? ['NAMESPACE'] : []), 'NAME', 'PHASE', 'AGE', 'REQUESTER', 'TICKET', 'APPROVALS', 'APPROVED-BY', 'FOR', 'ACCESS'];
  const lines = rows.map((r) => [...(options.namespaces ? [r.namespace] : []), r.name, r.phase, r.age, r.requester, r.ticket, r.approvals, r.approvedBy, r.duration, r.access]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const render = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return `${[render(header), ...lines.map(render)].join('\n')}\n`;
}
