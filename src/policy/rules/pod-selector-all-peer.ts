import { effectivelyAllReason, selectorEffect } from '../selectorEffect.js';
import { party, peerPath } from './paths.js';
import { defineRule } from './types.js';

export const podSelectorAllPeer = defineRule({
  id: 'pod-selector-all-peer',
  family: 'breadth',
  summary: 'peer podSelector matches every pod in the namespace',
  firesWhen: 'a peer is only a podSelector that is empty or only excludes (`DoesNotExist`, `NotIn`): every pod in the namespace',
  explanation:
    'An empty podSelector ({}) as a peer, without a namespaceSelector, selects every pod in the policy namespace. So does one whose requirements only exclude (DoesNotExist, NotIn): it matches every pod that lacks one label.',
  fix: 'Select the peer pods by label, e.g. matchLabels: {app: api}.',
  grant: ['peerPods'],
  needs: 'policy',
  defaultAction: 'deny',
  check: {
    peer(ctx, direction, ruleIndex, peer, peerIndex) {
      // With a namespaceSelector the podSelector narrows other namespaces: namespace-selector-all's concern.
      if (peer.ipBlock || peer.namespaceSelector || !peer.podSelector) return;
      const effect = selectorEffect(peer.podSelector, 'pod');
      if (!effect.selectsAll) return;
      ctx.report(
        `${peerPath(direction, ruleIndex, peerIndex)}.podSelector`,
        effect.why === '' ? 'is empty, so it matches every pod in the namespace' : `${effectivelyAllReason('pod', effect.why)} in the namespace`,
        `select the ${party(direction)} pods with matchLabels, e.g. app: api`,
      );
    },
  },
});
