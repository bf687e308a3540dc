import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach, describe, it } from 'node:test';
import { parseSweepFlags } from '../../../src/cli/sweep.js';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { waitFor } from '../sweeper/support.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

describe('parseSweepFlags', () => {
  const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseSweepFlags(argv, env);

  it('fills in the documented defaults', () => {
    const r = parse(['--once']);
    assert.ok(r.ok);
    assert.deepEqual(r.flags, {
      mode: 'once',
      dryRun: false,
      kubeconfig: undefined,
      namespace: undefined,
      configPath: undefined,
      resyncMs: 300_000,
      concurrency: 4,
      metricsPort: 9090,
      metricsHost: '0.0.0.0',
      logLevel: 'info',
    });
  });

  it('accepts every flag of the stable interface', () => {
    const r = parse([
      '--watch', '--dry-run', '--kubeconfig', '/k', '--namespace', 'team-a', '--config', '/c.yaml', '--resync', '1m30s',
      '--concurrency', '8', '--metrics-port', '9100', '--metrics-host', '127.0.0.1', '--log-level', 'debug',
    ]);
    assert.ok(r.ok);
    assert.deepEqual(r.flags, {
      mode: 'watch',
      dryRun: true,
      kubeconfig: '/k',
      namespace: 'team-a',
      configPath: '/c.yaml',
      resyncMs: 90_000,
      concurrency: 8,
      metricsPort: 9100,
      metricsHost: '127.0.0.1',
      logLevel: 'debug',
    });
  });

  it('takes the config path from NETPOL_GUARD_CONFIG unless --config is given', () => {
    const fromEnv = parse(['--once'], { NETPOL_GUARD_CONFIG: '/env.yaml' });
    assert.ok(fromEnv.ok && fromEnv.flags.configPath === '/env.yaml');
    const fromFlag = parse(['--once', '--config', '/flag.yaml'], { NETPOL_GUARD_CONFIG: '/env.yaml' });
    assert.ok(fromFlag.ok && fromFlag.flags.configPath === '/flag.yaml');
  });

  it('rejects bad usage with a message naming the problem', () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /exactly one of --once/],
      [['--once', '--watch'], /exactly one of --once/],
      [['--once', '--resync', '5m'], /--resync applies to --watch only/],
      [['--once', '--metrics-port', '1'], /--metrics-port applies to --watch only/],
      [['--watch', '--resync', '5s'], /shorter than 10s/],
      [['--watch', '--resync', 'soon'], /--resync: "soon" is not a duration/],
      [['--once', '--concurrency', '0'], /--concurrency 0 is out of range 1-64/],
      [['--once', '--concurrency', 'four'], /not a whole number/],
      [['--watch', '--metrics-port', '70000'], /out of range/],
      [['--once', '--namespace', 'Team_A'], /not a valid namespace name/],
      [['--once', '--log-level', 'loud'], /--log-level "loud"/],
      [['--once', '--bogus'], /Unknown option '--bogus'/],
      [['--once', 'extra'], /positional/i],
    ];
    for (const [argv, pattern] of cases) {
      const r = parse(argv);
      assert.ok(!r.ok && !r.help, argv.join(' '));
      assert.match((r as { error: string }).error, pattern, argv.join(' '));
    }
  });

  it('recognises --help', () => {
    const r = parse(['--help']);
    assert.ok(!r.ok && r.help);
  });
});

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env.PATH, HOME: tmp, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let fake: FakeApiServer;
let tmp: string;
let kubeconfig: string;
const past = (): Date => new Date(Date.now() - 3_600_000);
const future = (): Date => new Date(Date.now() + 3_600_000);

