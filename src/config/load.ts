import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { isScalar, parseDocument } from 'yaml';
import { annotationKeys } from '../lifecycle/annotations.js';
import { parseDuration } from '../lifecycle/duration.js';
import { cidrRange, parseCidr } from '../policy/cidr.js';
import type { RuleAction } from '../policy/findings.js';
import type { ForbiddenRange } from '../policy/openedTotals.js';
import { RULE_IDS, type RuleId } from '../policy/ruleIds.js';
import { DEFAULT_CONFIG } from './defaults.js';
import { CONFIG_SCHEMA } from './schema.js';
import type { ConfigFile, GuardConfig, Profile, ProfileFile, ProfileMatch } from './types.js';

export type ConfigResult =
  | { ok: true; config: GuardConfig }
  | {
      ok: false;
      errors: string[];
      /** True when the text holds no settings at all (empty, whitespace or comments only). */
      empty?: boolean;
    };

/** The reason given for a file that holds no settings; the config store and tests match on it. */
export const EMPTY_CONFIG_FILE = 'config file is empty';
/** What an operator who wants the defaults should do instead of giving an empty file. */
export const EMPTY_CONFIG_AT_START_HINT = 'remove --config (and NETPOL_GUARD_CONFIG) to use the embedded default, or write {} to mean it explicitly';

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validateSchema = ajv.compile<ConfigFile>(CONFIG_SCHEMA);

/** The embedded default, compiled. Cannot fail: a test pins that. */
export function defaultConfig(): GuardConfig {
  const result = buildConfig({});
  if (!result.ok) throw new Error(`embedded default config is invalid: ${result.errors.join('; ')}`);
  return result.config;
}

/**
 * Parse YAML or JSON text (JSON is YAML) and build a config; errors name the offending path.
 *
 * Text with no settings at all (empty, whitespace, comments or a bare `---`) is an error, never
 * "all defaults": a zero-byte file is what `cat > config.yaml` or an editor leaves on disk for a
 * moment, and reading it as the defaults would silently switch warn mode to enforce and undo
 * every setting. An explicit `{}` still means the defaults.
 */
export function parseConfigText(text: string, origin = 'config'): ConfigResult {
  if (text.trim() === '') return emptyConfig(origin, 'only whitespace');
  // prettyErrors adds "at line L, column C" to the first line of each message; the code frame after it is dropped.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map((e) => `${origin}: ${e.message.split('\n')[0]!.replace(/:$/, '')}`) };
  }
  // A document with no content node, or only an empty one (a bare `---`), holds nothing but
  // comments or separators; a written `null` or `~` is a value, refused by the schema.
  const contents = doc.contents;
  if (contents === null || (isScalar(contents) && contents.value === null && contents.range?.[0] === contents.range?.[1])) {
    return emptyConfig(origin, 'only comments');
  }
  return buildConfig(doc.toJS(), origin);
}

function emptyConfig(origin: string, what: string): ConfigResult {
  return { ok: false, empty: true, errors: [`${origin}: ${EMPTY_CONFIG_FILE} (${what}; no settings)`] };
}

/**
 * Reads a config file once, as every command given `--config` does at start (serve's watching
 * store, sweep, check, grant). An empty file is an error that says how to get the defaults.
 */
export function loadConfigFile(path: string): ConfigResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { ok: false, errors: [`${path}: cannot read config file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`] };
  }
  return withStartHint(parseConfigText(text, path));
}

/** Adds EMPTY_CONFIG_AT_START_HINT to an empty-file error: at start there is no last good config. */
export function withStartHint<R extends { ok: true } | { ok: false; errors: string[]; empty?: boolean }>(result: R): R {
  if (result.ok || !result.empty) return result;
  return { ...result, errors: result.errors.map((e) => `${e}; ${EMPTY_CONFIG_AT_START_HINT}`) };
}

/** Validate a parsed config document against the schema, then merge it over the defaults. */
export function buildConfig(data: unknown, origin = 'config'): ConfigResult {
  if (!validateSchema(data)) {
    return { ok: false, errors: (validateSchema.errors ?? []).map((e) => `${origin}: ${describeAjvError(e)}`) };
  }
  const file = data;
  const errors: string[] = [];
  const top = compileLevel(file, mergeOverDefaults(file), origin, '', DEFAULT_PROFILE_NAME, errors);
  if (errors.length > 0) return { ok: false, errors };
  // Profiles are compiled only over a valid top level, so a top-level mistake is reported once.
  const profiles = compileProfiles(file, origin, errors);
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, config: { ...top!, profiles } };
}

/** The top-level profile's name: it judges every namespace no profile matches. */
export const DEFAULT_PROFILE_NAME = 'default';

