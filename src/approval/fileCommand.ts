import type { V1LabelSelector, V1NetworkPolicy, V1NetworkPolicyPeer, V1NetworkPolicyPort } from '@kubernetes/client-node';

/**
 * The command that files a GrantRequest for the same access as `policy`, for the approval-required
 * denial: `netpol-guard grant -n NS --to app=x --from-pods app=y --port 8080/TCP --for 2h --ticket T`.
 * Pure. A policy that grant's flags cannot express (several rules or directions, matchExpressions,
 * ipBlock.except, several peer kinds that are not pod+namespace pairs) gets a GrantRequest
 * manifest hint instead: guessing flags that open something else would be worse than none.
 */
export function fileRequestCommand(policy: V1NetworkPolicy, namespace: string, ttl: string | undefined, ticket: string | undefined): string {
  const tail = `--for ${ttl ?? 'DURATION'} --ticket ${shellWord(ticket ?? 'TICKET')}`;
  const flags = grantFlags(policy);
  if (flags === undefined) {
    return `kubectl create -n ${namespace} -f REQUEST.yaml with apiVersion netpol-guard.io/v1alpha1, kind GrantRequest, spec.policy this spec, spec.duration and spec.ticket`;
  }
  return `netpol-guard grant -n ${namespace} ${flags.join(' ')} ${tail} (or kubectl netpol-guard grant …)`;
}

function grantFlags(policy: V1NetworkPolicy): string[] | undefined {
  const spec = policy.spec;
  if (!isObject(spec)) return undefined;
  const ingress = spec.ingress ?? [];
  const egress = spec.egress ?? [];
  if (ingress.length + egress.length !== 1) return undefined;
  const direction = ingress.length === 1 ? 'ingress' : 'egress';
  const types = spec.policyTypes ?? [];
  if (types.length > 1 || (types.length === 1 && types[0] !== (direction === 'ingress' ? 'Ingress' : 'Egress'))) return undefined;
  // grant's flag names (src/operator/grantFlags.ts DIRECTION_FLAGS), not imported: a rule must not load the CLI.
  const names = direction === 'ingress' ? { cidr: 'from-cidr', peerPods: 'from-pods', peerNamespace: 'from-namespace' } : { cidr: 'to-cidr', peerPods: 'to-pods', peerNamespace: 'to-namespace' };
  const rule = (direction === 'ingress' ? ingress[0] : egress[0]) as { from?: V1NetworkPolicyPeer[]; to?: V1NetworkPolicyPeer[]; ports?: V1NetworkPolicyPort[] };
  const pods = labelsOf(spec.podSelector);
  if (pods === undefined || pods === '') return undefined;
  const flags = [`--${direction === 'ingress' ? 'to' : 'from'} ${pods}`];
  if (direction === 'egress') flags.unshift('--egress');
  const peers = (direction === 'ingress' ? rule.from : rule.to) ?? [];
  for (const peer of peers) {
    if (!isObject(peer)) return undefined;
    if (isObject(peer.ipBlock)) {
      if (peer.podSelector !== undefined || peer.namespaceSelector !== undefined || (peer.ipBlock.except ?? []).length > 0) return undefined;
      flags.push(`--${names.cidr} ${peer.ipBlock.cidr}`);
      continue;
    }
    if (peers.length !== 1) return undefined; // grant's pod/namespace flags make one peer
    if (peer.podSelector !== undefined) {
      const labels = labelsOf(peer.podSelector);
      if (labels === undefined || labels === '') return undefined;
      flags.push(`--${names.peerPods} ${labels}`);
    }
    if (peer.namespaceSelector !== undefined) {
      const labels = labelsOf(peer.namespaceSelector);
      if (labels === undefined || labels === '') return undefined;
      const name = /^kubernetes\.io\/metadata\.name=([^,]+)$/.exec(labels)?.[1];
      flags.push(`--${names.peerNamespace} ${name ?? labels}`);
    }
  }
  if (peers.length === 0) return undefined;
  for (const port of rule.ports ?? []) {
    if (!isObject(port) || port.port === undefined) return undefined;
    const range = port.endPort === undefined ? String(port.port) : `${port.port}-${port.endPort}`;
    flags.push(`--port ${range}/${port.protocol ?? 'TCP'}`);
  }
  return flags;
}

/** `k=v,k2=v2` for a selector of matchLabels only; undefined when it has matchExpressions. */
function labelsOf(selector: V1LabelSelector | undefined): string | undefined {
  if (!isObject(selector)) return undefined;
  if ((selector.matchExpressions ?? []).length > 0) return undefined;
  const labels = selector.matchLabels ?? {};
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

/** Quoted for a POSIX shell when it holds anything but plain characters. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9._:/@%+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A non-null object, keeping its declared type (parsed JSON may hold null where a type says object). */
function isObject<T>(value: T | null | undefined): value is T {
  return value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value);
}
