import { portsPath } from './paths.js';
import { defineRule } from './types.js';

export const portRangeTooWide = defineRule({
  id: 'port-range-too-wide',
  family: 'breadth',
  summary: 'port range is wider than allowed',
  firesWhen: '`endPort - port + 1` exceeds `limits.maxPortRange` (100)',
  explanation: 'A port..endPort range spans more ports than the configured maximum (by default 100).',
  fix: 'List the ports needed, or keep the range within the configured maximum.',
  grant: ['port'],
  needs: 'policy',
  defaultAction: 'deny',
  check: {
    port(ctx, direction, ruleIndex, port, portIndex) {
      if (typeof port.port !== 'number' || typeof port.endPort !== 'number') return;
      const width = port.endPort - port.port + 1;
      const max = ctx.config.limits.maxPortRange;
      if (width <= max) return;
      ctx.report(
        `${portsPath(direction, ruleIndex)}[${portIndex}].endPort`,
        `${port.port}-${port.endPort} spans ${width} ports, more than the allowed ${max}`,
        `list the ports needed or keep the range within ${max} ports`,
      );
    },
  },
});
