/**
 * MetadataClient's watch when the API server goes away mid-stream: the connection is reset while
 * a chunked response is open (what a kube-apiserver restart does to every watch). The watch must
 * end with the error, for the Informer to reconnect, and never raise an unheard 'error' event
 * (readline re-emits the response's), which would crash the webhook.
 */
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { MetadataClient } from '../../../src/kube/metadataClient.js';

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
