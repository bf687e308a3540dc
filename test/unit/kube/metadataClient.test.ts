import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
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
