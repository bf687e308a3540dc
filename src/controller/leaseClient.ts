import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { ApiStatusError } from '../kube/apiErrors.js';

/** Which Lease object an election runs on. */
export interface LeaseRef {
  namespace: string;
  name: string;
}

/**
 * A failed Lease call. `status` is the HTTP status when the API server answered (404: no such
 * Lease, 409: it already exists on create or its resourceVersion moved on update), undefined for a
 * transport failure (no answer at all).
 */
export class LeaseApiError extends ApiStatusError {
  override name = 'LeaseApiError';
}

/**
 * The three calls leader election needs. Every Lease returned has `spec.acquireTime` and
 * `spec.renewTime` as V1MicroTime instances (or absent), and `metadata.resourceVersion` set.
 * `update` is a full replace whose body must carry `metadata.resourceVersion`: the API server
 * answers 409 when the stored object has moved on since, which is how two candidates racing for
 * the same Lease end with exactly one winner. It never sends an unconditional update.
 */
export interface LeaseClient {
  get(ref: LeaseRef): Promise<V1Lease>;
  create(ref: LeaseRef, lease: V1Lease): Promise<V1Lease>;
  update(ref: LeaseRef, lease: V1Lease): Promise<V1Lease>;
}

/** The LeaseClient over @kubernetes/client-node's CoordinationV1Api (`/apis/coordination.k8s.io/v1`). */
export class KubeLeaseClient implements LeaseClient {
  private readonly api: CoordinationV1Api;

  constructor(api: CoordinationV1Api) {
    this.api = api;
  }

  static fromKubeConfig(kubeConfig: KubeConfig): KubeLeaseClient {
    return new KubeLeaseClient(kubeConfig.makeApiClient(CoordinationV1Api));
  }

  async get(ref: LeaseRef): Promise<V1Lease> {
    return this.call('get', ref, () => this.api.readNamespacedLease({ namespace: ref.namespace, name: ref.name }));
  }

  async create(ref: LeaseRef, lease: V1Lease): Promise<V1Lease> {
    const body = wireLease(ref, lease);
    return this.call('create', ref, () => this.api.createNamespacedLease({ namespace: ref.namespace, body }));
  }

  async update(ref: LeaseRef, lease: V1Lease): Promise<V1Lease> {
    requireResourceVersion(lease);
    const body = wireLease(ref, lease);
    return this.call('update', ref, () =>
      this.api.replaceNamespacedLease({ namespace: ref.namespace, name: ref.name, body }),
    );
  }

  private async call(verb: string, ref: LeaseRef, send: () => Promise<V1Lease>): Promise<V1Lease> {
    let answer: V1Lease;
    try {
      answer = await send();
    } catch (err) {
      throw new LeaseApiError(`${verb} lease ${ref.namespace}/${ref.name}`, err);
    }
    return withMicroTimes(answer);
  }
}

/** Refuse, before any request, the update that would silently overwrite another holder's write. */
export function requireResourceVersion(lease: V1Lease): void {
  const rv = lease.metadata?.resourceVersion;
  if (typeof rv !== 'string' || rv === '') {
    throw new TypeError('lease update needs metadata.resourceVersion: an unconditional update could overwrite another holder');
  }
}

/**
 * The body as the API server must receive it. MicroTime fields are parsed by the API server with
 * exactly six fractional digits; client-node writes a plain Date with three (which is rejected) and
 * only V1MicroTime with six, so every time field is re-wrapped whatever the caller passed.
 */
function wireLease(ref: LeaseRef, lease: V1Lease): V1Lease {
  const spec = { ...lease.spec };
  if (spec.acquireTime !== undefined) spec.acquireTime = asMicroTime(spec.acquireTime);
  if (spec.renewTime !== undefined) spec.renewTime = asMicroTime(spec.renewTime);
  return {
    ...lease,
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { ...lease.metadata, namespace: ref.namespace, name: ref.name },
    spec,
  };
}

/**
 * client-node does not know the MicroTime type when reading, so it hands back the JSON string;
 * turn it into a V1MicroTime so the declared type is true. An unparseable time becomes absent.
 */
export function withMicroTimes(lease: V1Lease): V1Lease {
  if (lease.spec === undefined) return lease;
  const spec = { ...lease.spec };
  const acquireTime = toMicroTime(spec.acquireTime as unknown);
  const renewTime = toMicroTime(spec.renewTime as unknown);
  if (acquireTime === undefined) delete spec.acquireTime;
  else spec.acquireTime = acquireTime;
  if (renewTime === undefined) delete spec.renewTime;
  else spec.renewTime = renewTime;
  return { ...lease, spec };
}

function asMicroTime(value: Date): V1MicroTime {
  return value instanceof V1MicroTime ? value : new V1MicroTime(value.getTime());
}

function toMicroTime(value: unknown): V1MicroTime | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : asMicroTime(value);
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new V1MicroTime(ms);
}
