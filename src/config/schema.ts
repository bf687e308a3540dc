import { RULE_IDS } from '../policy/ruleIds.js';
import { NOTIFICATION_EVENTS } from './types.js';

const duration = {
  type: 'string',
  pattern: '^([0-9]+[smhd])+$',
  description: 'One or more <int><unit> groups, units s, m, h, d (e.g. 90m, 2h, 1h30m, 1d).',
} as const;

const action = { enum: ['deny', 'warn', 'off'] } as const;

const nameList = {
  type: 'array',
  items: { type: 'string', minLength: 1 },
  uniqueItems: true,
} as const;

const limits = {
  type: 'object',
  additionalProperties: false,
  properties: {
    minIPv4PrefixLength: { type: 'integer', minimum: 0, maximum: 32 },
    minIPv6PrefixLength: { type: 'integer', minimum: 0, maximum: 128 },
    maxPortRange: { type: 'integer', minimum: 1, maximum: 65536 },
    forbiddenCIDRs: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 64 }, uniqueItems: true, maxItems: 1000 },
    maxTTL: duration,
    maxLifetime: duration,
    maxPolicyElements: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    recreateCooldown: { anyOf: [duration, { type: 'null' }] },
    maxTargetPods: { type: 'integer', minimum: 0 },
    maxPeerPods: { type: 'integer', minimum: 0 },
    maxPeerNamespaces: { type: 'integer', minimum: 0 },
    maxAnalysisWork: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
  },
} as const;

const ticket = {
  type: 'object',
  additionalProperties: false,
  properties: {
    pattern: { type: 'string', minLength: 1 },
    urlTemplate: { anyOf: [{ type: 'string', pattern: '\\{ticket\\}' }, { type: 'null' }] },
  },
} as const;

const permanentPrincipals = {
  type: 'object',
  additionalProperties: false,
  properties: {
    users: nameList,
    groups: nameList,
    serviceAccounts: {
      type: 'array',
      uniqueItems: true,
      items: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$' },
    },
  },
} as const;

const rules = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(RULE_IDS.map((id) => [id, action])),
} as const;

const quota = { anyOf: [{ type: 'integer', minimum: 0, maximum: 1_000_000 }, { type: 'null' }] } as const;

/** Approvers needed: more than a handful is a process no incident survives. */
const approvalCommon = {
  required: { type: 'integer', minimum: 0, maximum: 5 },
  pendingTTL: duration,
} as const;

const quotas = {
  type: 'object',
  additionalProperties: false,
  properties: { maxLiveGrantsPerNamespace: quota, maxLiveGrantsPerRequester: quota },
} as const;

/** Label keys and values as the API server accepts them (an optional DNS prefix, then a name). */
const labelKey = { type: 'string', minLength: 1, maxLength: 317, pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$' } as const;
const labelValue = { type: 'string', maxLength: 63, pattern: '^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$' } as const;

const namespaceSelector = {
  type: 'object',
  additionalProperties: false,
  properties: {
    matchLabels: { type: 'object', propertyNames: labelKey, additionalProperties: labelValue },
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['key', 'operator'],
        properties: {
          key: labelKey,
          operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
          values: { type: 'array', items: labelValue },
        },
      },
    },
  },
} as const;

/** A namespace name with `*` and `?` wildcards (NAMESPACE_GLOB_PATTERN's message names the rule). */
export const NAMESPACE_GLOB_PATTERN = '^[a-z0-9*?]([-a-z0-9*?]*[a-z0-9*?])?$';

const profile = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'match'],
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
    match: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        namespaceSelector,
        namespaces: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', maxLength: 63, pattern: NAMESPACE_GLOB_PATTERN } },
      },
    },
    mode: { enum: ['enforce', 'warn'] },
    limits,
    rules,
    defaultTTL: { anyOf: [duration, { type: 'null' }] },
    ticket,
    quotas,
    permanentPrincipals,
    approval: { type: 'object', additionalProperties: false, properties: approvalCommon },
  },
} as const;

/**
 * JSON Schema of the platform-team config file. Unknown keys are errors everywhere: a typo like
 * `maxTtl` must fail loudly instead of silently leaving the default in force.
 */
export const CONFIG_SCHEMA = {
  $id: 'https://netpol-guard.io/schemas/config.json',
  type: 'object',
  additionalProperties: false,
  properties: {
    mode: { enum: ['enforce', 'warn'] },
    annotationPrefix: {
      type: 'string',
      maxLength: 200,
      // A DNS subdomain: the prefix part of a Kubernetes annotation key.
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
    },
    limits,
    defaultTTL: { anyOf: [duration, { type: 'null' }] },
    ticket,
    exemptNamespaces: nameList,
    permanentPrincipals,
    breakGlassGroups: nameList,
    history: {
      type: 'object',
      additionalProperties: false,
      properties: { retention: duration },
    },
    rules,
    quotas,
    approval: {
      type: 'object',
      additionalProperties: false,
      properties: { ...approvalCommon, controllerUsers: { ...nameList, maxItems: 20 } },
    },
    notify: {
      type: 'object',
      additionalProperties: false,
      properties: {
        beforeExpiry: duration,
        webhooks: {
          type: 'array',
          maxItems: 20,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'urlFile', 'format', 'events'],
            properties: {
              // A label value: it names the target in logs and in the notifications counter.
              name: { type: 'string', maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
              // The URL is a credential (a Slack webhook URL is one): only its file's path is configured.
              urlFile: { type: 'string', minLength: 1, maxLength: 4096 },
              caFile: { type: 'string', minLength: 1, maxLength: 4096 },
              format: { enum: ['json', 'slack'] },
              events: {
                type: 'array',
                minItems: 1,
                uniqueItems: true,
                items: { enum: NOTIFICATION_EVENTS },
              },
            },
          },
        },
      },
    },
    clusterView: {
      type: 'object',
      additionalProperties: false,
      properties: { maxStaleness: duration, onUnavailable: { anyOf: [{ enum: ['deny', 'warn'] }, { type: 'null' }] }, pods: { type: 'boolean' } },
    },
    profiles: { type: 'array', maxItems: 100, items: profile },
  },
} as const;
