import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { readGrantAnnotations, TEMPORARY_LABEL_VALUE } from '../lifecycle/annotations.js';
import { parseDuration } from '../lifecycle/duration.js';
import { addMs } from '../lifecycle/expiry.js';
import { normalizeTicket } from '../lifecycle/ticket.js';
import { formatTimestamp } from '../lifecycle/timestamp.js';
import { reportFailure } from '../operator/apiFailure.js';
import { extensionPatch } from '../operator/extendPatch.js';
import { createGrantApi } from '../operator/kube.js';
import { checkLocally, findingLines } from '../operator/localCheck.js';
import { formatExpiresIn } from '../operator/relative.js';
import { grantNameFrom, openSession } from '../operator/runtime.js';
import { httpStatusOf } from '../kube/apiErrors.js';
import { CONFIG_OPTION, defineCommand, KUBECONFIG_OPTION, NAMESPACE_OPTION } from './command.js';

function usage(prog: string): string {
  return `usage: ${prog} extend NAME [-n NAMESPACE] --for DURATION [--ticket TICKET]

Give a temporary grant a new expiry of DURATION from now (earlier or later than the current
one). The grant's ttl becomes DURATION and its expires-at now + DURATION; the webhook checks the
result against maxTTL and against maxLifetime counted from when the grant was first made.

options:
  -n, --namespace NS     namespace of the grant (default: the kubeconfig context's)
  --for DURATION         the new time to live, e.g. 30m, 1h, 1h30m
  --ticket TICKET        also record this ticket (e.g. the follow-up change)
  --config FILE          platform config for the local check (default: $NETPOL_GUARD_CONFIG,
                         else the built-in config)
  --kubeconfig FILE      kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config)
  --skip-local-check     send even when the local check denies, and let the webhook decide
  -h, --help             show this help

exit status: 0 extended, 1 refused, denied or not found, 2 usage or connection error
`;
}

/** Someone else may edit the grant between our read and our patch: re-read and try again this often. */
const MAX_ATTEMPTS = 3;

export const extendCommand = defineCommand({
  name: 'extend',
  summary: 'give a temporary grant a new expiry',
  usage,
  options: {
    ...NAMESPACE_OPTION,
    for: { type: 'string' },
    ticket: { type: 'string' },
    ...CONFIG_OPTION,
    ...KUBECONFIG_OPTION,
    'skip-local-check': { type: 'boolean' },
  },
  positionals: { name: 'NAME', min: 0 },
  onUsageError: { pointTo: 'flags' },
  connect: createGrantApi,
  run: async ({ flags, positionals, io, prog, say }) => {
    const name = grantNameFrom(positionals, flags.namespace, 'extend', `${prog} extend NAME -n NAMESPACE --for 1h`, say);
    if (name === undefined) return 2;
    if (flags.for === undefined) {
      say('--for DURATION is required, e.g. --for 1h');
      return 2;
    }
    const ttl = flags.for.trim();
    const duration = parseDuration(ttl);
    if (!duration.ok) {
      say(`--for ${duration.error}`);
      return 2;
    }
    if (flags.ticket !== undefined && normalizeTicket(flags.ticket) === '') {
      say('--ticket must not be empty');
      return 2;
    }
    const session = openSession(flags, io, say);
    if (session === undefined) return 2;
    const { config, namespace, api } = session;
    const keys = config.keys;

    for (let attempt = 1; ; attempt++) {
      let current: V1NetworkPolicy | undefined;
      try {
        current = await api.read(namespace, name);
      } catch (err) {
        return reportFailure(err, { verb: 'get', resource: 'networkpolicies', namespace, name }, api.server, say);
      }
      if (current === undefined) {
        say(`grant ${namespace}/${name} not found (already revoked or swept?); list the live ones with: ${prog} list -n ${namespace}`);
        return 1;
      }
      const before = readGrantAnnotations(current, keys);
      if (before.temporaryLabel !== TEMPORARY_LABEL_VALUE) {
        say(`refused: ${namespace}/${name} is not a netpol-guard temporary grant (no label ${keys.temporaryLabel}=${TEMPORARY_LABEL_VALUE}); extend only moves the expiry of grants`);
        return 1;
      }
      const now = io.now();
      const expiresAt = addMs(now, duration.ms);
      const patch = extensionPatch(current, keys, { ttl, expiresAt, ...(flags.ticket !== undefined && { ticket: flags.ticket }) });
      const proposed = applyAnnotations(current, patch.metadata.annotations);
      const check = checkLocally({ operation: 'UPDATE', policy: proposed, oldPolicy: current, namespace, config, now });
      if (check.kind === 'evaluated' && !check.allowed) {
        const lines = findingLines(check.evaluation.findings).join('\n');
        if (flags['skip-local-check'] !== true) {
          say(`refused: extending ${namespace}/${name} by ${ttl} would be denied under ${session.configLabel}; nothing was sent\n${lines}`);
          return 1;
        }
        say(`warning: the local check (${session.configLabel}) denies this extension; sending it anyway (--skip-local-check)\n${lines}`);
      }

      let updated: V1NetworkPolicy;
      try {
        updated = await api.mergePatch(namespace, name, patch);
      } catch (err) {
        if (httpStatusOf(err) === 409 && attempt < MAX_ATTEMPTS) continue;
        if (httpStatusOf(err) === 404) {
          say(`grant ${namespace}/${name} was deleted meanwhile (revoked or swept)`);
          return 1;
        }
        return reportFailure(err, { verb: 'patch', resource: 'networkpolicies', namespace, name }, api.server, say);
      }
      const after = readGrantAnnotations(updated, keys);
      const lines = [`extended ${namespace}/${name}`];
      lines.push(
        after.expiresAt.state === 'valid'
          ? `  expires:  ${formatTimestamp(after.expiresAt.value)} (${formatExpiresIn(after.expiresAt.value, now)})`
          : `  expires:  unknown: the stored grant has no valid ${keys.expiresAt}`,
      );
      if (before.expiresAt.state === 'valid') {
        lines.push(`  was:      ${formatTimestamp(before.expiresAt.value)} (${formatExpiresIn(before.expiresAt.value, now)})`);
      }
      lines.push(`  ticket:   ${after.ticket ?? '<none>'}`);
      lines.push(`  revoke:   ${prog} revoke ${name} -n ${namespace}`);
      io.stdout(`${lines.join('\n')}\n`);
      return 0;
    }
  },
});

function applyAnnotations(policy: V1NetworkPolicy, annotations: Record<string, string>): V1NetworkPolicy {
  const copy = JSON.parse(JSON.stringify(policy)) as V1NetworkPolicy;
  copy.metadata = { ...copy.metadata, annotations: { ...(copy.metadata?.annotations ?? {}), ...annotations } };
  return copy;
}
