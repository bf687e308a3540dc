import type { V1NetworkPolicy } from '@kubernetes/client-node';

/**
 * client-node's models rename the one reserved word in a NetworkPolicy, `ingress[].from`, to
 * `_from`, and its serializer drops keys it does not know. Everything in the operator commands
 * works on wire JSON (what `-o yaml` prints and what the engine reads), so objects are converted
 * at the client boundary, in both directions.
 */
export function toWire(policy: V1NetworkPolicy): V1NetworkPolicy {
  const copy = JSON.parse(JSON.stringify(policy)) as V1NetworkPolicy;
  for (const rule of (copy.spec?.ingress ?? []) as Array<Record<string, unknown>>) {
    if ('_from' in rule) {
      if (!('from' in rule)) rule.from = rule._from;
      delete rule._from;
    }
  }
  return copy;
}

export function toModel(policy: V1NetworkPolicy): V1NetworkPolicy {
  const copy = JSON.parse(JSON.stringify(policy)) as V1NetworkPolicy;
  for (const rule of (copy.spec?.ingress ?? []) as Array<Record<string, unknown>>) {
    if ('from' in rule) {
      if (!('_from' in rule)) rule._from = rule.from;
      delete rule.from;
    }
  }
  return copy;
}
