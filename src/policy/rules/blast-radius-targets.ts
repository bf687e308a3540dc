import { defineRule } from './types.js';

export const blastRadiusTargets = defineRule({
  id: 'blast-radius-targets',
  family: 'cluster',
  summary: 'the policy applies to too many pods',
  firesWhen: '`spec.podSelector` selects more than `limits.maxTargetPods` (50) running or pending pods now (needs the cluster view)',
  explanation:
    'A label such as app: api can match hundreds of pods: the grant then opens every one of them, far more than the workload the responder meant. Counted from the live pods the selector matches at admission.',
  fix: 'Select only the pods that need the access: add a label that narrows the selector (e.g. a component or instance label).',
  grant: ['pods'],
  needs: 'cluster',
  // The effect analysis reads the namespace's pods and its other NetworkPolicies.
  viewParts: ['pods', 'policies'],
  defaultAction: 'deny',
  check: {
    finish(ctx) {
      const first = ctx.effect()?.directions[0];
      const limit = ctx.config.limits.maxTargetPods;
      if (first === undefined || first.targets.length <= limit) return;
      ctx.report(
        'spec.podSelector',
        `selects ${first.targets.length} pods now, more than limits.maxTargetPods (${limit})`,
        'narrow spec.podSelector with a label only the pods that need the access carry',
      );
    },
  },
});
