import { defineRule } from './types.js';

export const targetSelectsNothing = defineRule({
  id: 'target-selects-nothing',
  family: 'cluster',
  summary: 'spec.podSelector selects no pod',
  firesWhen: '`spec.podSelector` selects no running or pending pod of the namespace now (needs the cluster view)',
  explanation:
    'A grant whose target selects no pod opens nothing: usually a typo in a label, so the access the responder asked for never works. It may also be a policy applied before its pods exist (CI), which is why the default is warn.',
  fix: "Compare spec.podSelector with the pods' labels (kubectl get pods --show-labels) and fix the selector.",
  grant: ['pods'],
  needs: 'cluster',
  // The effect analysis reads the namespace's pods and its other NetworkPolicies.
  viewParts: ['pods', 'policies'],
  defaultAction: 'warn',
  check: {
    finish(ctx) {
      const effect = ctx.effect();
      const first = effect?.directions[0];
      if (first === undefined || first.targets.length > 0) return;
      ctx.report(
        'spec.podSelector',
        `selects no pod in namespace ${ctx.namespace} now, so the grant opens nothing`,
        'check the selector against the pods\' labels (kubectl get pods --show-labels); a typo is the usual cause',
      );
    },
  },
});
