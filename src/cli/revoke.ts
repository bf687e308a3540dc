import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { readGrantAnnotations, type Stamp, TEMPORARY_LABEL_VALUE } from '../lifecycle/annotations.js';
import { formatTimestamp } from '../lifecycle/timestamp.js';
import { httpStatusOf } from '../kube/apiErrors.js';
import { describeFailure, reportFailure } from '../operator/apiFailure.js';
import { summarizeAccess } from '../operator/describe.js';
import { createGrantApi } from '../operator/kube.js';
import { revocationRequestPatch, stampedRevocation } from '../operator/revocation.js';
import { grantNameFrom, openSession } from '../operator/runtime.js';
import { phaseOf } from '../approval/approvals.js';
import { createRequestClient, type RequestClient } from '../operator/requestClient.js';
import type { CommandIo } from '../operator/runtime.js';
import { CONFIG_OPTION, defineCommand, KUBECONFIG_OPTION, NAMESPACE_OPTION } from './command.js';

function usage(prog: string): string {
  return `usage: ${prog} revoke NAME [-n NAMESPACE] [--force]
       ${prog} revoke --request NAME [-n NAMESPACE]

Close a temporary grant now, before it expires. The grant is read, then updated once to ask the
netpol-guard mutating webhook to stamp who revokes it and when (revoked-by/revoked-at, taken from
your credentials as the API server authenticated them), then deleted only if it is still that same
object (uid and resourceVersion preconditions from that update), so a policy recreated or changed
under the same name in between is never removed by mistake. When the stamp cannot be written (the
webhook is not installed, the namespace is exempt, or you may delete but not patch), the grant is
deleted anyway with a warning: its history record then says Deleted, not Revoked.

 A GrantRequest's access (README: Approvals) is revoked the same way: --request NAME (or a NAME
that is a request and not a NetworkPolicy) revokes the policy the request opened, and the
controller closes the request Revoked.

options:
  -n, --namespace NS     namespace of the grant (default: the kubeconfig context's)
  --request NAME         revoke the access of this GrantRequest
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
  options: { ...NAMESPACE_OPTION, force: { type: 'boolean' }, request: { type: 'string' }, ...CONFIG_OPTION, ...KUBECONFIG_OPTION },
  positionals: { name: 'NAME', min: 0 },
  onUsageError: { pointTo: 'flags' },
  connect: createGrantApi,
  run: async ({ flags, positionals, io, prog, say }) => {
    if (flags.request !== undefined && positionals.length > 0) {
      say(`name the grant or --request, not both: ${prog} revoke --request NAME -n NAMESPACE`);
      return 2;
    }
    const named = flags.request !== undefined ? [flags.request] : positionals;
    let name = grantNameFrom(named, flags.namespace, 'revoke', `${prog} revoke NAME -n NAMESPACE`, say);
    if (name === undefined) return 2;
    const session = openSession(flags, io, say);
    if (session === undefined) return 2;
    const { namespace, api } = session;
    const keys = session.config.keys;
    // A GrantRequest's access is its policy: revoke that, and the controller closes the request Revoked.
    let viaRequest: string | undefined;
    if (flags.request !== undefined) {
      const target = await requestTarget(createRequestClient(session.context), namespace, name, true, io, say);
      if (typeof target === 'number') return target;
      viaRequest = name;
      name = target!;
    }
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
      if (current === undefined) {
        // No such policy: NAME may be a GrantRequest (its policy can have another name).
        if (attempt === 1 && viaRequest === undefined) {
          const target = await requestTarget(createRequestClient(session.context), namespace, name, false, io, say);
          if (typeof target === 'number') return target;
          if (target !== undefined && target !== name) {
            viaRequest = name;
            name = target;
            attempt = 0;
            continue;
          }
        }
        return gone();
      }
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

      // Ask for the revocation stamp; the delete below must hit exactly the object that carries it.
      let target = { uid, resourceVersion };
      let stamp: Stamp | undefined;
      try {
        const updated = await api.mergePatch(namespace, name, revocationRequestPatch({ uid, resourceVersion }, keys));
        stamp = stampedRevocation(updated, keys);
        const updatedVersion = updated.metadata?.resourceVersion;
        if (updated.metadata?.uid !== uid || updatedVersion === undefined) {
          say(`the API server answered the update of ${namespace}/${name} without its uid or resourceVersion; refusing to delete without preconditions`);
          return 2;
        }
        target = { uid, resourceVersion: updatedVersion };
        if (stamp === undefined) {
          say(
            `warning: the revocation of ${namespace}/${name} could not be stamped: the update came back without a ${keys.revokedBy} stamp ` +
              '(is the netpol-guard mutating webhook installed, and the namespace not exempt?); deleting anyway. ' +
              'Its history record will say Deleted; the API server audit log has who deleted it.',
          );
        }
      } catch (err) {
        const status = httpStatusOf(err);
        if (status === 409) continue; // changed since the read: look again
        if (status === 404) return gone();
        const failure = describeFailure(err, { verb: 'patch', resource: 'networkpolicies', namespace, name }, api.server);
        // Unreachable or not authenticated: the delete would fail the same way.
        if (failure.kind === 'unreachable' || failure.kind === 'unauthorized') return reportFailure(err, { verb: 'patch', resource: 'networkpolicies', namespace, name }, api.server, say);
        // Revoking takes access away: a refused stamp must not keep a grant alive.
        say(
          `warning: the revocation of ${namespace}/${name} could not be stamped (${failure.lines[0] ?? 'the update failed'}); deleting anyway. ` +
            'Its history record will say Deleted; the API server audit log has who deleted it.',
        );
      }

      let result;
      try {
        result = await api.deleteWithPreconditions({ namespace, name, ...target });
      } catch (err) {
        return reportFailure(err, { verb: 'delete', resource: 'networkpolicies', namespace, name }, api.server, say);
      }
      if (result === 'gone') return gone();
      if (result === 'conflict') continue; // changed since the update: look again before deleting
      const lines = [`revoked ${namespace}/${name}`, `  access:   ${summarizeAccess(current)} (closed)`];
      if (grant.ticket !== undefined) lines.push(`  ticket:   ${grant.ticket}`);
      if (grant.expiresAt.state === 'valid') lines.push(`  was due:  ${formatTimestamp(grant.expiresAt.value)}`);
      if (stamp !== undefined) lines.push(`  by:       ${stamp.by} (stamped ${formatTimestamp(stamp.at)})`);
      if (viaRequest !== undefined) lines.push(`  request:  ${namespace}/${viaRequest} (the controller closes it Revoked)`);
      io.stdout(`${lines.join('\n')}\n`);
      return 0;
    }
    say(`${namespace}/${name} changed ${MAX_ATTEMPTS} times while revoking; nothing was deleted. Run the command again.`);
    return 1;
  },
});

/**
 * The policy a GrantRequest opened: its name; undefined when there is no such request and
 * `explicit` is false (NAME was a policy after all); an exit code after saying why there is
 * nothing to revoke (not open yet, or already closed).
 */
async function requestTarget(
  client: RequestClient,
  namespace: string,
  name: string,
  explicit: boolean,
  io: CommandIo,
  say: (text: string) => void,
): Promise<string | number | undefined> {
  let request;
  try {
    request = await client.read(namespace, name);
  } catch (err) {
    if (!explicit) return undefined;
    return reportFailure(err, { verb: 'get', resource: 'grantrequests.netpol-guard.io', namespace, name }, client.server, say);
  }
  if (request === undefined) {
    if (!explicit) return undefined;
    say(`no GrantRequest ${namespace}/${name}`);
    return 1;
  }
  const phase = phaseOf(request);
  const policy = request.status?.policyName;
  if (phase === 'Active' && policy !== undefined) return policy;
  if (phase === 'Pending' || phase === 'Approved') {
    say(`${namespace}/${name} is ${phase}: nothing is open yet. To withdraw it, delete it: kubectl delete grantrequests.netpol-guard.io ${name} -n ${namespace}`);
    return 1;
  }
  io.stdout(`GrantRequest ${namespace}/${name} is already ${phase}${request.status?.message !== undefined ? ` (${request.status.message})` : ''}; nothing to do\n`);
  return 0;
}
