import { portsPath } from './paths.js';
import { defineRule } from './types.js';

export const portAny = defineRule({
  id: 'port-any',
  family: 'breadth',
  summary: 'rule allows every port',
  firesWhen: "a rule's `ports` is missing or empty, or a port entry has no port",
  explanation: 'A rule without ports (or a port entry with only a protocol) allows every port of that protocol.',
  fix: 'List the ports the workload uses, e.g. {protocol: TCP, port: 5432}.',
  grant: ['port'],
  needs: 'policy',
  defaultAction: 'deny',
  check: {
    ports(ctx, direction, ruleIndex, ports) {
      if (ports && ports.length > 0) return;
      ctx.report(
        portsPath(direction, ruleIndex),
        `is ${ports ? 'empty' : 'missing'}, which allows every port and protocol`,
        'list the ports needed, e.g. - {protocol: TCP, port: 5432}',
      );
    },
    port(ctx, direction, ruleIndex, port, portIndex) {
      if (port.port !== undefined && port.port !== null && port.port !== '') return;
      ctx.report(
        `${portsPath(direction, ruleIndex)}[${portIndex}].port`,
        `is missing, which allows every ${port.protocol ?? 'TCP'} port`,
        'set the port number (or a named port)',
      );
    },
  },
});
