/**
 * What a label selector selects in effect, not how it is written. A requirement that only excludes
 * (DoesNotExist, NotIn), or that asks for a label every object of its kind carries, still matches
 * everything that merely lacks one label: every namespace created tomorrow, every pod without
 * `app: x`. Such a selector is as broad as `{}` and is judged like it. One positive requirement
 * (a matchLabels entry, In, or Exists on a label not every object has) narrows it, and the selector
 * is then judged as written.
 */
import type { V1LabelSelector, V1LabelSelectorRequirement } from '@kubernetes/client-node';

export type SelectedKind = 'namespace' | 'pod';

/**
 * Labels that every object of a kind carries. The API server sets kubernetes.io/metadata.name on
 * every namespace (and keeps it equal to the name); pods have no such label.
 */
const UNIVERSAL_LABELS: Record<SelectedKind, ReadonlySet<string>> = {
  namespace: new Set(['kubernetes.io/metadata.name']),
  pod: new Set(),
};

export type SelectorEffect =
  | { selectsAll: false }
  /** `why` completes "matches every namespace …"; empty when the selector is written as `{}`. */
  | { selectsAll: true; why: string };

/**
 * Whether `selector` selects every object of `kind` (in its scope) in effect. Null and missing
 * fields are absent, as the API server reads them.
 */
export function selectorEffect(selector: V1LabelSelector | null | undefined, kind: SelectedKind): SelectorEffect {
  const matchLabels = selector?.matchLabels;
  if (matchLabels !== null && matchLabels !== undefined && Object.keys(matchLabels).length > 0) return { selectsAll: false };
  const expressions = selector?.matchExpressions ?? [];
  if (expressions.length === 0) return { selectsAll: true, why: '' };
  const universal = UNIVERSAL_LABELS[kind];
  const clauses: string[] = [];
  for (const expression of expressions) {
    // The shape check refuses null items; a caller that skipped it gets the conservative answer.
    if (expression === null || expression === undefined) return { selectsAll: false };
    const clause = unrestrictiveClause(expression, universal, kind);
    if (clause === undefined) return { selectsAll: false };
    clauses.push(clause);
  }
  return { selectsAll: true, why: clauses.join(' and ') };
}

/** The wording of a requirement that does not narrow the selection, else undefined. */
function unrestrictiveClause(requirement: V1LabelSelectorRequirement, universal: ReadonlySet<string>, kind: SelectedKind): string | undefined {
  const key = requirement.key;
  switch (requirement.operator) {
    case 'DoesNotExist':
      return `without label ${key}`;
    case 'NotIn':
      return `whose label ${key} is absent or not ${(requirement.values ?? []).join(', ')}`;
    case 'Exists':
      return universal.has(key) ? `with label ${key}, which every ${kind} has` : undefined;
    default:
      return undefined;
  }
}

/** "matches every namespace without label no-such-label: effectively all". */
export function effectivelyAllReason(kind: SelectedKind, why: string): string {
  return `matches every ${kind} ${why}: effectively all`;
}
