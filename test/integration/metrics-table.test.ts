/**
 * The README's metrics table and what the processes really serve on /metrics agree, both ways:
 * every netpol_guard_* family served by the webhook app or the controller process is documented
 * with its type, component and labels, and every documented row is served by the component it
 * names. A metric added without a README row fails here, on purpose.
 *
 * The webhook is the real app (buildServer); the controller is the real `controller` process against
 * the fake API server, twice: once acting alone until it deleted an expired grant (so its labelled
 * counters have samples), once with --leader-elect (the election's metrics; the fake serves no
 * Lease, so it stays a standby).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '../fixtures/paths.js';
import { FakeApiServer, grantPolicy } from '../helpers/fakeApiServer.js';
import { parseExposition, readmeMetricsTable, type Component, type DocumentedMetric, type MetricFamily } from '../helpers/metricsText.js';
import { waitFor } from '../unit/sweeper/support.js';
import { MemoryClusterView } from '../../src/cluster/memoryView.js';
import type { ClusterViewStatus } from '../../src/cluster/informerView.js';
import { openTls, startServer, testCertificates } from './serverSupport.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** prom-client's collectDefaultMetrics: documented as one group, not row by row. */
const NODE_DEFAULTS = /^(process|nodejs)_/;

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode} ${body}`))));
    })
      .on('error', reject)
      .end();
  });
}

async function webhookExposition(): Promise<string> {
  const certs = await testCertificates();
  const tls = openTls(certs);
  // With a cluster view, so its gauges are served as the deployed webhook serves them.
  const clusterView = Object.assign(new MemoryClusterView({ namespaces: {} }), {
    status: (): ClusterViewStatus => ({ synced: true, stale: false, informers: [{ name: 'namespaces', synced: true, stale: false, cached: 0 }] }),
  });
  const running = await startServer({ caCert: certs.caCert, tls, clusterView });
  try {
    return (await running.request('/metrics')).text;
  } finally {
    await running.close();
    tls.close();
    certs.remove();
  }
}

/** One controller process against the fake API server; `extraArgs` e.g. --leader-elect. */
async function controllerExposition(extraArgs: string[], settled: (fake: FakeApiServer, stdout: string) => boolean): Promise<string> {
  const fake = await FakeApiServer.start();
  const tmp = mkdtempSync(path.join(tmpdir(), 'netpol-guard-metrics-table-'));
  let child: ChildProcess | undefined;
  try {
    const kubeconfig = path.join(tmp, 'kubeconfig');
    writeFileSync(kubeconfig, fake.kubeconfigText());
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'expired', expiresAt: new Date(Date.now() - 60_000) }));
    const args = [MAIN, 'controller', ...extraArgs, '--kubeconfig', kubeconfig, '--metrics-port', '0', '--metrics-host', '127.0.0.1'];
    child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, HOME: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    let port: number | undefined;
    await waitFor(() => {
      const line = stdout.split('\n').find((l) => l.includes('serving /healthz and /metrics'));
      port = line === undefined ? undefined : (JSON.parse(line) as { port: number }).port;
      return port !== undefined && settled(fake, stdout);
    }, `controller ${extraArgs.join(' ')} to serve metrics and settle`, 15_000);
    return await get(`http://127.0.0.1:${port}/metrics`);
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.on('close', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await fake.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The union of two scrapes of the same component (label names merged). */
function merge(a: Map<string, MetricFamily>, b: Map<string, MetricFamily>): Map<string, MetricFamily> {
  const merged = new Map(a);
  for (const family of b.values()) {
    const known = merged.get(family.name);
    merged.set(family.name, known ? { ...known, labels: new Set([...known.labels, ...family.labels]) } : family);
  }
  return merged;
}

describe('README metrics table and /metrics agree', () => {
  const served = new Map<Component, Map<string, MetricFamily>>();
  let table: Map<string, DocumentedMetric>;

  before(async () => {
    table = readmeMetricsTable(path.join(REPO_ROOT, 'README.md'));
    served.set('webhook', parseExposition(await webhookExposition()));
    const acting = await controllerExposition([], (fake) => !fake.hasPolicy('team-a', 'expired'));
    const electing = await controllerExposition(['--leader-elect', '--lease-namespace', 'netpol-guard'], (_fake, stdout) => stdout.includes('leader election call failed'));
    served.set('controller', merge(parseExposition(acting), parseExposition(electing)));
  });

  for (const component of ['webhook', 'controller'] as const) {
    it(`every netpol_guard_* family the ${component} serves is documented as its own, with type and labels`, () => {
      const families = served.get(component)!;
      const problems: string[] = [];
      for (const family of families.values()) {
        if (!family.name.startsWith('netpol_guard_')) {
          if (!NODE_DEFAULTS.test(family.name)) problems.push(`${family.name}: served by the ${component}, neither netpol_guard_* nor a Node default`);
          continue;
        }
        const row = table.get(family.name);
        if (row === undefined) {
          problems.push(`${family.name} (${family.type}${family.labels.size ? `; ${[...family.labels].join(', ')}` : ''}): served by the ${component} but missing from the README metrics table`);
          continue;
        }
        if (row.type !== family.type) problems.push(`${family.name}: README says ${row.type}, /metrics says ${family.type}`);
        if (!row.components.has(component)) problems.push(`${family.name}: served by the ${component}, README names ${[...row.components].join(', ')}`);
        const undocumented = [...family.labels].filter((l) => !row.labels.has(l));
        if (undocumented.length > 0) problems.push(`${family.name}: labels ${undocumented.join(', ')} served but not documented`);
      }
      assert.deepEqual(problems, []);
      assert.ok([...families.keys()].some((n) => NODE_DEFAULTS.test(n)), `the ${component} serves the Node default metrics the README mentions`);
    });
  }

  it('every documented metric is served by each component it names', () => {
    const problems: string[] = [];
    for (const row of table.values()) {
      for (const component of row.components) {
        if (!served.get(component)!.has(row.name)) problems.push(`${row.name}: documented for the ${component}, not in its /metrics`);
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(table.size >= 20, `the table has ${table.size} rows`);
  });

  it('labels documented for a webhook metric are exactly those it registers', () => {
    // Labelled families with no sample yet (no admission answered) show no labels in the text;
    // the webhook registers every family up front, so compare with the sample-bearing ones only.
    const families = served.get('webhook')!;
    const problems: string[] = [];
    for (const row of table.values()) {
      const family = families.get(row.name);
      if (!row.components.has('webhook') || family === undefined || family.labels.size === 0) continue;
      const missing = [...row.labels].filter((l) => !family.labels.has(l));
      if (missing.length > 0) problems.push(`${row.name}: documents ${missing.join(', ')}, which its samples do not carry`);
    }
    assert.deepEqual(problems, []);
  });
});
