import type { GuardConfig } from '../config/types.js';
import type { AnnotationKeys } from '../lifecycle/annotations.js';

/**
 * What the webhook's cluster view is built from. The informers bake these in (the temporary label
 * is a server-side label selector, closed GrantRecords older than the guard window are dropped when
 * projected, staleness is judged per informer), so a config reload that changes any of them needs
 * a new view; every other key of the config applies to the next decision without one.
 */
export interface ViewSettings {
  /** annotationPrefix: the temporary label the live-grant informer selects on, the stamps it reads. */
  annotationPrefix: string;
  keys: AnnotationKeys;
  /** The longest recreateCooldown of the top level and every profile. */
  guardWindowMs: number;
  /** clusterView.maxStaleness. */
  maxStalenessMs: number;
  /** clusterView.pods: pods and every NetworkPolicy in the view. */
  pods: boolean;
}

export function viewSettings(config: GuardConfig): ViewSettings {
  return {
    annotationPrefix: config.annotationPrefix,
    keys: config.keys,
    guardWindowMs: guardWindowMs(config),
    maxStalenessMs: config.clusterView.maxStalenessMs,
    pods: config.clusterView.pods,
  };
}

/**
 * The settings that differ, by config name ([] when a view built for `before` serves `after` as
 * well). A shorter guard window needs no new view: the rule compares each record's close time with
 * the cooldown itself, so records kept a little longer than needed change nothing; a longer one
 * does, since records between the two windows were never kept.
 */
export function viewSettingsChanges(before: ViewSettings, after: ViewSettings): string[] {
  const changes: string[] = [];
  if (before.annotationPrefix !== after.annotationPrefix) changes.push('annotationPrefix');
  if (after.guardWindowMs > before.guardWindowMs) changes.push('limits.recreateCooldown');
  if (before.maxStalenessMs !== after.maxStalenessMs) changes.push('clusterView.maxStaleness');
  if (before.pods !== after.pods) changes.push('clusterView.pods');
  return changes;
}

/** How far back closed GrantRecords are kept: the longest recreateCooldown of the top level and every profile. */
export function guardWindowMs(config: GuardConfig): number {
  return Math.max(config.limits.recreateCooldownMs, ...config.profiles.map((p) => p.config.limits.recreateCooldownMs));
}
