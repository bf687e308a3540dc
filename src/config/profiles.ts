import type { ClusterView } from '../cluster/view.js';
import { selectorMatches } from '../policy/selector.js';
import type { GuardConfig, Profile } from './types.js';

/**
 * Which config judges a request in `namespace`. `labelsUnknown` is true when some profile before
 * the chosen one (or the default) matches on labels and the namespace's labels are not known: the
 * choice may then be wrong, and the caller treats it like a missing cluster view (deny or warn).
 */
export interface ProfileChoice {
  config: GuardConfig;
  labelsUnknown: boolean;
}

/**
 * The first profile whose match holds, else the top level. Pure, and cheap on the hot path: the
 * profiles' configs are compiled once with the config (buildConfig), so this only picks one.
 * A profile's match is the AND of its parts: the name must match one of `namespaces`' globs and
 * the labels must match `namespaceSelector`. With the labels unknown, a selector cannot be
 * decided: such a profile is passed over and the choice is flagged.
 */
export function resolveProfile(config: GuardConfig, namespace: string, labels: Readonly<Record<string, string>> | undefined): ProfileChoice {
  let labelsUnknown = false;
  for (const profile of config.profiles) {
    if (!namesMatch(profile, namespace)) continue;
    const selector = profile.match.namespaceSelector;
    if (selector !== undefined) {
      if (labels === undefined) {
        labelsUnknown = true;
        continue;
      }
      if (!selectorMatches(selector, labels)) continue;
    }
    return { config: profile.config, labelsUnknown };
  }
  return { config, labelsUnknown };
}

/**
 * resolveProfile with the labels from the view. A stale view's labels are not trusted (a label
 * change it missed could move the namespace to another profile); no view: labels unknown.
 */
export function chooseProfile(config: GuardConfig, namespace: string, cluster: ClusterView | undefined): ProfileChoice {
  if (config.profiles.length === 0) return { config, labelsUnknown: false };
  const labels = cluster === undefined || cluster.stale() ? undefined : cluster.namespaceLabels(namespace);
  return resolveProfile(config, namespace, labels);
}

function namesMatch(profile: Profile, namespace: string): boolean {
  const patterns = profile.namespacePatterns;
  if (patterns.length === 0) return true;
  for (const pattern of patterns) if (pattern.test(namespace)) return true;
  return false;
}

/** `k=v,k2=v2` (as `--namespace-labels` takes it) → labels; errors name the bad entry. */
export function parseLabelList(text: string): { ok: true; labels: Record<string, string> } | { ok: false; error: string } {
  const labels: Record<string, string> = {};
  if (text.trim() === '') return { ok: true, labels };
  for (const entry of text.split(',')) {
    const eq = entry.indexOf('=');
    const key = eq < 0 ? '' : entry.slice(0, eq).trim();
    if (key === '') return { ok: false, error: `"${entry}" is not key=value` };
    if (Object.prototype.hasOwnProperty.call(labels, key)) return { ok: false, error: `label "${key}" is given twice` };
    labels[key] = entry.slice(eq + 1).trim();
  }
  return { ok: true, labels };
}
