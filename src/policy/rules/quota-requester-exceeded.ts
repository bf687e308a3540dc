import { competingGrants, describeOpenGrants } from '../quota.js';
import { annotationPath } from './paths.js';
import { defineRule } from './types.js';

export const quotaRequesterExceeded = defineRule({
  id: 'quota-requester-exceeded',
  family: 'cluster',
  summary: 'requester already holds their quota of live grants',
  firesWhen: 'a new grant would give its requester more than `quotas.maxLiveGrantsPerRequester` (default unlimited) live grants, in all namespaces',
  explanation: 'The profile caps how many temporary grants one person (the requested-by stamp the mutator takes from the authenticated user) may hold open at once, across namespaces.',
  fix: 'Revoke a grant you no longer need (netpol-guard revoke), or wait for one to expire.',
  grant: ['for'],
  needs: 'cluster',
  defaultAction: 'deny',
  activeUnder: (config) => config.quotas.maxLiveGrantsPerRequester !== undefined,
  check: {
    lifecycle(ctx, { grant }) {
      const max = ctx.config.quotas.maxLiveGrantsPerRequester;
      // The mutator stamps requested-by from the authenticated user and never trusts the request's.
      const requester = grant.requestedBy;
      if (max === undefined || requester === undefined) return;
      const others = competingGrants(ctx.cluster!.liveGrantsBy(requester), ctx);
      if (others === undefined || others.length < max) return;
      ctx.report(
        annotationPath(ctx.config.keys.requestedBy),
        `${requester} already holds ${others.length} live grant(s) and profile ${ctx.config.profile} allows ${max}: ${describeOpenGrants(others, ctx.now.getTime(), true)}`,
        'revoke one (netpol-guard revoke NAME -n NAMESPACE) or wait for one to expire',
      );
    },
  },
});
