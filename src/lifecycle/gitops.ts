import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { stringEntry } from './annotations.js';
import { isJsonObject } from '../schema/json.js';

/**
 * Marks GitOps tools put on what they manage: Argo CD's annotation tracking, its default label
 * tracking (app.kubernetes.io/instance, which Helm also sets), and Flux's kustomize and helm
 * controllers' labels. A grant carrying one is re-created from Git after it expires.
 */
const TRACKING_ANNOTATIONS = ['argocd.argoproj.io/tracking-id'] as const;
const TRACKING_LABELS = ['app.kubernetes.io/instance'] as const;
const TRACKING_LABEL_PREFIXES = ['kustomize.toolkit.fluxcd.io/', 'helm.toolkit.fluxcd.io/'] as const;

/** The tracking keys found on the policy, as `label k=v` / `annotation k`; empty for a hand-made grant. */
export function gitOpsTracking(policy: V1NetworkPolicy): string[] {
  const found: string[] = [];
  const annotations = policy.metadata?.annotations;
  const labels = policy.metadata?.labels;
  for (const key of TRACKING_ANNOTATIONS) if (stringEntry(annotations, key) !== undefined) found.push(`annotation ${key}`);
  for (const key of TRACKING_LABELS) {
    const value = stringEntry(labels, key);
    if (value !== undefined) found.push(`label ${key}=${value}`);
  }
  if (isJsonObject(labels)) {
    for (const key of Object.keys(labels)) {
      if (TRACKING_LABEL_PREFIXES.some((prefix) => key.startsWith(prefix)) && stringEntry(labels, key) !== undefined) found.push(`label ${key}`);
    }
  }
  return found;
}

/** The admission warning for a grant under GitOps control, or undefined. */
export function gitOpsWarning(policy: V1NetworkPolicy): string | undefined {
  const found = gitOpsTracking(policy);
  if (found.length === 0) return undefined;
  return (
    `netpol-guard: this temporary grant is tracked by a GitOps tool (${found.slice(0, 3).join(', ')}); when it expires, Argo CD or Flux will try to re-create it from Git, ` +
    'which grant-recreated refuses: keep grants out of synced apps (a separate app with pruning on, or the netpol-guard CLI), see README "GitOps"'
  );
}
