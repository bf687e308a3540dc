import { effectivelyAllReason, selectorEffect } from '../selectorEffect.js';
import { peerPath } from './paths.js';
import { defineRule } from './types.js';

export const namespaceSelectorAll = defineRule({
  id: 'namespace-selector-all',
  family: 'breadth',
  summary: 'namespaceSelector matches every namespace',
  firesWhen:
    "a peer's namespaceSelector is empty, or only excludes (`DoesNotExist`, `NotIn`, `Exists` on `kubernetes.io/metadata.name`): every namespace",
  explanation:
    'An empty namespaceSelector ({}) in a peer selects every namespace in the cluster, including ones created later. So does one whose requirements only exclude (DoesNotExist, NotIn) or only ask for kubernetes.io/metadata.name, which every namespace carries: it matches every namespace that lacks one label. One positive requirement (matchLabels, In, Exists on another key) makes it a real selection.',
  fix: 'Select the peer namespace by label, e.g. matchLabels: {kubernetes.io/metadata.name: payments}.',
  grant: ['peerNamespace'],
  needs: 'policy',
  defaultAction: 'deny',
  check: {
    peer(ctx, direction, ruleIndex, peer, peerIndex) {
      // An ipBlock peer is judged by the ipBlock rules alone (a peer mixing both is malformed).
      if (peer.ipBlock || !peer.namespaceSelector) return;
      const effect = selectorEffect(peer.namespaceSelector, 'namespace');
      if (!effect.selectsAll) return;
      ctx.report(
        `${peerPath(direction, ruleIndex, peerIndex)}.namespaceSelector`,
        effect.why === '' ? 'is empty, so it matches every namespace in the cluster' : effectivelyAllReason('namespace', effect.why),
        'select the namespace, e.g. matchLabels: {kubernetes.io/metadata.name: payments}',
      );
    },
  },
});
