import { defineRule } from './types.js';

export const blastRadiusPeers = defineRule({
  id: 'blast-radius-peers',
  family: 'cluster',
  summary: 'the policy admits too many peer pods or namespaces',
  firesWhen:
    'per direction, the peers admitted are more than `limits.maxPeerPods` (200) running or pending pods or `limits.maxPeerNamespaces` (10) namespaces now (needs the cluster view)',
  explanation:
    'A peer selector such as namespaceSelector team: core can match every namespace of a team and thousands of pods: the grant then admits all of them. Counted per direction from the live pods and namespaces the peers match at admission (namespaceSelector × podSelector in one peer is their intersection).',
  fix: 'Name the peers that need the access: a podSelector together with the namespaceSelector in the same peer, or a narrower namespaceSelector.',
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
      for (const d of effect.directions) {
        const pods = d.peers.pods.length;
        const namespaces = d.peers.namespaces.length;
        if (pods > maxPeerPods) {
          ctx.report(`spec.${d.direction}`, `admits ${pods} peer pods now, more than limits.maxPeerPods (${maxPeerPods})`, 'narrow the peers: add a podSelector to the namespaceSelector in the same peer, or select fewer pods');
        }
        if (namespaces > maxPeerNamespaces) {
          ctx.report(
            `spec.${d.direction}`,
            `admits pods of ${namespaces} namespaces now, more than limits.maxPeerNamespaces (${maxPeerNamespaces})`,
            'narrow the namespaceSelector to the namespaces that need the access',
          );
        }
      }
    },
  },
});
