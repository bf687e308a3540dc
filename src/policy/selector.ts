import type { V1LabelSelector } from '@kubernetes/client-node';

/** An empty (or absent) selector: no matchLabels and no matchExpressions, so it selects everything. */
export function isEmptySelector(selector: V1LabelSelector | undefined): boolean {
  if (!selector) return true;
  const labels = selector.matchLabels ? Object.keys(selector.matchLabels).length : 0;
  const expressions = selector.matchExpressions?.length ?? 0;
  return labels === 0 && expressions === 0;
}

/**
 * Whether a label selector selects an object with these labels, as Kubernetes defines it:
 * every matchLabels entry must be present with that value, and every matchExpressions entry must
 * hold (In: the key is present with one of the values; NotIn: the key is absent or its value is
 * none of them; Exists: the key is present; DoesNotExist: it is absent). The requirements are
 * ANDed; an empty selector selects everything. An operator Kubernetes does not know selects
 * nothing (the API server would have refused it), as does an absent selector, following
 * LabelSelectorAsSelector(nil).
 */
export function selectorMatches(selector: V1LabelSelector | undefined | null, labels: Readonly<Record<string, string>>): boolean {
  if (selector === undefined || selector === null) return false;
  const matchLabels = selector.matchLabels ?? {};
  for (const key of Object.keys(matchLabels)) {
    if (!hasLabel(labels, key) || labels[key] !== matchLabels[key]) return false;
  }
  for (const requirement of selector.matchExpressions ?? []) {
    const present = hasLabel(labels, requirement.key);
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case 'In':
        if (!present || !values.includes(labels[requirement.key]!)) return false;
        break;
      case 'NotIn':
        if (present && values.includes(labels[requirement.key]!)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** Own keys only: a label named "constructor" or "toString" is not present just because objects have one. */
function hasLabel(labels: Readonly<Record<string, string>>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(labels, key);
}
