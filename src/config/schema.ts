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
    limits: {
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
        maxTargetPods: { type: 'integer', minimum: 0 },
        maxPeerPods: { type: 'integer', minimum: 0 },
        maxPeerNamespaces: { type: 'integer', minimum: 0 },
      },
    },
    defaultTTL: { anyOf: [duration, { type: 'null' }] },
    ticket: {
      type: 'object',
      additionalProperties: false,
      properties: {
        pattern: { type: 'string', minLength: 1 },
        urlTemplate: { anyOf: [{ type: 'string', pattern: '\\{ticket\\}' }, { type: 'null' }] },
      },
    },
    exemptNamespaces: nameList,
    permanentPrincipals: {
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
    },
    breakGlassGroups: nameList,
    history: {
      type: 'object',
      additionalProperties: false,
      properties: { retention: duration },
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
    rules: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(RULE_IDS.map((id) => [id, action])),
    },
  },
} as const;
