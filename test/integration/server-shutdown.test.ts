/**
 * Graceful shutdown of a listening server: readiness fails at once, an in-flight admission still
 * gets its answer, the port closes afterwards, and a request that never finishes is cut off when
 * the timeout passes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AdmissionDecision, AdmissionReview } from '../../src/admission/types.js';
import { shutdownServer } from '../../src/server/shutdown.js';
import type { TlsFileSource } from '../../src/tls/source.js';
import { admissionReview, decision } from '../unit/server/support.js';
import { eventually, openTls, startServer, testCertificates, type RunningServer, type TestCertificates } from './serverSupport.js';

/** A handler that parks each request until the test releases it. */
function gatedHandler() {
  const waiting: Array<(d: AdmissionDecision) => void> = [];
  return {
    waiting,
    handler: () => new Promise<AdmissionDecision>((resolve) => waiting.push(resolve)),
  };
}

describe('graceful shutdown', () => {
  let certs: TestCertificates;
  let tlsSource: TlsFileSource;
  before(async () => {
    certs = await testCertificates();
    tlsSource = openTls(certs);
  });
  after(() => {
    tlsSource.close();
    certs.remove();
  });

  it('fails readiness at once, finishes the in-flight request, then closes', async () => {
    const gate = gatedHandler();
    const running: RunningServer = await startServer({ caCert: certs.caCert, tls: tlsSource, handlers: { validate: gate.handler } });
    try {
      assert.equal((await running.request('/readyz')).status, 200);
      const inFlight = running.post('/validate', admissionReview({ uid: 'in-flight' }));
      await eventually(() => gate.waiting.length === 1, 10_000, 'request reached the handler');

      let finished = false;
      const shutdown = shutdownServer(running.server, { timeoutMs: 20_000, drainDelayMs: 1_500 }).then((r) => {
        finished = true;
        return r;
      });
      assert.equal(running.server.lifecycle.shuttingDown, true, 'readiness is off synchronously');

      const readyz = await running.request('/readyz');
      assert.equal(readyz.status, 503, 'readyz fails while draining');
      const detail = readyz.json<{ ready: boolean; shuttingDown: boolean }>();
      assert.equal(detail.ready, false);
      assert.equal(detail.shuttingDown, true);
      assert.equal(finished, false, 'shutdown waits for the in-flight request');

      gate.waiting[0]!(decision());
      const answer = await inFlight;
      assert.equal(answer.status, 200);
      assert.equal(answer.json<AdmissionReview>().response?.uid, 'in-flight');
      assert.equal(answer.headers.connection, 'close', 'draining answers ask the client to reconnect elsewhere');

      assert.deepEqual(await shutdown, { forced: false });
      await assert.rejects(running.request('/healthz'), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
      assert.ok(running.logs.some((l) => l.msg === 'admission decision' && l.uid === 'in-flight'));
    } finally {
      if (!running.server.lifecycle.shuttingDown) await running.close();
    }
  });

  it('closes connections by force when the timeout passes', async () => {
    const gate = gatedHandler();
    const running = await startServer({ caCert: certs.caCert, tls: tlsSource, handlers: { validate: gate.handler } });
    const stuck = running.post('/validate', admissionReview({ uid: 'stuck' }));
    await eventually(() => gate.waiting.length === 1, 10_000, 'request reached the handler');
    const result = await shutdownServer(running.server, { timeoutMs: 300, drainDelayMs: 0 });
    assert.deepEqual(result, { forced: true });
    await assert.rejects(stuck, (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET' || /socket hang up/.test(err.message));
    gate.waiting[0]!(decision());
  });

  it('returns the shutdown already under way when called twice', async () => {
    const running = await startServer({ caCert: certs.caCert, tls: tlsSource });
    const first = shutdownServer(running.server, { timeoutMs: 5_000 });
    const second = shutdownServer(running.server, { timeoutMs: 1 });
    assert.equal(first, second);
    assert.deepEqual(await first, { forced: false });
  });
});
