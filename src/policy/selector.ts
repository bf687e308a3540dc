import type { V1LabelSelector } from '@kubernetes/client-node';

/** An empty (or absent) selector: no matchLabels and no matchExpressions, so it selects everything. */
export function isEmptySelector(selector: V1LabelSelector | undefined): boolean {
  if (!selector) return true;
  const labels = selector.matchLabels ? Object.keys(selector.matchLabels).length : 0;
  const expressions = selector.matchExpressions?.length ?? 0;
  return labels === 0 && expressions === 0;
}
