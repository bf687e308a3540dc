import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { KubeConfig, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { KubeLeaseClient, LeaseApiError } from '../../../src/controller/leaseClient.js';
import { LeaderElector } from '../../../src/controller/leaderElection.js';
import { systemElectionClock } from '../../../src/controller/electionSettings.js';
import { LoopbackApi } from '../../helpers/loopbackApi.js';

/** The API server parses MicroTime with exactly six fractional digits (RFC3339Micro). */
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const LEASES = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/?]+))?$/;

interface Seen {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
}

/** Just enough of the Lease API: get, create, replace with resourceVersion check, MicroTime check. */
class LeaseApiFake extends LoopbackApi {
  readonly seen: Seen[] = [];
  readonly stored = new Map<string, Record<string, unknown>>();
  private version = 500;
  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
    const path = (req.url ?? '').split('?')[0]!;
    this.seen.push({ method: req.method ?? '', path, body });
    const match = LEASES.exec(path);
    if (!match) return this.status(res, 404, 'NotFound', 'no such path');
    const [, namespace, name] = match;
    const spec = (body?.spec ?? {}) as Record<string, unknown>;
    for (const field of ['acquireTime', 'renewTime']) {
      if (spec[field] !== undefined && !(typeof spec[field] === 'string' && MICRO_TIME.test(spec[field]))) {
        return this.status(res, 400, 'BadRequest', `spec.${field}: ${String(spec[field])} is not a MicroTime`);
      }
    }
    if (req.method === 'GET' && name) {
      const lease = this.stored.get(`${namespace}/${name}`);
      return lease ? this.json(res, 200, lease) : this.status(res, 404, 'NotFound', `leases "${name}" not found`);
    }
    const meta = (body?.metadata ?? {}) as Record<string, unknown>;
    if (req.method === 'POST' && !name) {
      const key = `${namespace}/${String(meta.name)}`;
      if (this.stored.has(key)) return this.status(res, 409, 'AlreadyExists', 'exists');
      return this.save(res, 201, key, body!);
    }
    if (req.method === 'PUT' && name) {
      const key = `${namespace}/${name}`;
      const current = this.stored.get(key);
      if (!current) return this.status(res, 404, 'NotFound', 'gone');
      if ((current.metadata as { resourceVersion: string }).resourceVersion !== meta.resourceVersion) {
        return this.status(res, 409, 'Conflict', 'the object has been modified');
      }
      return this.save(res, 200, key, body!);
    }
    return this.status(res, 405, 'MethodNotAllowed', 'no');
  }

  private save(res: ServerResponse, code: number, key: string, body: Record<string, unknown>): void {
    const stored = { ...body, metadata: { ...(body.metadata as object), resourceVersion: String(this.version++), uid: 'lease-uid' } };
    this.stored.set(key, stored);
    this.json(res, code, stored);
  }

  private status(res: ServerResponse, code: number, reason: string, message: string): void {
    this.json(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });
  }

  private json(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}

