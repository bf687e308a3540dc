import { isEmptySelector } from '../selector.js';
import { defineRule } from './types.js';

export const targetAllPods = defineRule({
  id: 'target-all-pods',
  family: 'breadth',
  summary: 'spec.podSelector targets every pod',
  firesWhen: '`spec.podSelector` is empty on a policy that grants access',
  explanation: 'An empty spec.podSelector applies the access this policy grants to every pod in the namespace, not only the workload that needs it.',
  fix: 'Select the pods that need the access with matchLabels, e.g. app: database.',
  grant: ['pods'],
  needs: 'policy',
  defaultAction: 'deny',
  check: {
    policy(ctx, policy) {
      if (!isEmptySelector(policy.spec?.podSelector)) return;
      ctx.report(
        'spec.podSelector',
        'is empty, so the grant applies to every pod in the namespace',
        'select only the pods that need the access with matchLabels, e.g. app: database',
      );
    },
  },
});
