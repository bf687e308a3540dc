import type { V1LabelSelector, V1NetworkPolicy, V1NetworkPolicyPeer } from '@kubernetes/client-node';
import type { ErrorObject } from 'ajv';
import { compileBounded, FULL_ERROR_LIST_MAX_VALUES } from '../schema/bounded.js';
import { familyBits, parseCidr, strictCidrProblem, type Cidr } from './cidr.js';
import { isJsonObject } from '../schema/json.js';
import { withApiServerNulls } from './apiNulls.js';
import { formatLabelLimitProblemAsPointer, type LabelLimitProblem, labelLimitProblems } from './labelLimits.js';

/**
 * Structural check of an untrusted value against the networking.k8s.io/v1 NetworkPolicy schema,
 * so the engine only ever sees the shapes the API server would store. Unknown fields inside spec
 * are rejected (the API server's strict field validation does the same); metadata is only checked
 * where netpol-guard reads it, because the server adds many fields there. Nulls are read as the
 * API server reads them (apiNulls.ts), and the policy returned is the one without them.
 */
export type ShapeCheck =
  | { ok: true; policy: V1NetworkPolicy }
  /** `labelLimits` is set when the label-map limits refused the object (they run first, alone). */
  | { ok: false; errors: string[]; labelLimits?: LabelLimitProblem[] };

export interface ShapeOptions {
  /** Entries allowed in one label map; MAX_LABEL_ENTRIES unless the admission edge is told otherwise. */
  maxLabels?: number;
  /**
   * Refuse CIDRs the API server refuses in a new object but keeps in stored ones (IPv4-mapped,
   * bits beyond the prefix): for checks that judge a creation (`check`, `grant`). The webhook
   * leaves it off: an UPDATE that keeps such a stored value unchanged is accepted by the API server.
   */
  strictCidrs?: boolean;
}

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
        // IANA_SVC_NAME: a named container port; at least one letter, no "--" (so "80" is no name).
        { type: 'string', pattern: '^(?=.{1,15}$)(?=.*[a-z])(?!.*--)[a-z0-9]([a-z0-9-]*[a-z0-9])?$' },
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
  // spec and spec.podSelector may be absent: the API server stores them as {} (select all pods,
  // open nothing), so a manifest without them is valid.
  required: ['metadata'],
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
      properties: {
        podSelector: labelSelector,
        ingress: { type: 'array', items: rule('from') },
        egress: { type: 'array', items: rule('to') },
        // Duplicates are allowed, as the API server allows them (at most two entries, checked first).
        policyTypes: { type: 'array', items: { type: 'string', enum: ['Ingress', 'Egress'] } },
      },
    },
  },
} as const;

const validate = compileBounded<V1NetworkPolicy>(NETWORK_POLICY_SCHEMA, { strict: true, allowUnionTypes: true });

/** At most this many errors are reported: a garbage object should not produce a megabyte reply. */
const MAX_ERRORS = 20;

/**
 * policyTypes has two possible values, so a longer list is wrong whatever it holds. It is refused
 * before the schema runs: a hostile list of a hundred thousand entries would otherwise produce as
 * many errors before anything reports them.
 */
const MAX_POLICY_TYPES = 2;

export function checkNetworkPolicyShape(input: unknown, options: ShapeOptions = {}): ShapeCheck {
  const policyTypes = isJsonObject(input) && isJsonObject(input.spec) ? input.spec.policyTypes : undefined;
  if (Array.isArray(policyTypes) && policyTypes.length > MAX_POLICY_TYPES) {
    return { ok: false, errors: [`/spec/policyTypes: has ${policyTypes.length} entries; at most ${MAX_POLICY_TYPES} are accepted`] };
  }
  const value = withApiServerNulls(input);
  // Size limits first: a hostile body is refused before any schema work is spent on it, and an
  // over-size map is then reported once, in the limits' own words.
  const labelLimits = labelLimitProblems(value, options.maxLabels ?? MAX_LABEL_ENTRIES);
  if (labelLimits.length > 0) return { ok: false, errors: labelLimits.map(formatLabelLimitProblemAsPointer).slice(0, MAX_ERRORS), labelLimits };
  const checked = validate(value);
  if (!checked.ok) {
    const errors = dedupe(checked.errors.filter((e) => e.keyword !== 'anyOf').map(describe)).slice(0, MAX_ERRORS);
    if (checked.truncated) errors.push(`/: further errors not listed (more than ${FULL_ERROR_LIST_MAX_VALUES} values in the object)`);
    return { ok: false, errors };
  }
  const errors = semanticErrors(checked.value, options.strictCidrs === true);
  return errors.length > 0 ? { ok: false, errors: errors.slice(0, MAX_ERRORS) } : { ok: true, policy: checked.value };
}

