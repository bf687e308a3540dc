import { competingGrants, describeOpenGrants } from '../quota.js';
import { defineRule } from './types.js';

export const quotaNamespaceExceeded = defineRule({
  id: 'quota-namespace-exceeded',
  family: 'cluster',
  summary: 'namespace already holds its quota of live grants',
  firesWhen: 'a new grant would make more than `quotas.maxLiveGrantsPerNamespace` (default unlimited) live grants in the namespace',
  explanation: 'The profile caps how many temporary grants may be open at once in one namespace; the live grants are counted in the cluster view, not counting the policy being updated.',
  fix: 'Revoke a grant you no longer need (netpol-guard revoke), or wait for one to expire.',
  grant: ['for'],
  needs: 'cluster',
  defaultAction: 'deny',
  activeUnder: (config) => config.quotas.maxLiveGrantsPerNamespace !== undefined,
  check: {
    lifecycle(ctx) {
      const max = ctx.config.quotas.maxLiveGrantsPerNamespace;
      if (max === undefined) return;
      const others = competingGrants(ctx.cluster!.liveGrantsIn(ctx.namespace), ctx);
      if (others === undefined || others.length < max) return;
      ctx.report(
        'metadata.namespace',
        `${ctx.namespace} already has ${others.length} live grant(s) and profile ${ctx.config.profile} allows ${max}: ${describeOpenGrants(others, ctx.now.getTime(), false)}`,
        `revoke one (netpol-guard revoke NAME -n ${ctx.namespace}) or wait for one to expire`,
      );
    },
  },
});
