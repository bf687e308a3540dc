import { describeRelatedGrants } from '../effect/combined.js';
import { defineRule } from './types.js';

export const blastRadiusPeers = defineRule({
  id: 'blast-radius-peers',
  family: 'cluster',
  summary: 'the policy admits too many peer pods or namespaces',
  firesWhen:
    'per direction, the peers admitted are more than `limits.maxPeerPods` (200) running or pending pods or `limits.maxPeerNamespaces` (10) namespaces now, counting the peers the live grants of the same requester or ticket in the namespace admit (needs the cluster view)',
  explanation:
    'A peer selector such as namespaceSelector team: core can match every namespace of a team and thousands of pods: the grant then admits all of them. Counted per direction from the live pods and namespaces the peers match at admission (namespaceSelector × podSelector in one peer is their intersection), together with the peers of the other live grants of the same requester or ticket in the namespace, so peers handed out in pieces add up.',
  fix: 'Name the peers that need the access: a podSelector together with the namespaceSelector in the same peer, or a narrower namespaceSelector; or revoke a grant of yours the count includes.',
  grant: ['peerPods', 'peerNamespace'],
  needs: 'cluster',
  // The effect analysis reads the namespace's pods and its other NetworkPolicies.
  viewParts: ['pods', 'policies'],
  defaultAction: 'deny',
  check: {
    finish(ctx) {
      const effect = ctx.effect();
      if (effect === undefined) return;
      const { maxPeerPods, maxPeerNamespaces } = ctx.config.limits;
      const combinedHint = `the limit counts every live grant of one requester or ticket in a namespace: revoke one you no longer need (netpol-guard revoke NAME -n ${ctx.namespace}) or narrow the peers`;
      for (const d of effect.directions) {
        const pods = d.peers.pods.length;
        const namespaces = d.peers.namespaces.length;
        const combined = effect.combined?.directions.find((c) => c.direction === d.direction);
        const others = effect.combined === undefined ? '' : describeRelatedGrants(effect.combined.grants);
        if (pods > maxPeerPods) {
          ctx.report(`spec.${d.direction}`, `admits ${pods} peer pods now, more than limits.maxPeerPods (${maxPeerPods})`, 'narrow the peers: add a podSelector to the namespaceSelector in the same peer, or select fewer pods');
        } else if (combined !== undefined && combined.peerPods > maxPeerPods) {
          ctx.report(
            `spec.${d.direction}`,
            `admits ${pods} peer pods now; with ${others} in namespace ${ctx.namespace} that is ${combined.peerPods} distinct peer pods for ${d.direction}, more than limits.maxPeerPods (${maxPeerPods})`,
            combinedHint,
          );
        }
        if (namespaces > maxPeerNamespaces) {
          ctx.report(
            `spec.${d.direction}`,
            `admits pods of ${namespaces} namespaces now, more than limits.maxPeerNamespaces (${maxPeerNamespaces})`,
            'narrow the namespaceSelector to the namespaces that need the access',
          );
        } else if (combined !== undefined && combined.peerNamespaces > maxPeerNamespaces) {
          ctx.report(
            `spec.${d.direction}`,
            `admits pods of ${namespaces} namespaces now; with ${others} in namespace ${ctx.namespace} that is ${combined.peerNamespaces} distinct namespaces for ${d.direction}, more than limits.maxPeerNamespaces (${maxPeerNamespaces})`,
            combinedHint,
          );
        }
      }
    },
  },
});
