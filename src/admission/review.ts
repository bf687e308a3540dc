/**
 * The AdmissionReview envelope at the edge: decode (validate the untrusted body, classify the
 * request) and encode (turn a handler's AdmissionDecision into the response the API server reads).
 * Everything a handler receives has passed decodeAdmissionReview, so handlers never see a request
 * without a uid, a NetworkPolicy CREATE without an object, or an object nested without bound.
 */
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { ErrorObject } from 'ajv';
import { GRANT_REQUEST_GROUP, GRANT_REQUEST_KIND, GRANT_REQUEST_PLURAL } from '../approval/grantRequest.js';
import { compileBounded, FULL_ERROR_LIST_MAX_VALUES } from '../schema/bounded.js';
import { isJsonObject } from '../schema/json.js';
import type { RequestUser } from '../policy/evaluate.js';
import { formatLabelLimitProblemAt } from '../policy/labelLimits.js';
import { checkNetworkPolicyShape, MAX_LABEL_ENTRIES } from '../policy/shape.js';
import { oversizedPolicy, type OversizedPolicy } from '../policy/size.js';
import type {
  AdmissionDecision,
  AdmissionOperation,
  AdmissionRequest,
  AdmissionResponse,
  AdmissionReview,
  Disposition,
} from './types.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';

/** Bounds on NetworkPolicy objects beyond their schema, so a hostile body cannot make work explode. */
export interface EnvelopeLimits {
  /** Deepest nesting of arrays/objects anywhere in the body. Real objects stay far below. */
  maxDepth: number;
  /** Entries in one label map (metadata.labels or a selector's matchLabels). */
  maxLabels: number;
}

export const DEFAULT_ENVELOPE_LIMITS: EnvelopeLimits = {
  maxDepth: 100,
  maxLabels: MAX_LABEL_ENTRIES,
};

/** Machine-readable reasons for a 400, part of the HTTP contract (`reason` in the error body). */
export type ReviewErrorReason =
  | 'empty-body'
  | 'not-admission-review'
  | 'unsupported-api-version'
  | 'too-deep'
  | 'missing-request'
  | 'missing-uid'
  | 'invalid-request'
  | 'missing-object'
  | 'invalid-object';

export interface ReviewError {
  reason: ReviewErrorReason;
  /** One line naming the problem (the first detail, with a count of the rest). */
  error: string;
  /** Every problem found, each naming the field (capped; see MAX_DETAILS). */
  details: string[];
}

/** Why a well-formed request is admitted without running the handlers. */
export type Bypass = Extract<Disposition, 'not-networkpolicy' | 'operation-ignored'>;

export type DecodedReview =
  | {
      ok: true;
      request: AdmissionRequest;
      bypass: Bypass | undefined;
      /** Set when the object (or the stored oldObject) is over limits.maxPolicyElements: deny it unevaluated. */
      oversized?: OversizedPolicy;
    }
  | { ok: false; error: ReviewError };

const MAX_DETAILS = 20;
const MAX_DETAIL_CHARS = 300;

const stringField = (maxLength: number) => ({ type: 'string', maxLength }) as const;
const groupVersionKind = {
  type: 'object',
  required: ['group', 'version', 'kind'],
  properties: { group: stringField(253), version: stringField(63), kind: { type: 'string', minLength: 1, maxLength: 253 } },
} as const;
const groupVersionResource = {
  type: 'object',
  required: ['group', 'version', 'resource'],
  properties: { group: stringField(253), version: stringField(63), resource: { type: 'string', minLength: 1, maxLength: 253 } },
} as const;

/**
 * The fields of admission.k8s.io/v1 AdmissionRequest that netpol-guard relies on. Unknown fields
 * are allowed: a newer API server may add some, and refusing them would fail every admission.
 * Lengths are generous upper bounds (a UID is 36 characters, a group list may be long with OIDC).
 */