describe('KubeLeaseClient against an HTTP fake of the Lease API', () => {
  const fake = new LeaseApiFake();
  let client: KubeLeaseClient;
  const ref = { namespace: 'netpol-guard', name: 'netpol-guard-controller' };
  const path = '/apis/coordination.k8s.io/v1/namespaces/netpol-guard/leases';

  before(async () => {
    await fake.start();
    client = KubeLeaseClient.fromKubeConfig(fake.kubeConfig());
  });
  after(() => fake.stop());
  beforeEach(() => {
    fake.seen.length = 0;
    fake.stored.clear();
  });

  it('get of an absent lease is a LeaseApiError with status 404', async () => {
    await assert.rejects(client.get(ref), (err: unknown) => err instanceof LeaseApiError && err.status === 404);
    assert.deepEqual(fake.seen.map((s) => `${s.method} ${s.path}`), [`GET ${path}/netpol-guard-controller`]);
  });

  it('create sends MicroTime with six fractional digits, and get returns V1MicroTime instances', async () => {
    const at = Date.UTC(2026, 11, 1, 4, 30, 15, 123);
    const created = await client.create(ref, {
      metadata: { name: ref.name },
      spec: { holderIdentity: 'pod-a_1a2b', leaseDurationSeconds: 15, acquireTime: new V1MicroTime(at), renewTime: new Date(at), leaseTransitions: 0 },
    });
    const sent = fake.seen[0]!;
    assert.equal(`${sent.method} ${sent.path}`, `POST ${path}`);
    assert.equal(sent.body?.apiVersion, 'coordination.k8s.io/v1');
    assert.equal(sent.body?.kind, 'Lease');
    const spec = sent.body?.spec as Record<string, unknown>;
    // A plain Date passed by a caller is re-wrapped too: the API server would reject `.123Z`.
    assert.equal(spec.acquireTime, '2026-12-01T04:30:15.123000Z');
    assert.equal(spec.renewTime, '2026-12-01T04:30:15.123000Z');
    assert.equal(spec.holderIdentity, 'pod-a_1a2b');
    assert.equal(created.metadata?.resourceVersion, '500');
    const read = await client.get(ref);
    assert.ok(read.spec?.renewTime instanceof V1MicroTime);
    assert.equal(read.spec.renewTime.getTime(), at);
    assert.equal(read.spec.leaseDurationSeconds, 15);
  });

  it('create of an existing lease is 409; update with a stale resourceVersion is 409; with the current one it succeeds', async () => {
    const lease: V1Lease = { metadata: { name: ref.name }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } };
    const first = await client.create(ref, lease);
    await assert.rejects(client.create(ref, lease), (err: unknown) => err instanceof LeaseApiError && err.status === 409);
    const renewed = await client.update(ref, { ...first, spec: { ...first.spec, renewTime: new V1MicroTime(Date.UTC(2026, 0, 1)) } });
    assert.notEqual(renewed.metadata?.resourceVersion, first.metadata?.resourceVersion);
    await assert.rejects(client.update(ref, first), (err: unknown) => err instanceof LeaseApiError && err.status === 409);
    const put = fake.seen.find((s) => s.method === 'PUT')!;
    assert.equal(put.path, `${path}/netpol-guard-controller`);
    assert.equal((put.body?.metadata as Record<string, unknown>).resourceVersion, first.metadata?.resourceVersion);
    assert.equal((put.body?.spec as Record<string, unknown>).renewTime, '2026-01-01T00:00:00.000000Z');
  });

  it('update without a resourceVersion is refused before any request', async () => {
    await assert.rejects(client.update(ref, { metadata: { name: ref.name }, spec: {} }), /needs metadata.resourceVersion/);
    assert.equal(fake.seen.length, 0);
  });

  it('a server that does not answer gives status undefined', async () => {
    const dead = new KubeConfig();
    dead.loadFromOptions({
      clusters: [{ name: 'dead', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'dead' }],
      contexts: [{ name: 'dead', cluster: 'dead', user: 'dead' }],
      currentContext: 'dead',
    });
    await assert.rejects(KubeLeaseClient.fromKubeConfig(dead).get(ref), (err: unknown) => err instanceof LeaseApiError && err.status === undefined);
  });

  it('an elector acquires over the wire and writes a valid lease record', async () => {
    const shutdown = new AbortController();
    let leading = false;
    const elector = new LeaderElector({
      client,
      lease: { namespace: ref.namespace },
      identity: 'pod-a_ffff',
      clock: systemElectionClock,
      onStartedLeading: () => void (leading = true),
    });
    const ended = elector.run(shutdown.signal);
    for (let i = 0; i < 200 && !leading; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(leading, true);
    shutdown.abort();
    assert.deepEqual(await ended, { reason: 'shutdown', released: true });
    const stored = fake.stored.get('netpol-guard/netpol-guard-controller')!;
    const spec = stored.spec as Record<string, unknown>;
    assert.equal(spec.holderIdentity, '');
    assert.equal(spec.leaseDurationSeconds, 1);
    assert.match(String(spec.renewTime), MICRO_TIME);
    assert.deepEqual(fake.seen.map((s) => s.method), ['GET', 'POST', 'PUT']);
  });
});
