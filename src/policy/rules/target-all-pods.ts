import { effectivelyAllReason, selectorEffect } from '../selectorEffect.js';
import { defineRule } from './types.js';

export const targetAllPods = defineRule({
  id: 'target-all-pods',
  family: 'breadth',
  summary: 'spec.podSelector targets every pod',
  firesWhen: '`spec.podSelector` is empty, or only excludes (`DoesNotExist`, `NotIn`), on a policy that grants access',
  explanation:
    'An empty spec.podSelector applies the access this policy grants to every pod in the namespace, not only the workload that needs it. So does one whose requirements only exclude (DoesNotExist, NotIn).',
  fix: 'Select the pods that need the access with matchLabels, e.g. app: database.',
  grant: ['pods'],
  needs: 'policy',
  defaultAction: 'deny',
  check: {
    policy(ctx, policy) {
      const effect = selectorEffect(policy.spec?.podSelector, 'pod');
      if (!effect.selectsAll) return;
      ctx.report(
        'spec.podSelector',
        effect.why === ''
          ? 'is empty, so the grant applies to every pod in the namespace'
          : `${effectivelyAllReason('pod', effect.why)}, so the grant applies to every pod in the namespace`,
        'select only the pods that need the access with matchLabels, e.g. app: database',
      );
    },
  },
});
