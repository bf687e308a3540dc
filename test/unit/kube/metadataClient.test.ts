import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { MetadataClient } from '../../../src/kube/metadataClient.js';

/** A pods endpoint serving PAGES pages of one pod each, and watches that stay open; counts TCP connections. */
const PAGES = 10;

describe('MetadataClient connections', () => {
  let server: Server;
  let connections = 0;
  let listRequests = 0;
  let kubeConfig: KubeConfig;

  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://fake');
      if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        return;
      }
      listRequests++;
      const start = Number(url.searchParams.get('continue') ?? '0');
      const next = start + 1 < PAGES ? String(start + 1) : undefined;
      const body = JSON.stringify({
        kind: 'PartialObjectMetadataList',
        apiVersion: 'meta.k8s.io/v1',
        metadata: { resourceVersion: '7', ...(next !== undefined && { continue: next }) },
        items: [{ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { namespace: 'shop', name: `web-${start}`, labels: { app: 'web' } } }],
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'fake', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'u' }],
      currentContext: 'fake',
    });
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('lists every page over one kept-alive connection while a watch holds its own (not one handshake per page)', async () => {
    connections = 0;
    listRequests = 0;
    const client = new MetadataClient(kubeConfig);
    const watch = client.watch('/api/v1/pods', { resourceVersion: '7', timeoutSeconds: 60 }, () => undefined);
    try {
      assert.equal(await watch.connected, true);
      const names: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.listPage('/api/v1/pods', { limit: 1, continueToken: token });
        names.push(...page.items.map((p) => p.metadata!.name!));
        token = page.continueToken;
      } while (token !== undefined);
      assert.equal(names.length, PAGES);
      assert.equal(listRequests, PAGES);
      // The watch's connection and one for the lists; without keep-alive it was one per page (11).
      assert.equal(connections, 2, `${connections} connections for ${PAGES} pages and a watch`);
    } finally {
      watch.abort();
      await watch.ended;
    }
  });
});

/**
 * MetadataClient's watch when the API server goes away mid-stream: the connection is reset while
 * a chunked response is open (what a kube-apiserver restart does to every watch). The watch must
 * end with the error, for the Informer to reconnect, and never raise an unheard 'error' event
 * (readline re-emits the response's), which would crash the webhook.
 */

describe('MetadataClient.watch', () => {
  it('a connection reset mid-stream ends the watch with an error, after the events before it', async () => {
    let open: ServerResponse | undefined;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ type: 'ADDED', object: { kind: 'PartialObjectMetadata', metadata: { name: 'p', namespace: 'n' } } })}\n`);
      open = res;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
      currentContext: 'c',
    });
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => void uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const events: string[] = [];
      const watch = new MetadataClient(kc).watch('/api/v1/pods', { resourceVersion: '1', timeoutSeconds: 60 }, (type, object) => {
        events.push(`${type} ${(object as { metadata: { name: string } }).metadata.name}`);
      });
      assert.equal(await watch.connected, true);
      while (events.length === 0) await new Promise((r) => setTimeout(r, 10));
      open!.socket!.destroy();
      let timer: NodeJS.Timeout | undefined;
      const ended = await Promise.race([watch.ended, new Promise((resolve) => (timer = setTimeout(() => resolve('still open after 5 s'), 5_000)))]);
      clearTimeout(timer);
      assert.deepEqual(uncaught.map(String), [], 'no unheard error event');
      assert.ok(ended instanceof Error, `ended with ${String(ended)}`);
      assert.deepEqual(events, ['ADDED p']);
    } finally {
      process.off('uncaughtException', onUncaught);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