const REQUEST_SCHEMA = {
  type: 'object',
  required: ['uid', 'kind', 'resource', 'operation', 'userInfo'],
  properties: {
    uid: { type: 'string', minLength: 1, maxLength: 128 },
    kind: groupVersionKind,
    resource: groupVersionResource,
    subResource: stringField(253),
    requestKind: groupVersionKind,
    requestResource: groupVersionResource,
    requestSubResource: stringField(253),
    name: stringField(253),
    namespace: stringField(63),
    operation: { type: 'string', enum: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] },
    userInfo: {
      type: 'object',
      properties: {
        username: stringField(4096),
        uid: stringField(4096),
        groups: { type: 'array', maxItems: 10_000, items: stringField(4096) },
        extra: {
          type: 'object',
          maxProperties: 1_000,
          additionalProperties: { type: 'array', maxItems: 10_000, items: stringField(4096) },
        },
      },
    },
    object: {},
    oldObject: {},
    dryRun: { type: 'boolean' },
    options: {},
  },
} as const;

const validateRequestSchema = compileBounded<AdmissionRequest>(REQUEST_SCHEMA, { strict: true });

/**
 * `policyLimits` (the config's limits) turns on the size check: a NetworkPolicy write whose object
 * or oldObject is over maxPolicyElements is returned with `oversized` set, before the policy schema
 * runs, so a hostile body costs a count to the limit instead of a check of every element.
 */
export function decodeAdmissionReview(
  body: unknown,
  limits: EnvelopeLimits = DEFAULT_ENVELOPE_LIMITS,
  policyLimits?: { maxPolicyElements: number },
): DecodedReview {
  if (body === undefined || body === null || body === '') {
    return fail('empty-body', ['request body is empty; expected an admission.k8s.io/v1 AdmissionReview']);
  }
  if (!isJsonObject(body)) {
    return fail('not-admission-review', [`body is ${describeJsonType(body)}, not an AdmissionReview object`]);
  }
  // Before anything walks the body: a deeply nested value would overflow a recursive reader later.
  if (nestingDepthExceeds(body, limits.maxDepth)) return fail('too-deep', [`body nests arrays/objects deeper than ${limits.maxDepth} levels`]);

  if (body.kind !== ADMISSION_KIND) {
    return fail('not-admission-review', [`kind: expected "${ADMISSION_KIND}", got ${describeValue(body.kind)}`]);
  }
  if (body.apiVersion !== ADMISSION_API_VERSION) {
    const detail =
      body.apiVersion === 'admission.k8s.io/v1beta1'
        ? `apiVersion: admission.k8s.io/v1beta1 is not supported; only ${ADMISSION_API_VERSION} is supported (set admissionReviewVersions: ["v1"] in the webhook configuration)`
        : `apiVersion: expected "${ADMISSION_API_VERSION}", got ${describeValue(body.apiVersion)}; only ${ADMISSION_API_VERSION} is supported`;
    return fail('unsupported-api-version', [detail]);
  }
  const candidate = body.request;
  if (!isJsonObject(candidate)) {
    return fail('missing-request', [candidate === undefined ? 'request: required field is missing' : `request: must be an object, got ${describeJsonType(candidate)}`]);
  }
  const checked = validateRequestSchema(candidate);
  if (!checked.ok) {
    const errors = checked.errors;
    const details = errors.map((e) => describeAjvError(e, 'request'));
    if (checked.truncated) details.push(`request: further errors not listed (more than ${FULL_ERROR_LIST_MAX_VALUES} values)`);
    const uidProblem = errors.some((e) => e.instancePath === '/uid' || (e.instancePath === '' && e.params.missingProperty === 'uid'));
    return fail(uidProblem ? 'missing-uid' : 'invalid-request', details);
  }
  const request = checked.value;

  const writes = isWrite(request.operation);
  if (writes && !isJsonObject(request.object)) {
    return fail('missing-object', [objectProblem('request.object', request.object, request.operation)]);
  }
  if (isGrantRequestRequest(request)) {
    // Approvals (src/admission/grantRequests.ts): the request's own writes and its status writes.
    if (!writes) return { ok: true, request, bypass: 'operation-ignored' };
    if (request.operation === 'UPDATE' && !isJsonObject(request.oldObject)) {
      return fail('missing-object', [objectProblem('request.oldObject', request.oldObject, request.operation)]);
    }
    return { ok: true, request, bypass: undefined };
  }
  if (!isNetworkPolicyRequest(request)) return { ok: true, request, bypass: 'not-networkpolicy' };
  if (!writes) return { ok: true, request, bypass: 'operation-ignored' };

  if (request.operation === 'UPDATE' && !isJsonObject(request.oldObject)) {
    return fail('missing-object', [objectProblem('request.oldObject', request.oldObject, request.operation)]);
  }
  const oversized = policyLimits && oversizedPolicy(request.object, request.oldObject, policyLimits.maxPolicyElements);
  if (oversized) return { ok: true, request, bypass: undefined, oversized };
  let objectErrors = networkPolicyProblems('request.object', request.object, limits);
  if (request.operation === 'UPDATE') objectErrors = objectErrors.concat(networkPolicyProblems('request.oldObject', request.oldObject, limits));
  if (objectErrors.length > 0) return fail('invalid-object', objectErrors);
  return { ok: true, request, bypass: undefined };
}

