import assert from 'node:assert/strict';
import jsonpatch from 'fast-json-patch';
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

/** Applies the webhook's RFC 6902 patch to a copy, as the API server does. */
export function applyPatch<T>(value: T, patch: readonly JsonPatchOperation[]): T {
  return jsonpatch.applyPatch(structuredClone(value), patch as jsonpatch.Operation[], true, false).newDocument;
}
