import { defineRule } from './types.js';

/** Pods named in the message; the rest are counted. */
const NAMED_PODS = 5;

export const isolatesPods = defineRule({
  id: 'isolates-pods',
  family: 'cluster',
  summary: 'the policy newly isolates pods, cutting their other traffic',
  firesWhen: 'a target pod is selected by no other policy of its namespace for a direction of this policy, so admitting it cuts all its other traffic of that direction (needs the cluster view; for a permanent principal, such as a platform team laying a baseline, only a warning)',
  explanation:
    'A pod that no NetworkPolicy selects for a direction accepts everything in that direction. The first policy that selects it isolates it: from then on only what some policy allows gets through. A temporary grant for one port then silently drops all the pod\'s other traffic, an outage caused by an access request. In a namespace with a default-deny policy for the direction every pod is already isolated and this never fires.',
  fix: 'Admit a baseline policy first that selects these pods and allows the traffic they need today (or a default-allow for the direction), or narrow spec.podSelector to pods that a policy already selects.',
  grant: ['pods'],
  needs: 'cluster',
  // The effect analysis reads the namespace's pods and its other NetworkPolicies.
  viewParts: ['pods', 'policies'],
  defaultAction: 'deny',
  // A permanent principal's baseline policy isolates on purpose: told, not stopped.
  forPermanentPrincipals: 'warn',
  check: {
    finish(ctx) {
      const effect = ctx.effect();
      if (effect === undefined) return;
      for (const d of effect.directions) {
        if (d.newlyIsolated.length === 0) continue;
        const names = d.newlyIsolated.slice(0, NAMED_PODS).map((p) => p.name);
        const more = d.newlyIsolated.length > NAMED_PODS ? ` and ${d.newlyIsolated.length - NAMED_PODS} more` : '';
        const group = d.groups.find((g) => g.selectedBy.length === 0)!;
        ctx.report(
          'spec.podSelector',
          `newly isolates ${d.newlyIsolated.length} pod(s) for ${d.direction} (${names.join(', ')}${more}): today they accept ${group.acceptsBefore}, after this policy ${group.acceptsAfter}`,
          `admit a baseline policy first that selects these pods and allows the ${d.direction} they need today (or a default-allow ${d.direction} policy), or narrow spec.podSelector to pods a policy already selects`,
        );
      }
    },
  },
});
