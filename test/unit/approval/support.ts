import assert from 'node:assert/strict';
import { buildConfig } from '../../../src/config/load.js';
import type { GuardConfig } from '../../../src/config/types.js';
import type { JsonPatchOperation } from '../../../src/lifecycle/patch.js';

export const CONTROLLER = 'system:serviceaccount:netpol-guard:netpol-guard';
export const BREAK_GLASS = 'sre-break-glass';

/** Top level: approval off; profile prod (namespaces prod-*): `required` approvers, maxTTL 4h. */
export function approvalConfig(required = 2, extra: Record<string, unknown> = {}): GuardConfig {
  const result = buildConfig(
    {
      breakGlassGroups: [BREAK_GLASS],
      approval: { controllerUsers: [CONTROLLER] },
      profiles: [{ name: 'prod', match: { namespaces: ['prod-*'] }, limits: { maxTTL: '4h' }, approval: { required } }],
      ...extra,
    },
    'test',
  );
  if (!result.ok) assert.fail(result.errors.join('; '));
  return result.config;
}

/** The profile config of prod. */
export function prodProfile(config: GuardConfig): GuardConfig {
  return config.profiles[0]!.config;
}

/** Applies RFC 6902 add/replace/remove to a deep copy (enough for the webhook's own patches). */
export function applyPatch<T>(value: T, patch: readonly JsonPatchOperation[]): T {
  const copy = structuredClone(value) as unknown;
  for (const op of patch) {
    const segments = op.path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = segments.pop()!;
    let parent = copy as Record<string, unknown> | unknown[];
    for (const segment of segments) parent = (parent as Record<string, unknown>)[segment] as Record<string, unknown>;
    if (op.op === 'remove') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (op.op === 'add' || op.op === 'replace') {
      if (Array.isArray(parent)) {
        if (last === '-') parent.push(op.value);
        else if (op.op === 'add') parent.splice(Number(last), 0, op.value);
        else parent[Number(last)] = op.value;
      } else {
        parent[last] = op.value;
      }
    }
  }
  return copy as T;
}
