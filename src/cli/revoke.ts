import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { readGrantAnnotations, TEMPORARY_LABEL_VALUE } from '../lifecycle/annotations.js';
import { formatTimestamp } from '../lifecycle/timestamp.js';
import { reportFailure } from '../operator/apiFailure.js';
import { summarizeAccess } from '../operator/describe.js';
import { createGrantApi } from '../operator/kube.js';
import { grantNameFrom, openSession } from '../operator/runtime.js';
import { CONFIG_OPTION, defineCommand, KUBECONFIG_OPTION, NAMESPACE_OPTION } from './command.js';

function usage(prog: string): string {
  return `usage: ${prog} revoke NAME [-n NAMESPACE] [--force]

Close a temporary grant now, before it expires. The grant is read first and deleted only if it
is still that same object (uid and resourceVersion preconditions), so a policy recreated under
the same name in between is never removed by mistake.

options:
  -n, --namespace NS     namespace of the grant (default: the kubeconfig context's)
  --force                also delete a NetworkPolicy that is not a netpol-guard temporary grant
  --config FILE          platform config, for its annotation prefix (default: $NETPOL_GUARD_CONFIG,
                         else the built-in config)
  --kubeconfig FILE      kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config)
  -h, --help             show this help

exit status: 0 revoked or already gone, 1 refused or forbidden, 2 usage or connection error
`;
}

const MAX_ATTEMPTS = 3;

export const revokeCommand = defineCommand({
  name: 'revoke',
  summary: 'close a temporary grant now',
  usage,
  options: { ...NAMESPACE_OPTION, force: { type: 'boolean' }, ...CONFIG_OPTION, ...KUBECONFIG_OPTION },
  positionals: { name: 'NAME', min: 0 },
  onUsageError: { pointTo: 'flags' },
  connect: createGrantApi,
  run: async ({ flags, positionals, io, prog, say }) => {
    const name = grantNameFrom(positionals, flags.namespace, 'revoke', `${prog} revoke NAME -n NAMESPACE`, say);
    if (name === undefined) return 2;
    const session = openSession(flags, io, say);
    if (session === undefined) return 2;
    const { namespace, api } = session;
    const keys = session.config.keys;
    const gone = () => {
      io.stdout(`${namespace}/${name} is already gone (revoked or swept); nothing to do\n`);
      return 0;
    };

    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      let current: V1NetworkPolicy | undefined;
      try {
        current = await api.read(namespace, name);
      } catch (err) {
        return reportFailure(err, { verb: 'get', resource: 'networkpolicies', namespace, name }, api.server, say);
      }
      if (current === undefined) return gone();
      const grant = readGrantAnnotations(current, keys);
      if (grant.temporaryLabel !== TEMPORARY_LABEL_VALUE && flags.force !== true) {
        say(
          `refused: ${namespace}/${name} is not a netpol-guard temporary grant (no label ${keys.temporaryLabel}=${TEMPORARY_LABEL_VALUE}), ` +
            'so it may be permanent policy; nothing was deleted. Add --force if you mean to delete it anyway.',
        );
        return 1;
      }
      const uid = current.metadata?.uid;
      const resourceVersion = current.metadata?.resourceVersion;
      if (uid === undefined || resourceVersion === undefined) {
        say(`the API server returned ${namespace}/${name} without uid or resourceVersion; refusing to delete without preconditions`);
        return 2;
      }
      let result;
      try {
        result = await api.deleteWithPreconditions({ namespace, name, uid, resourceVersion });
      } catch (err) {
        return reportFailure(err, { verb: 'delete', resource: 'networkpolicies', namespace, name }, api.server, say);
      }
      if (result === 'gone') return gone();
      if (result === 'conflict') continue; // changed since the read: look again before deleting
      const lines = [`revoked ${namespace}/${name}`, `  access:   ${summarizeAccess(current)} (closed)`];
      if (grant.ticket !== undefined) lines.push(`  ticket:   ${grant.ticket}`);
      if (grant.expiresAt.state === 'valid') lines.push(`  was due:  ${formatTimestamp(grant.expiresAt.value)}`);
      io.stdout(`${lines.join('\n')}\n`);
      return 0;
    }
    say(`${namespace}/${name} changed ${MAX_ATTEMPTS} times while revoking; nothing was deleted. Run the command again.`);
    return 1;
  },
});
