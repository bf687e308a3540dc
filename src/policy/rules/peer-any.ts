import { party, peersPath } from './paths.js';
import { defineRule } from './types.js';

export const peerAny = defineRule({
  id: 'peer-any',
  family: 'breadth',
  summary: 'rule allows every peer',
  firesWhen: "a rule's `from`/`to` is missing or empty (every peer)",
  explanation: 'A rule without from/to (or with an empty list) matches every source or destination: all pods in all namespaces and all IP addresses.',
  fix: 'List the allowed peers with podSelector, namespaceSelector or a narrow ipBlock.',
  grant: ['cidr', 'peerPods', 'peerNamespace'],
  needs: 'policy',
  defaultAction: 'deny',
  check: {
    peers(ctx, direction, ruleIndex, peers) {
      if (peers && peers.length > 0) return;
      const other = party(direction);
      ctx.report(
        peersPath(direction, ruleIndex),
        `is ${peers ? 'empty' : 'missing'}, which Kubernetes reads as every ${other} (all pods, all namespaces, all addresses)`,
        `list the allowed ${other}s with podSelector, namespaceSelector or a narrow ipBlock`,
      );
    },
  },
});
