import { describeRelatedGrants } from '../effect/combined.js';
import { defineRule } from './types.js';

export const blastRadiusTargets = defineRule({
  id: 'blast-radius-targets',
  family: 'cluster',
  summary: 'the policy applies to too many pods',
  firesWhen:
    '`spec.podSelector` selects more than `limits.maxTargetPods` (50) running or pending pods now, counting the pods the live grants of the same requester or ticket in the namespace select (needs the cluster view)',
  explanation:
    'A label such as app: api can match hundreds of pods: the grant then opens every one of them, far more than the workload the responder meant. Counted from the live pods the selector matches at admission, together with those the other live grants of the same requester or ticket in the namespace select, so four grants of 50 pods are judged as the 200 they open.',
  fix: 'Select only the pods that need the access: add a label that narrows the selector (e.g. a component or instance label), or revoke a grant of yours the count includes.',
  grant: ['pods'],
  needs: 'cluster',
  // The effect analysis reads the namespace's pods and its other NetworkPolicies.
  viewParts: ['pods', 'policies'],
  defaultAction: 'deny',
  check: {
    finish(ctx) {
      const effect = ctx.effect();
      const first = effect?.directions[0];
      const limit = ctx.config.limits.maxTargetPods;
      if (effect === undefined || first === undefined) return;
      if (first.targets.length > limit) {
        ctx.report(
          'spec.podSelector',
          `selects ${first.targets.length} pods now, more than limits.maxTargetPods (${limit})`,
          'narrow spec.podSelector with a label only the pods that need the access carry',
        );
        return;
      }
      const combined = effect.combined;
      if (combined === undefined || combined.targets <= limit) return;
      ctx.report(
        'spec.podSelector',
        `selects ${first.targets.length} pods now; with ${describeRelatedGrants(combined.grants)} in namespace ${ctx.namespace} that is ${combined.targets} distinct pods, more than limits.maxTargetPods (${limit})`,
        `the limit counts every live grant of one requester or ticket in a namespace: revoke one you no longer need (netpol-guard revoke NAME -n ${ctx.namespace}) or narrow spec.podSelector`,
      );
    },
  },
});
