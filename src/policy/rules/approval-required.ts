import { verifyApprovedPolicy } from '../../approval/approvedPolicy.js';
import { fileRequestCommand } from '../../approval/fileCommand.js';
import { defineRule } from './types.js';

export const approvalRequired = defineRule({
  id: 'approval-required',
  family: 'lifecycle',
  summary: 'grant needs approval: only the controller creates it, for an approved GrantRequest',
  firesWhen: 'in a profile with `approval.required` > 0 (default 0: off), a grant is written by anyone but the controller (`approval.controllerUsers`) creating it for an approved GrantRequest it matches exactly',
  explanation:
    'Two-person rule: where the profile requires approval, nobody opens their own access. A grant is filed as a GrantRequest, approved by enough distinct people who hold the RBAC verb approve (never the requester), and only then created by the netpol-guard controller. The webhook checks that creation against the request it names (read live): phase Approved, enough distinct approvers, owner reference to the request, the same spec, the expiry counted from the approval, the requester and the approvers stamped. Break-glass groups still bypass it, audited and stamped.',
  fix: 'File a GrantRequest (netpol-guard grant … files one in such a profile) and have it approved (netpol-guard approve NAME -n NAMESPACE); in an emergency, a break-glass group member may apply it, audited.',
  grant: ['ticket'],
  needs: 'lifecycle',
  defaultAction: 'deny',
  activeUnder: (config) => config.approval.required > 0,
  check: {
    lifecycle(ctx, { grant, ticket }) {
      const required = ctx.config.approval.required;
      if (!(required > 0)) return;
      const check = verifyApprovedPolicy({
        policy: ctx.policy,
        namespace: ctx.namespace,
        username: ctx.user?.username ?? '',
        config: ctx.config,
        lookup: ctx.grantRequest,
        checkRequestedBy: true,
      });
      if (check.ok) return;
      const command = fileRequestCommand(ctx.policy, ctx.namespace, grant.ttl.state === 'valid' ? grant.ttl.raw : undefined, ticket);
      if (check.fromController) {
        ctx.report(
          'metadata',
          `profile ${ctx.config.profile} requires ${required} approver(s), and this write by the controller does not match an approved GrantRequest: ${check.problems.join('; ')}`,
          `the controller creates a grant only from an approved request, unchanged; file a new request: ${command}`,
        );
        return;
      }
      ctx.report(
        'metadata',
        `profile ${ctx.config.profile} requires ${required} distinct approver(s) for every grant: nobody applies one directly, the netpol-guard controller creates it once a GrantRequest is approved`,
        `file a request: ${command}; then an approver runs netpol-guard approve NAME -n ${ctx.namespace}`,
      );
    },
  },
});
