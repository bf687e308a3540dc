import { PortTotals } from '../openedTotals.js';
import { defineRule } from './types.js';

export const portsTotalTooWide = defineRule({
  id: 'ports-total-too-wide',
  family: 'breadth',
  summary: 'ports together open too many ports',
  firesWhen:
    'per direction and protocol, the ports all rules open together (single ports and `port..endPort`; a named port counts one per distinct name) exceed `limits.maxPortRange` (100)',
  explanation:
    'The single ports and port ranges of one direction and protocol, each within the limit, together open more ports than the configured maximum (by default 100): the same opening as one wide range, written in pieces. Each distinct named port counts as one port. Entries that port-range-too-wide or port-any report are not counted again.',
  fix: 'List only the ports the workload uses, together at most the configured maximum per protocol.',
  grant: ['port'],
  needs: 'policy',
  defaultAction: 'deny',
  check: {
    start: () => new PortTotals(),
    port(ctx, direction, ruleIndex, port, _portIndex, totals) {
      const protocol = port.protocol ?? 'TCP';
      if (typeof port.port === 'string') {
        if (port.port !== '') totals.addName(direction, ruleIndex, protocol, port.port);
        return;
      }
      // No port at all is port-any's finding; a range wider than the limit is port-range-too-wide's.
      if (typeof port.port !== 'number') return;
      const last = typeof port.endPort === 'number' ? port.endPort : port.port;
      if (last - port.port + 1 > ctx.config.limits.maxPortRange) return;
      totals.addSpan(direction, ruleIndex, protocol, port.port, last);
    },
    finish(ctx, totals) {
      for (const f of totals.findings(ctx.config.limits.maxPortRange)) ctx.report(f.path, f.reason, f.hint);
    },
  },
});
