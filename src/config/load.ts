import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import { annotationKeys } from '../lifecycle/annotations.js';
import { parseDuration } from '../lifecycle/duration.js';
import type { RuleAction } from '../policy/findings.js';
import { RULE_IDS, type RuleId } from '../policy/ruleIds.js';
import { DEFAULT_CONFIG } from './defaults.js';
import { CONFIG_SCHEMA } from './schema.js';
import type { ConfigFile, GuardConfig } from './types.js';

export type ConfigResult = { ok: true; config: GuardConfig } | { ok: false; errors: string[] };

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validateSchema = ajv.compile<ConfigFile>(CONFIG_SCHEMA);

/** The embedded default, compiled. Cannot fail: a test pins that. */
export function defaultConfig(): GuardConfig {
  const result = buildConfig({});
  if (!result.ok) throw new Error(`embedded default config is invalid: ${result.errors.join('; ')}`);
  return result.config;
}

/** Parse YAML or JSON text (JSON is YAML) and build a config; errors name the offending path. */
export function parseConfigText(text: string, origin = 'config'): ConfigResult {
  // prettyErrors adds "at line L, column C" to the first line of each message; the code frame after it is dropped.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map((e) => `${origin}: ${e.message.split('\n')[0]!.replace(/:$/, '')}`) };
  }
  const data: unknown = doc.toJS();
  // An empty file means "all defaults", the same as no file at all.
  if (data === null || data === undefined) return buildConfig({}, origin);
  return buildConfig(data, origin);
}

export function loadConfigFile(path: string): ConfigResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { ok: false, errors: [`${path}: cannot read config file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`] };
  }
  return parseConfigText(text, path);
}

/** Validate a parsed config document against the schema, then merge it over the defaults. */
export function buildConfig(data: unknown, origin = 'config'): ConfigResult {
  if (!validateSchema(data)) {
    return { ok: false, errors: (validateSchema.errors ?? []).map((e) => `${origin}: ${describeAjvError(e)}`) };
  }
  const file = data;
  const errors: string[] = [];
  const merged: Required<ConfigFile> = {
    mode: file.mode ?? DEFAULT_CONFIG.mode,
    annotationPrefix: file.annotationPrefix ?? DEFAULT_CONFIG.annotationPrefix,
    limits: { ...DEFAULT_CONFIG.limits, ...file.limits },
    defaultTTL: file.defaultTTL === undefined ? DEFAULT_CONFIG.defaultTTL : file.defaultTTL,
    ticket: { ...DEFAULT_CONFIG.ticket, ...file.ticket },
    exemptNamespaces: file.exemptNamespaces ?? DEFAULT_CONFIG.exemptNamespaces,
    permanentPrincipals: { ...DEFAULT_CONFIG.permanentPrincipals, ...file.permanentPrincipals },
    breakGlassGroups: file.breakGlassGroups ?? DEFAULT_CONFIG.breakGlassGroups,
    rules: { ...DEFAULT_CONFIG.rules, ...file.rules },
    history: { ...DEFAULT_CONFIG.history, ...file.history },
  };

  const durationMs = (path: string, text: string): number => {
    const parsed = parseDuration(text);
    if (!parsed.ok) {
      errors.push(`${origin}: ${path}: ${parsed.error}`);
      return 0;
    }
    return parsed.ms;
  };
  const limits = merged.limits;
  const maxTTLms = durationMs('/limits/maxTTL', limits.maxTTL!);
  const maxLifetimeMs = durationMs('/limits/maxLifetime', limits.maxLifetime!);
  if (maxTTLms > 0 && maxLifetimeMs > 0 && maxLifetimeMs < maxTTLms) {
    errors.push(`${origin}: /limits/maxLifetime: ${limits.maxLifetime} is shorter than maxTTL ${limits.maxTTL}; a grant could never reach its own TTL`);
  }
  let defaultTTL: GuardConfig['defaultTTL'];
  if (merged.defaultTTL !== null) {
    const ms = durationMs('/defaultTTL', merged.defaultTTL);
    if (ms > maxTTLms && maxTTLms > 0) {
      errors.push(`${origin}: /defaultTTL: ${merged.defaultTTL} is longer than maxTTL ${limits.maxTTL}; every defaulted grant would be denied`);
    }
    defaultTTL = { text: merged.defaultTTL, ms };
  }
  let pattern: RegExp = /$^/;
  try {
    pattern = new RegExp(merged.ticket.pattern!, 'u');
  } catch (err) {
    errors.push(`${origin}: /ticket/pattern: not a valid regular expression: ${(err as Error).message}`);
  }
  const retentionMs = durationMs('/history/retention', merged.history.retention!);
  if (errors.length > 0) return { ok: false, errors };

  const rules = {} as Record<RuleId, RuleAction>;
  for (const id of RULE_IDS) rules[id] = merged.rules[id] ?? 'deny';

  return {
    ok: true,
    config: {
      mode: merged.mode,
      annotationPrefix: merged.annotationPrefix,
      keys: annotationKeys(merged.annotationPrefix),
      limits: {
        minIPv4PrefixLength: limits.minIPv4PrefixLength!,
        minIPv6PrefixLength: limits.minIPv6PrefixLength!,
        maxPortRange: limits.maxPortRange!,
        maxTTLms,
        maxLifetimeMs,
      },
      defaultTTL,
      ticket: { pattern, urlTemplate: merged.ticket.urlTemplate ?? undefined },
      exemptNamespaces: new Set(merged.exemptNamespaces),
      permanentPrincipals: {
        users: new Set(merged.permanentPrincipals.users ?? []),
        groups: new Set(merged.permanentPrincipals.groups ?? []),
        serviceAccountUsernames: new Set(
          (merged.permanentPrincipals.serviceAccounts ?? []).map((sa) => {
            const [ns, name] = sa.split('/');
            return `system:serviceaccount:${ns}:${name}`;
          }),
        ),
      },
      breakGlassGroups: new Set(merged.breakGlassGroups),
      rules,
      history: { retentionMs },
      source: merged,
    },
  };
}

/** `/limits/maxTTL: must match pattern …`, with the unknown key named for additionalProperties. */
function describeAjvError(error: ErrorObject): string {
  const path = error.instancePath === '' ? '/' : error.instancePath;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${joinPath(error.instancePath, String(error.params.additionalProperty))}: unknown key (not in the config schema)`;
    case 'enum':
      return `${path}: must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern':
      if (error.schemaPath.includes('urlTemplate')) return `${path}: must contain the placeholder {ticket}`;
      return `${path}: ${error.message ?? 'does not match the expected format'}`;
    default:
      return `${path}: ${error.message ?? error.keyword}`;
  }
}

function joinPath(base: string, key: string): string {
  return `${base}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}