describe('netpol-guard sweep (the real CLI process against the fake API server)', () => {
  before(async () => {
    fake = await FakeApiServer.start();
    tmp = mkdtempSync(join(tmpdir(), 'netpol-guard-sweep-'));
    kubeconfig = join(tmp, 'kubeconfig');
    writeFileSync(kubeconfig, fake.kubeconfigText(), { mode: 0o600 });
  });
  after(async () => {
    await fake.stop();
    rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach(() => {
    fake.reset();
  });

  it('--once deletes expired grants, logs the audit line and exits 0', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'old', expiresAt: past(), ticket: 'OPS-5' }));
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'new', expiresAt: future() }));
    const r = await runCli(['sweep', '--once', '--kubeconfig', kubeconfig]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.deepEqual(fake.listPolicies().map((p) => p.metadata!.name), ['new']);
    const audit = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'grant expired');
    assert.equal(audit?.ticket, 'OPS-5');
    assert.equal(audit?.component, 'netpol-guard-sweeper');
  });

  it('--once --dry-run deletes nothing and exits 0', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'old', expiresAt: past() }));
    const r = await runCli(['sweep', '--once', '--dry-run', '--kubeconfig', kubeconfig]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fake.hasPolicy('team-a', 'old'), true);
    assert.match(r.stdout, /"dryRun":true/);
  });

  it('--once exits 1 when a deletion fails for a reason other than "already gone"', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'old', expiresAt: past() }));
    fake.failNext('delete', { status: 403 });
    const r = await runCli(['sweep', '--once', '--kubeconfig', kubeconfig]);
    assert.equal(r.code, 1);
    assert.equal(fake.hasPolicy('team-a', 'old'), true);
  });

  it('--once exits 0 when the grant was already gone', async () => {
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'old', expiresAt: past() }));
    fake.beforeNext('delete', () => void fake.removePolicy('team-a', 'old'));
    const r = await runCli(['sweep', '--once', '--kubeconfig', kubeconfig]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fake.requestsFor('delete')[0]!.status, 404);
  });

  it('reads the annotation prefix from the config named by NETPOL_GUARD_CONFIG', async () => {
    const configFile = join(tmp, 'config.yaml');
    writeFileSync(configFile, 'annotationPrefix: grants.example.com\n');
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'custom', expiresAt: past(), prefix: 'grants.example.com' }));
    const r = await runCli(['sweep', '--once', '--kubeconfig', kubeconfig], { NETPOL_GUARD_CONFIG: configFile });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fake.hasPolicy('team-a', 'custom'), false);
    assert.equal(fake.requestsFor('list')[0]!.query.labelSelector, 'grants.example.com/temporary=true');
  });

  it('exits 2 with the config error for an invalid config file', async () => {
    const configFile = join(tmp, 'bad.yaml');
    writeFileSync(configFile, 'limits:\n  maxTtl: 2h\n');
    const r = await runCli(['sweep', '--once', '--kubeconfig', kubeconfig, '--config', configFile]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /maxTtl: unknown key/);
    assert.equal(fake.requests.length, 0);
  });

  it('exits 2 naming the file when the kubeconfig cannot be read', async () => {
    const r = await runCli(['sweep', '--once', '--kubeconfig', join(tmp, 'missing')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot load Kubernetes client configuration from .*missing/);
  });

  it('exits 2 when no API server configuration can be found at all', { skip: existsSync(SERVICE_ACCOUNT_TOKEN) && 'running in a pod: the service account would be found' }, async () => {
    const r = await runCli(['sweep', '--once']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no Kubernetes API configuration found/);
  });

  it('prints help with exit 0, and usage with exit 2 on bad flags', async () => {
    const help = await runCli(['sweep', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /usage: netpol-guard sweep --once\|--watch/);
    const bad = await runCli(['sweep', '--once', '--watch']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /exactly one of --once/);
  });

  it('--watch serves /healthz and /metrics, deletes at expiry, and exits 0 on SIGTERM', async () => {
    const soon = new Date(Math.ceil((Date.now() + 2_000) / 1_000) * 1_000);
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'soon', expiresAt: soon }));
    const child = spawn(
      process.execPath,
      [MAIN, 'sweep', '--watch', '--kubeconfig', kubeconfig, '--metrics-port', '0', '--metrics-host', '127.0.0.1'],
      { env: { PATH: process.env.PATH, HOME: tmp }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await waitFor(() => /serving \/healthz and \/metrics/.test(stdout), 'the metrics server', 10_000);
      const line = stdout.split('\n').find((l) => l.includes('serving /healthz'))!;
      const port = (JSON.parse(line) as { port: number }).port;
      await waitFor(() => fake.watchCount === 1, 'the watch', 10_000);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.status, 200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /netpol_guard_sweeper_relists_total\{reason="startup"\} 1/);
      assert.match(metrics, /process_resident_memory_bytes/);

      await waitFor(() => !fake.hasPolicy('team-a', 'soon'), 'the deletion at expiry', 10_000);
      await waitFor(() => stdout.includes('"grant expired"'), 'the audit line', 5_000);
      const audit = JSON.parse(stdout.split('\n').find((l) => l.includes('"grant expired"'))!) as { lagSeconds: number };
      // Never before expiry. (How soon after is proven with the fake clock; wall-clock speed is not asserted.)
      assert.ok(audit.lagSeconds >= 0, `lag ${audit.lagSeconds}s`);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
    await waitFor(() => fake.watchCount === 0, 'the watch to close', 5_000);
  });
});