/**
 * What a schema cannot say: CIDRs that parse, endPort only with a numeric port, metadata size.
 * Runs on every admitted policy after the schema passed, so error paths are built only for a
 * problem that was found, never per peer or port.
 */
function semanticErrors(policy: V1NetworkPolicy, strictCidrs: boolean): string[] {
  const errors: string[] = [];
  const annotationBytes = annotationBytesOverCap(policy.metadata?.annotations ?? {});
  if (annotationBytes !== undefined) errors.push(`/metadata/annotations: total size ${annotationBytes} bytes exceeds 262144`);
  labelMapErrors('/metadata/labels', policy.metadata?.labels, errors);
  const annotations = policy.metadata?.annotations;
  if (annotations) {
    // The API server checks annotation keys like label keys, after lower-casing them.
    for (const key of Object.keys(annotations)) {
      if (!isQualifiedName(key.toLowerCase())) errors.push(`/metadata/annotations: key ${JSON.stringify(key.slice(0, 60))} ${QUALIFIED_NAME_RULE}`);
    }
  }
  selectorErrors('/spec/podSelector', policy.spec?.podSelector, errors);
  for (const direction of ['ingress', 'egress'] as const) {
    const peersKey = direction === 'ingress' ? 'from' : 'to';
    const rules = policy.spec?.[direction] ?? [];
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      const peers = (r as { from?: V1NetworkPolicyPeer[]; to?: V1NetworkPolicyPeer[] })[peersKey] ?? [];
      for (let j = 0; j < peers.length; j++) {
        const p = peers[j]!;
        if (p.ipBlock && (p.podSelector || p.namespaceSelector)) {
          errors.push(`${peerPath(direction, i, peersKey, j)}: ipBlock cannot be combined with podSelector or namespaceSelector`);
        }
        if (!p.ipBlock && !p.podSelector && !p.namespaceSelector) {
          errors.push(`${peerPath(direction, i, peersKey, j)}: a peer needs one of podSelector, namespaceSelector or ipBlock`);
        }
        selectorErrors(`${peerPath(direction, i, peersKey, j)}/podSelector`, p.podSelector, errors);
        selectorErrors(`${peerPath(direction, i, peersKey, j)}/namespaceSelector`, p.namespaceSelector, errors);
        if (p.ipBlock) {
          const cidr = parseCidr(p.ipBlock.cidr);
          if (!cidr.ok) errors.push(`${peerPath(direction, i, peersKey, j)}/ipBlock/cidr: ${cidr.error}`);
          else if (strictCidrs) {
            const problem = strictCidrProblem(p.ipBlock.cidr, cidr.cidr);
            if (problem !== undefined) errors.push(`${peerPath(direction, i, peersKey, j)}/ipBlock/cidr: ${problem}`);
          }
          const except = p.ipBlock.except ?? [];
          for (let k = 0; k < except.length; k++) {
            const e = except[k]!;
            const ex = parseCidr(e);
            if (!ex.ok) errors.push(`${peerPath(direction, i, peersKey, j)}/ipBlock/except/${k}: ${ex.error}`);
            else if (strictCidrs && strictCidrProblem(e, ex.cidr) !== undefined) {
              errors.push(`${peerPath(direction, i, peersKey, j)}/ipBlock/except/${k}: ${strictCidrProblem(e, ex.cidr)}`);
            }
            else if (cidr.ok && !strictlyInside(ex.cidr, cidr.cidr)) {
              errors.push(`${peerPath(direction, i, peersKey, j)}/ipBlock/except/${k}: ${e} must be a strict subset of ${p.ipBlock.cidr}`);
            }
          }
        }
      }
      const ports = r.ports ?? [];
      for (let k = 0; k < ports.length; k++) {
        const pt = ports[k]!;
        if (pt.endPort !== undefined) {
          if (typeof pt.port !== 'number') errors.push(`/spec/${direction}/${i}/ports/${k}/endPort: requires a numeric port`);
          else if (pt.endPort < pt.port) errors.push(`/spec/${direction}/${i}/ports/${k}/endPort: ${pt.endPort} is below port ${pt.port}`);
        }
      }
    }
  }
  return errors;
}