/**
 * Whether the request is about a networking.k8s.io/v1 NetworkPolicy itself. Both kind and resource
 * must say so; a subresource (e.g. status) never changes what the rules judge.
 */
export function isNetworkPolicyRequest(request: AdmissionRequest): boolean {
  return (
    request.kind.group === 'networking.k8s.io' &&
    request.kind.version === 'v1' &&
    request.kind.kind === 'NetworkPolicy' &&
    request.resource.group === 'networking.k8s.io' &&
    request.resource.resource === 'networkpolicies' &&
    (request.subResource === undefined || request.subResource === '')
  );
}

/**
 * Whether the request is about a netpol-guard.io GrantRequest: the object itself (CREATE, UPDATE)
 * or its status subresource (approvals and denials). Both kind and resource must say so.
 */
export function isGrantRequestRequest(request: AdmissionRequest): boolean {
  return (
    request.kind.group === GRANT_REQUEST_GROUP &&
    request.kind.kind === GRANT_REQUEST_KIND &&
    request.resource.group === GRANT_REQUEST_GROUP &&
    request.resource.resource === GRANT_REQUEST_PLURAL &&
    (request.subResource === undefined || request.subResource === '' || request.subResource === 'status')
  );
}

/**
 * What the handlers judge: a NetworkPolicy write, with the namespace and user read the one way.
 * Undefined for anything decodeAdmissionReview bypasses (other kinds, DELETE, CONNECT); the
 * handlers never see those from the server, and answer them untouched if called directly.
 */
export interface AdmissionSubject {
  operation: 'CREATE' | 'UPDATE';
  policy: V1NetworkPolicy;
  /** The stored object; present on UPDATE. */
  oldPolicy?: V1NetworkPolicy;
  namespace: string;
  user: RequestUser;
}

export function admissionSubject(request: AdmissionRequest): AdmissionSubject | undefined {
  if (!isWrite(request.operation)) return undefined;
  const policy = request.object as V1NetworkPolicy;
  const subject: AdmissionSubject = {
    operation: request.operation,
    policy,
    namespace: requestNamespace(request, policy),
    user: requestUser(request),
  };
  if (request.oldObject !== undefined && request.oldObject !== null) subject.oldPolicy = request.oldObject as V1NetworkPolicy;
  return subject;
}

/** Only writes are judged: a DELETE cannot widen access, and CONNECT does not apply. */
function isWrite(operation: AdmissionOperation): operation is 'CREATE' | 'UPDATE' {
  return operation === 'CREATE' || operation === 'UPDATE';
}

/** request.namespace is authoritative; object.metadata.namespace may be empty on CREATE. */
export function requestNamespace(request: AdmissionRequest, policy: V1NetworkPolicy | undefined): string {
  return request.namespace || policy?.metadata?.namespace || 'default';
}

export function requestUser(request: AdmissionRequest): RequestUser {
  return {
    username: request.userInfo?.username ?? '',
    groups: Array.isArray(request.userInfo?.groups) ? request.userInfo.groups : [],
  };
}

/** The decision for a request that is admitted without running the handlers. */
export function allowUntouched(disposition: Bypass): AdmissionDecision {
  return { allowed: true, warnings: [], auditAnnotations: {}, patch: [], findings: [], disposition };
}

