import type { V1NetworkPolicy, V1NetworkPolicyPeer } from '@kubernetes/client-node';
import { Ajv, type ErrorObject } from 'ajv';
import { parseCidr } from './cidr.js';

/**
 * Structural check of an untrusted value against the networking.k8s.io/v1 NetworkPolicy schema,
 * so the engine only ever sees the shapes the API server would store. Unknown fields inside spec
 * are rejected (the API server's strict field validation does the same); metadata is only checked
 * where netpol-guard reads it, because the server adds many fields there.
 */
export type ShapeCheck = { ok: true; policy: V1NetworkPolicy } | { ok: false; errors: string[] };

/**
 * Entries allowed in one label map. Kubernetes sets no count, only sizes; 256 is far above any
 * real policy and keeps a hostile body from making selector work explode. The admission edge
 * uses the same number, so both layers give one answer.
 */
export const MAX_LABEL_ENTRIES = 256;
/** Kubernetes' own cap: 256 KiB of annotations in total. */
const MAX_ANNOTATION_BYTES = 256 * 1024;

const stringMap = {
  type: 'object',
  additionalProperties: { type: 'string' },
  maxProperties: MAX_LABEL_ENTRIES,
} as const;

const labelSelector = {
  type: 'object',
  additionalProperties: false,
  properties: {
    matchLabels: stringMap,
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['key', 'operator'],
        properties: {
          key: { type: 'string', minLength: 1 },
          operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
          values: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
} as const;

const peer = {
  type: 'object',
  additionalProperties: false,
  properties: {
    podSelector: labelSelector,
    namespaceSelector: labelSelector,
    ipBlock: {
      type: 'object',
      additionalProperties: false,
      required: ['cidr'],
      properties: {
        cidr: { type: 'string', minLength: 1, maxLength: 64 },
        except: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 64 } },
      },
    },
  },
} as const;

const port = {
  type: 'object',
  additionalProperties: false,
  properties: {
    protocol: { enum: ['TCP', 'UDP', 'SCTP'] },
    port: {
      anyOf: [
        { type: 'integer', minimum: 1, maximum: 65535 },
        // IANA_SVC_NAME: a named container port.
        { type: 'string', pattern: '^(?=.{1,15}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?$' },
      ],
    },
    endPort: { type: 'integer', minimum: 1, maximum: 65535 },
  },
} as const;

const rule = (peersKey: 'from' | 'to') =>
  ({
    type: 'object',
    additionalProperties: false,
    properties: {
      [peersKey]: { type: 'array', items: peer },
      ports: { type: 'array', items: port },
    },
  }) as const;

const NETWORK_POLICY_SCHEMA = {
  type: 'object',
  required: ['metadata', 'spec'],
  properties: {
    apiVersion: { const: 'networking.k8s.io/v1' },
    kind: { const: 'NetworkPolicy' },
    metadata: {
      type: 'object',
      properties: {
        name: { type: 'string', maxLength: 253 },
        generateName: { type: 'string', maxLength: 253 },
        namespace: { type: 'string', maxLength: 63 },
        uid: { type: 'string' },
        resourceVersion: { type: 'string' },
        labels: stringMap,
        annotations: stringMap,
      },
    },
    spec: {
      type: 'object',
      additionalProperties: false,
      required: ['podSelector'],
      properties: {
        podSelector: labelSelector,
        ingress: { type: 'array', items: rule('from') },
        egress: { type: 'array', items: rule('to') },
        policyTypes: { type: 'array', items: { enum: ['Ingress', 'Egress'] }, uniqueItems: true },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile<V1NetworkPolicy>(NETWORK_POLICY_SCHEMA);

/** At most this many errors are reported: a garbage object should not produce a megabyte reply. */
const MAX_ERRORS = 20;

export function checkNetworkPolicyShape(value: unknown): ShapeCheck {
  if (!validate(value)) {
    const errors = dedupe((validate.errors ?? []).filter((e) => e.keyword !== 'anyOf').map(describe));
    return { ok: false, errors: errors.slice(0, MAX_ERRORS) };
  }
  const errors = semanticErrors(value);
  return errors.length > 0 ? { ok: false, errors: errors.slice(0, MAX_ERRORS) } : { ok: true, policy: value };
}

/** What a schema cannot say: CIDRs that parse, endPort only with a numeric port, metadata size. */
function semanticErrors(policy: V1NetworkPolicy): string[] {
  const errors: string[] = [];
  const annotations = policy.metadata?.annotations ?? {};
  let bytes = 0;
  for (const [k, v] of Object.entries(annotations)) bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  if (bytes > MAX_ANNOTATION_BYTES) errors.push(`/metadata/annotations: total size ${bytes} bytes exceeds 262144`);
  for (const direction of ['ingress', 'egress'] as const) {
    const peersKey = direction === 'ingress' ? 'from' : 'to';
    (policy.spec?.[direction] ?? []).forEach((r, i) => {
      const peers = (r as { from?: V1NetworkPolicyPeer[]; to?: V1NetworkPolicyPeer[] })[peersKey];
      (peers ?? []).forEach((p, j) => {
        const at = `/spec/${direction}/${i}/${peersKey}/${j}`;
        if (p.ipBlock && (p.podSelector || p.namespaceSelector)) {
          errors.push(`${at}: ipBlock cannot be combined with podSelector or namespaceSelector`);
        }
        if (!p.ipBlock && !p.podSelector && !p.namespaceSelector) {
          errors.push(`${at}: a peer needs one of podSelector, namespaceSelector or ipBlock`);
        }
        if (p.ipBlock) {
          const cidr = parseCidr(p.ipBlock.cidr);
          if (!cidr.ok) errors.push(`${at}/ipBlock/cidr: ${cidr.error}`);
          (p.ipBlock.except ?? []).forEach((e, k) => {
            const ex = parseCidr(e);
            if (!ex.ok) errors.push(`${at}/ipBlock/except/${k}: ${ex.error}`);
            else if (cidr.ok && (ex.cidr.family !== cidr.cidr.family || ex.cidr.prefix <= cidr.cidr.prefix)) {
              errors.push(`${at}/ipBlock/except/${k}: ${e} must be a strict subset of ${p.ipBlock!.cidr}`);
            }
          });
        }
      });
      (r.ports ?? []).forEach((pt, k) => {
        const at = `/spec/${direction}/${i}/ports/${k}`;
        if (pt.endPort !== undefined) {
          if (typeof pt.port !== 'number') errors.push(`${at}/endPort: requires a numeric port`);
          else if (pt.endPort < pt.port) errors.push(`${at}/endPort: ${pt.endPort} is below port ${pt.port}`);
        }
      });
    });
  }
  return errors;
}

function describe(error: ErrorObject): string {
  const path = error.instancePath === '' ? '/' : error.instancePath;
  if (error.keyword === 'additionalProperties') {
    return `${path === '/' ? '' : path}/${String(error.params.additionalProperty)}: unknown field`;
  }
  if (error.keyword === 'required') return `${path}: missing required field "${String(error.params.missingProperty)}"`;
  if (error.keyword === 'enum') return `${path}: must be one of ${(error.params.allowedValues as unknown[]).join(', ')}`;
  if (error.keyword === 'const') return `${path}: must be ${JSON.stringify(error.params.allowedValue)}`;
  return `${path}: ${error.message ?? error.keyword}`;
}

function dedupe(items: string[]): string[] {
  return [...new Set(items)];
}
