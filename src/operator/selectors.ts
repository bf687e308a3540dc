import type { V1LabelSelector } from '@kubernetes/client-node';

/**
 * Label selectors as typed on the command line: `k=v[,k=v]`. Only equality is offered because a
 * grant should name the pods it opens, not describe a set by exclusion; what the API server would
 * reject (bad key or value syntax) is caught here with the offending part named.
 */
export type SelectorParse = { ok: true; matchLabels: Record<string, string> } | { ok: false; error: string };

const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The label Kubernetes puts on every namespace, naming it; lets `--from-namespace payments` work. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `label key "${key}" has an invalid prefix; it must be a DNS subdomain like example.com`;
  }
  if (name.length === 0 || name.length > 63 || !NAME_PART.test(name)) {
    return `label key "${key}" is invalid; a key is at most 63 letters, digits, "-", "_" or "." (optionally after "prefix/"), starting and ending with a letter or digit`;
  }
  return undefined;
}

export function labelValueProblem(key: string, value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !NAME_PART.test(value)) {
    return `label value "${value}" of "${key}" is invalid; a value is at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit`;
  }
  return undefined;
}

/** `app=db,tier=backend` → matchLabels. Every pair needs an `=`; a key may appear once. */
export function parseSelector(text: string): SelectorParse {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, error: 'is empty; write key=value, e.g. app=database' };
  const matchLabels: Record<string, string> = {};
  for (const rawPair of trimmed.split(',')) {
    const pair = rawPair.trim();
    const eq = pair.indexOf('=');
    if (eq < 0) return { ok: false, error: `"${pair}" is not key=value` };
    if (pair[eq + 1] === '=') return { ok: false, error: `"${pair}": write key=value with a single "="` };
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const problem = labelKeyProblem(key) ?? labelValueProblem(key, value);
    if (problem !== undefined) return { ok: false, error: problem };
    if (Object.prototype.hasOwnProperty.call(matchLabels, key)) return { ok: false, error: `names the key "${key}" twice` };
    matchLabels[key] = value;
  }
  return { ok: true, matchLabels };
}

/** A namespace selector: `team=payments`, or a bare namespace name as shorthand for its name label. */
export function parseNamespaceSelector(text: string): SelectorParse {
  const trimmed = text.trim();
  if (trimmed !== '' && !trimmed.includes('=')) {
    if (!DNS_LABEL.test(trimmed)) {
      return { ok: false, error: `"${trimmed}" is neither a namespace name nor a key=value selector` };
    }
    return { ok: true, matchLabels: { [NAMESPACE_NAME_LABEL]: trimmed } };
  }
  return parseSelector(trimmed);
}

export function isDnsLabel(text: string): boolean {
  return DNS_LABEL.test(text);
}

/** Object names of most kinds, NetworkPolicies and Pods included. */
export function isDnsSubdomain(text: string): boolean {
  return text.length <= 253 && DNS_SUBDOMAIN.test(text);
}

/** `app=db,tier=backend` (keys sorted); expressions as `k in (a,b)`, `k notin (a)`, `k`, `!k`. */
export function formatSelector(selector: V1LabelSelector | undefined): string {
  const parts: string[] = [];
  const labels = selector?.matchLabels ?? {};
  for (const key of Object.keys(labels).sort()) parts.push(`${key}=${labels[key]}`);
  for (const e of selector?.matchExpressions ?? []) {
    switch (e.operator) {
      case 'In':
        parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
        break;
      case 'NotIn':
        parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
        break;
      case 'Exists':
        parts.push(e.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${e.key}`);
        break;
      default:
        parts.push(`${e.key} ${e.operator} (${(e.values ?? []).join(',')})`);
    }
  }
  return parts.join(',');
}
