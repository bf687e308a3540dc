import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { recordOpened, type GrantRecord } from '../../../src/controller/grantRecord.js';
import { GrantRecordApiError, KubeGrantRecordClient } from '../../../src/controller/grantRecordClient.js';
import { CONFIG, grantPolicy, T0 } from './grantFixtures.js';
import { LoopbackApi } from '../../helpers/loopbackApi.js';

const BASE = '/apis/netpol-guard.io/v1alpha1/grantrecords';

interface Seen {
  /** The client's port: equal ports mean one kept-alive connection. */
  port: number | undefined;
  method: string;
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown> | undefined;
}

/** Answers each request with the next scripted reply, and remembers what was asked. */
class ScriptedApi extends LoopbackApi {
  readonly seen: Seen[] = [];
  replies: { status: number; body: unknown }[] = [];
  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    this.seen.push({ port: req.socket.remotePort, method: req.method ?? '', path: url.pathname, query: url.searchParams, body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) });
    const reply = this.replies.shift() ?? { status: 500, body: { kind: 'Status', code: 500 } };
    if (reply.status === 0) return; // never answer: a hung API server
    res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
  }
}

const record = (): GrantRecord => recordOpened(grantPolicy(), T0, CONFIG);
const stored = (rv: string): GrantRecord => ({ ...record(), metadata: { ...record().metadata, resourceVersion: rv } });
const status = (code: number) => ({ status: code, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason: 'X', message: 'x' } });

describe('KubeGrantRecordClient on the wire', () => {
  const api = new ScriptedApi();
  let client: KubeGrantRecordClient;
  before(async () => {
    await api.start();
    client = KubeGrantRecordClient.fromKubeConfig(api.kubeConfig());
  });
  after(async () => {
    await api.stop();
  });
  beforeEach(() => {
    api.seen.length = 0;
    api.replies = [];
  });

  it('lists every page, passing the continue token and the label selector', async () => {
    api.replies = [
      { status: 200, body: { items: [stored('1')], metadata: { continue: 'page-2' } } },
      { status: 200, body: { items: [stored('2')], metadata: {} } },
    ];
    const all = await client.list('netpol-guard.io/policy-namespace=payments');
    assert.deepEqual(all.map((r) => r.metadata.resourceVersion), ['1', '2']);
    assert.deepEqual(api.seen.map((s) => [s.method, s.path]), [['GET', BASE], ['GET', BASE]]);
    assert.equal(api.seen[0]!.query.get('labelSelector'), 'netpol-guard.io/policy-namespace=payments');
    assert.equal(api.seen[0]!.query.get('limit'), '500');
    assert.equal(api.seen[0]!.query.get('continue'), null);
    assert.equal(api.seen[1]!.query.get('continue'), 'page-2');
  });

  it('get: the record, or undefined on 404', async () => {
    api.replies = [{ status: 200, body: stored('7') }, status(404)];
    const name = record().metadata.name!;
    assert.equal((await client.get(name))?.metadata.resourceVersion, '7');
    assert.equal(await client.get(name), undefined);
    assert.equal(api.seen[0]!.path, `${BASE}/${name}`);
  });

  it('create POSTs the record; update PUTs it by name and refuses without a resourceVersion', async () => {
    api.replies = [{ status: 201, body: stored('1') }, { status: 200, body: stored('2') }];
    await client.create(record());
    await client.update(stored('1'));
    assert.deepEqual(api.seen.map((s) => [s.method, s.path]), [['POST', BASE], ['PUT', `${BASE}/${record().metadata.name}`]]);
    assert.equal((api.seen[1]!.body!['metadata'] as Record<string, unknown>)['resourceVersion'], '1');
    await assert.rejects(client.update(record()), /needs metadata.resourceVersion/);
    assert.equal(api.seen.length, 2, 'nothing sent without a resourceVersion');
  });

  it('delete sends a resourceVersion precondition; false when already gone', async () => {
    api.replies = [{ status: 200, body: { kind: 'Status', status: 'Success' } }, status(404)];
    assert.equal(await client.delete('r1', '42'), true);
    assert.equal(await client.delete('r1', '42'), false);
    assert.equal(api.seen[0]!.method, 'DELETE');
    assert.equal(api.seen[0]!.path, `${BASE}/r1`);
    assert.deepEqual(api.seen[0]!.body?.['preconditions'], { resourceVersion: '42' });
  });

  it('an HTTP failure becomes a GrantRecordApiError with its status (409 on a moved record)', async () => {
    api.replies = [status(409)];
    await assert.rejects(client.update(stored('1')), (err: unknown) => err instanceof GrantRecordApiError && err.status === 409);
  });

  it('sends every call on one kept-alive connection (no handshake per write)', async () => {
    api.replies = [200, 201, 200, 200].map((code, i) => ({ status: code, body: stored(String(i + 1)) }));
    await client.get('a');
    await client.create(record());
    await client.update(stored('2'));
    await client.get('b');
    assert.equal(api.seen.length, 4);
    assert.equal(new Set(api.seen.map((s) => s.port)).size, 1, `ports ${api.seen.map((s) => s.port).join(', ')}`);
  });

  it('a call the API server never answers fails at the deadline instead of stalling the record forever', async () => {
    const impatient = KubeGrantRecordClient.fromKubeConfig(api.kubeConfig(), { timeoutMs: 200 });
    api.replies = [{ status: 0, body: undefined }];
    const started = Date.now();
    await assert.rejects(impatient.get('hung'), (err: unknown) => err instanceof GrantRecordApiError && err.status === undefined);
    assert.ok(Date.now() - started < 10_000);
    impatient.close();
  });
});
