/**
 * The monitoring component, proven with real tools:
 *   - promtool (built from Go modules by test/e2e/promtool/build.sh, cached) parses every alert
 *     rule and every dashboard query (`check rules`) and runs the alert unit tests
 *     (test/monitoring/alerts.test.yaml: series in, alert out);
 *   - every apiserver_* metric an alert or panel uses is in a real kube-apiserver's /metrics,
 *     after that API server called the netpol-guard webhooks, once successfully and once failing.
 * (netpol_guard_* names are checked against the README table, itself checked against the real
 * /metrics, in test/unit/deploy/monitoring.test.ts.)
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseExposition } from '../helpers/metricsText.js';
import { alertRules, dashboardAsRulesFile, dashboardExpressions, metricNamesIn, promtoolRulesFile } from '../helpers/monitoring.js';
import { findRepoRoot, startControlPlane, type ControlPlane } from './harness/controlPlane.js';
import { startNetpolGuard, type NetpolGuard } from './harness/guard.js';
import { grantAnnotations, narrowPolicy } from './harness/policies.js';
import { uniqueName } from './harness/tenants.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], timeoutMs = 30 * 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** $NETPOL_GUARD_PROMTOOL (run.sh sets it), else the cached build (a cold build takes long). */
async function promtoolPath(): Promise<string> {
  const explicit = process.env['NETPOL_GUARD_PROMTOOL'];
  if (explicit !== undefined && explicit !== '') return explicit;
  const built = await run('bash', [path.join(findRepoRoot(), 'test', 'e2e', 'promtool', 'build.sh')]);
  assert.equal(built.code, 0, `promtool build failed:\n${built.stderr.slice(-4000)}`);
  return built.stdout.trim().split('\n').at(-1)!;
}

describe('monitoring: promtool', () => {
  let promtool = '';
  let dir = '';
  before(async () => {
    promtool = await promtoolPath();
    dir = mkdtempSync(path.join(tmpdir(), 'netpol-guard-promtool-'));
    writeFileSync(path.join(dir, 'rules.yaml'), promtoolRulesFile());
    writeFileSync(path.join(dir, 'dashboard-queries.yaml'), dashboardAsRulesFile());
    copyFileSync(path.join(findRepoRoot(), 'test', 'monitoring', 'alerts.test.yaml'), path.join(dir, 'alerts.test.yaml'));
  });
  after(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('promtool check rules: every alert rule and every dashboard query is valid PromQL', async () => {
    const checked = await run(promtool, ['check', 'rules', path.join(dir, 'rules.yaml'), path.join(dir, 'dashboard-queries.yaml')]);
    assert.equal(checked.code, 0, `${checked.stdout}\n${checked.stderr}`);
    assert.match(checked.stdout, new RegExp(`SUCCESS: ${alertRules().length} rules found`));
    assert.match(checked.stdout, new RegExp(`SUCCESS: ${dashboardExpressions().expressions.length} rules found`));
  });

  it('promtool check rules refuses a broken expression (the check can fail)', async () => {
    const broken = path.join(dir, 'broken.yaml');
    writeFileSync(broken, 'groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: sum(rate(netpol_guard_admission_requests_total[5m])\n');
    const checked = await run(promtool, ['check', 'rules', broken]);
    assert.notEqual(checked.code, 0);
  });

  it('promtool test rules: the alert unit tests pass', async () => {
    const tested = await run(promtool, ['test', 'rules', path.join(dir, 'alerts.test.yaml')]);
    assert.equal(tested.code, 0, `${tested.stdout}\n${tested.stderr}`);
    assert.match(tested.stdout, /SUCCESS/);
  });
});

describe('monitoring: the API server metrics the alerts and panels use exist', () => {
  let cp: ControlPlane | undefined;
  let guard: NetpolGuard | undefined;
  let apiserverFamilies = new Set<string>();

  before(async () => {
    cp = await startControlPlane();
    guard = await startNetpolGuard(cp, { configYaml: 'mode: enforce\n' });
    const ns = uniqueName('e2e-monitoring');
    await cp.kubectlOk(['create', 'namespace', ns]);
    // One call that succeeds, then one that cannot reach the webhook (failurePolicy Fail): the
    // API server then exports its request, latency and rejection series for our webhooks.
    const ok = await cp.kubectl(['apply', '-f', '-'], { stdin: narrowPolicy(ns, 'reachable', grantAnnotations('netpol-guard.io', '2h')) });
    assert.equal(ok.code, 0, ok.stderr);
    await guard.webhook.kill();
    const refused = await cp.kubectl(['apply', '-f', '-'], { stdin: narrowPolicy(ns, 'unreachable') });
    assert.notEqual(refused.code, 0, 'a write with the webhook down is refused');
    assert.match(refused.stderr, /failed calling webhook/);
    const scraped = await cp.request('/metrics');
    assert.equal(scraped.status, 200);
    apiserverFamilies = new Set(parseExposition(scraped.body).keys());
  });
  after(async () => {
    await guard?.stop();
    await cp?.stop();
  });

  it('every apiserver_* name in an alert or panel is a family the real kube-apiserver serves', () => {
    const used = new Set([...alertRules().map((r) => r.expr), ...dashboardExpressions().expressions].flatMap((e) => [...metricNamesIn(e)]));
    const apiserver = [...used].filter((n) => n.startsWith('apiserver_'));
    assert.ok(apiserver.length >= 2, `alerts and panels use API server metrics: ${apiserver.join(', ')}`);
    const missing = apiserver.filter((n) => !apiserverFamilies.has(n) && !apiserverFamilies.has(n.replace(/_(bucket|sum|count)$/, '')));
    assert.deepEqual(missing, [], `served apiserver_admission_webhook_* families: ${[...apiserverFamilies].filter((f) => f.startsWith('apiserver_admission_webhook')).join(', ')}`);
  });
});