function mergeOverDefaults(file: ConfigFile): Required<ConfigFile> {
  return {
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
    quotas: { ...DEFAULT_CONFIG.quotas, ...file.quotas },
    approval: { ...DEFAULT_CONFIG.approval, ...file.approval },
    clusterView: { ...DEFAULT_CONFIG.clusterView, ...file.clusterView },
    profiles: file.profiles ?? DEFAULT_CONFIG.profiles,
    notify: { ...DEFAULT_CONFIG.notify, ...file.notify },
  };
}

/** A profile's keys laid over the merged top level, section by section, as the top level lies over the defaults. */
function overlayProfile(top: Required<ConfigFile>, profile: ProfileFile): Required<ConfigFile> {
  return {
    ...top,
    mode: profile.mode ?? top.mode,
    limits: { ...top.limits, ...profile.limits },
    defaultTTL: profile.defaultTTL === undefined ? top.defaultTTL : profile.defaultTTL,
    ticket: { ...top.ticket, ...profile.ticket },
    permanentPrincipals: { ...top.permanentPrincipals, ...profile.permanentPrincipals },
    rules: { ...top.rules, ...profile.rules },
    quotas: { ...top.quotas, ...profile.quotas },
    approval: { ...top.approval, ...profile.approval },
    profiles: [],
  };
}

function compileProfiles(file: ConfigFile, origin: string, errors: string[]): Profile[] {
  const top = mergeOverDefaults(file);
  const seen = new Map<string, number>();
  return (file.profiles ?? []).flatMap((written, i) => {
    const at = `/profiles/${i}`;
    const before = errors.length;
    if (written.name === DEFAULT_PROFILE_NAME) errors.push(`${origin}: ${at}/name: "${DEFAULT_PROFILE_NAME}" is the top level's name; choose another`);
    const first = seen.get(written.name);
    if (first !== undefined) errors.push(`${origin}: ${at}/name: "${written.name}" is already the name of /profiles/${first}`);
    seen.set(written.name, i);
    selectorProblems(written.match.namespaceSelector, `${at}/match/namespaceSelector`).forEach((p) => errors.push(`${origin}: ${p}`));
    const config = compileLevel(written, overlayProfile(top, written), origin, at, written.name, errors);
    if (config === undefined || errors.length > before) return [];
    const profile: Profile = {
      name: written.name,
      match: written.match,
      namespacePatterns: (written.match.namespaces ?? []).map(globPattern),
      config,
    };
    return [profile];
  });
}

/** The API server refuses these selectors; a profile must not hold one the cluster could never mean. */
function selectorProblems(selector: ProfileMatch['namespaceSelector'], at: string): string[] {
  const problems: string[] = [];
  (selector?.matchExpressions ?? []).forEach((req, j) => {
    const values = req.values ?? [];
    if ((req.operator === 'In' || req.operator === 'NotIn') && values.length === 0) problems.push(`${at}/matchExpressions/${j}/values: ${req.operator} needs at least one value`);
    if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && values.length > 0) problems.push(`${at}/matchExpressions/${j}/values: ${req.operator} takes no values`);
  });
  return problems;
}

