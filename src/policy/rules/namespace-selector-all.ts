import { isEmptySelector } from '../selector.js';
import { peerPath } from './paths.js';
import { defineRule } from './types.js';

export const namespaceSelectorAll = defineRule({
  id: 'namespace-selector-all',
  family: 'breadth',
  summary: 'namespaceSelector matches every namespace',
  firesWhen: "a peer's namespaceSelector is empty (every namespace)",
  explanation: 'An empty namespaceSelector ({}) in a peer selects every namespace in the cluster, including ones created later.',
  fix: 'Select the peer namespace by label, e.g. matchLabels: {kubernetes.io/metadata.name: payments}.',
  grant: ['peerNamespace'],
  needs: 'policy',
  defaultAction: 'deny',
  check: {
    peer(ctx, direction, ruleIndex, peer, peerIndex) {
      // An ipBlock peer is judged by the ipBlock rules alone (a peer mixing both is malformed).
      if (peer.ipBlock || !peer.namespaceSelector || !isEmptySelector(peer.namespaceSelector)) return;
      ctx.report(
        `${peerPath(direction, ruleIndex, peerIndex)}.namespaceSelector`,
        'is empty, so it matches every namespace in the cluster',
        'select the namespace, e.g. matchLabels: {kubernetes.io/metadata.name: payments}',
      );
    },
  },
});
