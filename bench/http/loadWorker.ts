/**
 * The load generator, in its own process (pinned to its own core by the parent): runs autocannon
 * rounds on request over IPC and answers with throughput, exact latency percentiles and error
 * counts. One long-lived process, so autocannon's own JIT warm-up is paid once, not per round.
 *
 * Latencies are taken from autocannon's per-response event (hrtime, sub-millisecond) rather than
 * its histogram, which records whole milliseconds and adds coordinated-omission fill-ins at a
 * fixed rate; every response is kept and the percentiles are exact.
 */
import autocannon from 'autocannon';
import { quantileSorted, SampleBuffer } from '../stats.js';

export interface LoadRequest {
  id: number;
  url: string;
  body: string;
  connections: number;
  durationSeconds: number;
  /** Requests per second across all connections; absent: closed loop (as fast as answers come). */
  overallRate?: number;
}

export interface LoadResult {
  id: number;
  /** 2xx answers per second of the round. */
  rps: number;
  responses: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  elapsedSeconds: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Share of one core the generator itself used: near 1 means the generator may be the limit. */
  generatorCpu: number;
}

function runRound(request: LoadRequest): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const latencies = new SampleBuffer();
    let ok = 0;
    let non2xx = 0;
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    const instance = autocannon(
      {
        url: request.url,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: request.body,
        connections: request.connections,
        pipelining: 1,
        duration: request.durationSeconds,
        timeout: 10,
        ...(request.overallRate !== undefined ? { overallRate: request.overallRate } : {}),
      },
      (err, result) => {
        if (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        const elapsedSeconds = Number(process.hrtime.bigint() - started) / 1e9;
        const cpu = process.cpuUsage(cpuBefore);
        const sorted = latencies.sorted();
        resolve({
          id: request.id,
          rps: ok / elapsedSeconds,
          responses: ok + non2xx,
          non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          elapsedSeconds,
          p50Ms: quantileSorted(sorted, 0.5),
          p99Ms: quantileSorted(sorted, 0.99),
          p999Ms: quantileSorted(sorted, 0.999),
          maxMs: sorted.length > 0 ? sorted[sorted.length - 1]! : NaN,
          generatorCpu: (cpu.user + cpu.system) / 1e6 / elapsedSeconds,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) {
        ok++;
        latencies.push(responseTime);
      } else {
        non2xx++;
      }
    });
  });
}

process.on('message', (message: LoadRequest) => {
  runRound(message).then(
    (result) => process.send?.({ ok: true, result }),
    (err: unknown) => process.send?.({ ok: false, id: message.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