/**
 * The API server's label syntax (lengths are labelLimits.ts's): a key is `[prefix/]name` with a
 * DNS-subdomain prefix; a name and a value are alphanumerics with `-`, `_`, `.` inside.
 */
const LABEL_NAME = /^(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(?:(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_RULE = 'must be [prefix/]name: a lowercase DNS subdomain prefix, and a name of alphanumerics with -, _ or . inside';
const LABEL_VALUE_RULE = 'must be empty or alphanumerics with -, _ or . inside';

function isQualifiedName(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash === -1) return LABEL_NAME.test(key);
  if (key.indexOf('/', slash + 1) !== -1) return false;
  return DNS_SUBDOMAIN.test(key.slice(0, slash)) && LABEL_NAME.test(key.slice(slash + 1));
}

function labelMapErrors(path: string, labels: Record<string, string> | undefined, errors: string[]): void {
  if (!labels) return;
  for (const key of Object.keys(labels)) {
    if (!isQualifiedName(key)) errors.push(`${path}: key ${JSON.stringify(key.slice(0, 60))} ${QUALIFIED_NAME_RULE}`);
    if (!LABEL_VALUE.test(labels[key]!)) errors.push(`${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}: ${JSON.stringify(labels[key]!.slice(0, 60))} ${LABEL_VALUE_RULE}`);
  }
}

/** The API server's rule for values: required by In and NotIn, forbidden with Exists and DoesNotExist. */
function selectorErrors(path: string, selector: V1LabelSelector | undefined, errors: string[]): void {
  labelMapErrors(`${path}/matchLabels`, selector?.matchLabels, errors);
  const expressions = selector?.matchExpressions;
  if (!expressions) return;
  for (let k = 0; k < expressions.length; k++) {
    const { key, operator, values } = expressions[k]!;
    if (!isQualifiedName(key)) errors.push(`${path}/matchExpressions/${k}/key: ${JSON.stringify(key.slice(0, 60))} ${QUALIFIED_NAME_RULE}`);
    for (let v = 0; v < (values?.length ?? 0); v++) {
      if (!LABEL_VALUE.test(values![v]!)) errors.push(`${path}/matchExpressions/${k}/values/${v}: ${JSON.stringify(values![v]!.slice(0, 60))} ${LABEL_VALUE_RULE}`);
    }
    const count = values?.length ?? 0;
    if ((operator === 'In' || operator === 'NotIn') && count === 0) {
      errors.push(`${path}/matchExpressions/${k}/values: required when the operator is ${operator}`);
    } else if ((operator === 'Exists' || operator === 'DoesNotExist') && count > 0) {
      errors.push(`${path}/matchExpressions/${k}/values: must be empty when the operator is ${operator}`);
    }
  }
}

function peerPath(direction: 'ingress' | 'egress', rule: number, peersKey: 'from' | 'to', peer: number): string {
  return `/spec/${direction}/${rule}/${peersKey}/${peer}`;
}

/**
 * The annotations' total UTF-8 size when it exceeds Kubernetes' cap, else undefined. UTF-8 spends
 * at most 3 bytes per UTF-16 code unit (a lone surrogate becomes the 3-byte U+FFFD), so when three
 * times the total length fits, the exact count is skipped: it would scan every character, and
 * kubectl's last-applied-configuration annotation alone is a copy of the whole policy.
 */
function annotationBytesOverCap(annotations: Record<string, string>): number | undefined {
  const keys = Object.keys(annotations);
  let codeUnits = 0;
  for (const key of keys) codeUnits += key.length + annotations[key]!.length;
  if (codeUnits * 3 <= MAX_ANNOTATION_BYTES) return undefined;
  let bytes = 0;
  for (const key of keys) bytes += Buffer.byteLength(key) + Buffer.byteLength(annotations[key]!);
  return bytes > MAX_ANNOTATION_BYTES ? bytes : undefined;
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

/** Kubernetes requires every except entry to lie inside the ipBlock's cidr and be smaller. */
function strictlyInside(inner: Cidr, outer: Cidr): boolean {
  if (inner.family !== outer.family || inner.prefix <= outer.prefix) return false;
  const hostBits = BigInt(familyBits(inner.family) - outer.prefix);
  return inner.network >> hostBits === outer.network >> hostBits;
}

function dedupe(items: string[]): string[] {
  return [...new Set(items)];
}
