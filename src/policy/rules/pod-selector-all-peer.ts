import { isEmptySelector } from '../selector.js';
import { party, peerPath } from './paths.js';
import { defineRule } from './types.js';

export const podSelectorAllPeer = defineRule({
  id: 'pod-selector-all-peer',
  family: 'breadth',
  summary: 'peer podSelector matches every pod in the namespace',
  firesWhen: 'a peer is only an empty podSelector (every pod in the namespace)',
  explanation: 'An empty podSelector ({}) as a peer, without a namespaceSelector, selects every pod in the policy namespace.',
  fix: 'Select the peer pods by label, e.g. matchLabels: {app: api}.',
  grant: ['peerPods'],
  needs: 'policy',
  defaultAction: 'deny',
  check: {
    peer(ctx, direction, ruleIndex, peer, peerIndex) {
      // With a namespaceSelector the podSelector narrows other namespaces: namespace-selector-all's concern.
      if (peer.ipBlock || peer.namespaceSelector || !peer.podSelector || !isEmptySelector(peer.podSelector)) return;
      ctx.report(
        `${peerPath(direction, ruleIndex, peerIndex)}.podSelector`,
        'is empty, so it matches every pod in the namespace',
        `select the ${party(direction)} pods with matchLabels, e.g. app: api`,
      );
    },
  },
});