export interface EncodeOptions {
  /** Only the mutating endpoint may return a patch; a validating webhook's patch is a bug. */
  includePatch: boolean;
}

/**
 * The AdmissionReview response for `decision`. Optional fields appear only when they carry
 * something: warnings and auditAnnotations when non-empty, patch and patchType only for an allowed
 * mutation with at least one operation, status only on denial.
 */
export function encodeAdmissionResponse(uid: string, decision: AdmissionDecision, options: EncodeOptions): AdmissionReview {
  const allowed = decision.allowed === true;
  const response: AdmissionResponse = { uid, allowed };
  if (!allowed) {
    const message = decision.message?.trim();
    response.status = { code: 403, reason: 'Forbidden', message: message ? message : 'denied by netpol-guard' };
  }
  if (decision.warnings.length > 0) response.warnings = [...decision.warnings];
  if (Object.keys(decision.auditAnnotations).length > 0) response.auditAnnotations = { ...decision.auditAnnotations };
  if (options.includePatch && allowed && decision.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(decision.patch), 'utf8').toString('base64');
  }
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}

function networkPolicyProblems(where: string, object: unknown, limits: EnvelopeLimits): string[] {
  const shape = checkNetworkPolicyShape(object, { maxLabels: limits.maxLabels });
  if (shape.ok) return [];
  // Label-map limits name their map in the edge's dotted style; other shape errors keep their pointer.
  if (shape.labelLimits !== undefined) return shape.labelLimits.map((p) => formatLabelLimitProblemAt(where, p));
  return shape.errors.map((e) => `${where}: ${e}`);
}

function objectProblem(path: string, value: unknown, operation: AdmissionOperation): string {
  return value === undefined || value === null
    ? `${path}: required on ${operation} but missing`
    : `${path}: must be an object, got ${describeJsonType(value)}`;
}

/**
 * Iterative, so a hostile depth cannot overflow the stack of the check meant to stop it. Values and
 * their depths sit in two parallel stacks (no tuple per node), and object members are read with
 * for…in (no Object.values array per node). for…in also visits inherited enumerable members; a
 * parsed JSON body has none, and walking more could only report too-deep sooner, never later.
 */
function nestingDepthExceeds(root: unknown, maxDepth: number): boolean {
  const values: unknown[] = [root];
  const depths: number[] = [1];
  while (values.length > 0) {
    const value = values.pop();
    const depth = depths.pop()!;
    if (depth > maxDepth) return true;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (item !== null && typeof item === 'object') {
          values.push(item);
          depths.push(depth + 1);
        }
      }
    } else if (value !== null && typeof value === 'object') {
      for (const key in value) {
        const item: unknown = (value as Record<string, unknown>)[key];
        if (item !== null && typeof item === 'object') {
          values.push(item);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
}

function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** A short, bounded rendering of an untrusted value for an error message. */
function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (missing)';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return describeJsonType(value);
}

function describeAjvError(error: ErrorObject, root: string): string {
  const path = pointerToPath(root, error.instancePath);
  switch (error.keyword) {
    case 'required':
      return `${path}.${String(error.params.missingProperty)}: required field is missing`;
    case 'enum':
      return `${path}: must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${path}: ${error.message ?? error.keyword}`;
  }
}

/** `/userInfo/groups/3` under `request` → `request.userInfo.groups[3]`. */
function pointerToPath(root: string, pointer: string): string {
  if (pointer === '') return root;
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, segment) => (/^[0-9]+$/.test(segment) ? `${path}[${segment}]` : `${path}.${segment}`), root);
}

function fail(reason: ReviewErrorReason, details: string[]): DecodedReview {
  const capped = details.slice(0, MAX_DETAILS).map((d) => (d.length > MAX_DETAIL_CHARS ? `${d.slice(0, MAX_DETAIL_CHARS)}…` : d));
  const more = details.length > 1 ? ` (and ${details.length - 1} more)` : '';
  return { ok: false, error: { reason, error: `${capped[0] ?? reason}${more}`, details: capped } };
}