/** `prod-*` → /^prod-.*$/: `*` any run of characters, `?` one; everything else literal (the schema allows only [-a-z0-9]). */
export function globPattern(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/**
 * One level (the top, or a profile laid over it) compiled into the engine's config. `written` is
 * what this level itself says (cross-key checks blame only what it wrote); `at` prefixes paths.
 */
function compileLevel(written: ConfigFile, merged: Required<ConfigFile>, origin: string, at: string, profile: string, errors: string[]): GuardConfig | undefined {
  const before = errors.length;
  const durationMs = (path: string, text: string): number => {
    const parsed = parseDuration(text);
    if (!parsed.ok) {
      errors.push(`${origin}: ${at}${path}: ${parsed.error}`);
      return 0;
    }
    return parsed.ms;
  };
  const limits = merged.limits;
  const maxTTLms = durationMs('/limits/maxTTL', limits.maxTTL!);
  const maxLifetimeMs = durationMs('/limits/maxLifetime', limits.maxLifetime!);
  if (maxTTLms > 0 && maxLifetimeMs > 0 && maxLifetimeMs < maxTTLms) {
    errors.push(`${origin}: ${at}/limits/maxLifetime: ${limits.maxLifetime} is shorter than maxTTL ${limits.maxTTL}; a grant could never reach its own TTL`);
  }
  const recreateCooldownMs = limits.recreateCooldown === null || limits.recreateCooldown === undefined ? maxLifetimeMs : durationMs('/limits/recreateCooldown', limits.recreateCooldown);
  let defaultTTL: GuardConfig['defaultTTL'];
  if (merged.defaultTTL !== null) {
    const ms = durationMs('/defaultTTL', merged.defaultTTL);
    if (ms > maxTTLms && maxTTLms > 0) {
      errors.push(`${origin}: ${at}/defaultTTL: ${merged.defaultTTL} is longer than maxTTL ${limits.maxTTL}; every defaulted grant would be denied`);
    }
    defaultTTL = { text: merged.defaultTTL, ms };
  }
  const sizeAction = written.rules?.['policy-too-large'];
  if (sizeAction !== undefined && sizeAction !== 'deny') {
    errors.push(`${origin}: ${at}/rules/policy-too-large: must be deny, got ${sizeAction}: an oversized policy is never evaluated, so it cannot be admitted with a warning; raise limits.maxPolicyElements instead`);
  }
  const forbiddenCIDRs: ForbiddenRange[] = [];
  limits.forbiddenCIDRs!.forEach((text, i) => {
    const parsed = parseCidr(text);
    if (!parsed.ok) errors.push(`${origin}: ${at}/limits/forbiddenCIDRs/${i}: ${parsed.error}`);
    else forbiddenCIDRs.push({ text, family: parsed.cidr.family, range: cidrRange(parsed.cidr) });
  });
  let pattern: RegExp = /$^/;
  try {
    pattern = new RegExp(merged.ticket.pattern!, 'u');
  } catch (err) {
    errors.push(`${origin}: ${at}/ticket/pattern: not a valid regular expression: ${(err as Error).message}`);
  }
  const retentionMs = durationMs('/history/retention', merged.history.retention!);
  const maxStalenessMs = durationMs('/clusterView/maxStaleness', merged.clusterView.maxStaleness!);
  const pendingTtlMs = durationMs('/approval/pendingTTL', merged.approval.pendingTTL!);
  const beforeExpiryMs = durationMs('/notify/beforeExpiry', merged.notify.beforeExpiry!);
  const webhooks = merged.notify.webhooks ?? [];
  const seenNames = new Set<string>();
  webhooks.forEach((target, i) => {
    // Names label the counter and the log lines: two targets with one name could not be told apart.
    if (seenNames.has(target.name)) errors.push(`${origin}: /notify/webhooks/${i}/name: "${target.name}" is already the name of another webhook`);
    seenNames.add(target.name);
  });
  if (errors.length > before) return undefined;

  const rules = {} as Record<RuleId, RuleAction>;
  for (const id of RULE_IDS) rules[id] = merged.rules[id] ?? 'deny';

  return {
    mode: merged.mode,
    annotationPrefix: merged.annotationPrefix,
    keys: annotationKeys(merged.annotationPrefix),
    limits: {
      minIPv4PrefixLength: limits.minIPv4PrefixLength!,
      minIPv6PrefixLength: limits.minIPv6PrefixLength!,
      maxPortRange: limits.maxPortRange!,
      forbiddenCIDRs,
      maxTTLms,
      maxLifetimeMs,
      maxPolicyElements: limits.maxPolicyElements!,
      recreateCooldownMs,
      maxTargetPods: limits.maxTargetPods!,
      maxPeerPods: limits.maxPeerPods!,
      maxPeerNamespaces: limits.maxPeerNamespaces!,
      maxAnalysisWork: limits.maxAnalysisWork!,
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
    quotas: {
      maxLiveGrantsPerNamespace: merged.quotas.maxLiveGrantsPerNamespace ?? undefined,
      maxLiveGrantsPerRequester: merged.quotas.maxLiveGrantsPerRequester ?? undefined,
    },
    approval: {
      required: merged.approval.required!,
      pendingTtlMs,
      controllerUsers: new Set(merged.approval.controllerUsers ?? []),
    },
    clusterView: {
      maxStalenessMs,
      onUnavailable: merged.clusterView.onUnavailable ?? (merged.mode === 'enforce' ? 'deny' : 'warn'),
      pods: merged.clusterView.pods ?? true,
    },
    notify: { beforeExpiryMs, webhooks: webhooks.map((target) => ({ ...target, events: [...target.events] })) },
    profile,
    profiles: [],
    source: merged,
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
      if (/\/match\/namespaces\/[0-9]+$/.test(path)) return `${path}: not a namespace glob: lowercase letters, digits and '-', with * (any run) and ? (one character) as wildcards`;
      return `${path}: ${error.message ?? 'does not match the expected format'}`;
    default:
      return `${path}: ${error.message ?? error.keyword}`;
  }
}

function joinPath(base: string, key: string): string {
  return `${base}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}
