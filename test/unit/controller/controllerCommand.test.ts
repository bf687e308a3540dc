import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { controllerFlagsFrom, podNamespace, SERVICE_ACCOUNT_NAMESPACE_FILE } from '../../../src/cli/controller.js';
import { parseCommandArgs } from '../../../src/cli/command.js';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { waitFor } from '../sweeper/support.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

/** argv → validated controller flags, with no pod namespace unless `podNs` is given. */
function parse(argv: string[], env: NodeJS.ProcessEnv = {}, podNs?: string) {
  // The option set is internal to the command; parse through the kit with the same names.
  const options = {
    'dry-run': { type: 'boolean' }, kubeconfig: { type: 'string' }, namespace: { type: 'string' }, config: { type: 'string' },
    'log-level': { type: 'string' }, resync: { type: 'string' }, concurrency: { type: 'string' }, 'metrics-port': { type: 'string' },
    'metrics-host': { type: 'string' }, 'leader-elect': { type: 'boolean' }, 'lease-name': { type: 'string' },
    'lease-namespace': { type: 'string' }, 'lease-duration': { type: 'string' }, 'renew-deadline': { type: 'string' }, 'retry-period': { type: 'string' },
  } as const;
  const parsed = parseCommandArgs({ options }, argv);
  assert.ok(parsed.ok, 'argv parses');
  return controllerFlagsFrom(parsed.values, env, () => podNs);
}

describe('controller flags', () => {
  it('a local run: no leader election, controller-runtime timing defaults', () => {
    const r = parse([]);
    assert.ok(r.ok);
    assert.equal(r.flags.leaderElect, false);
    assert.equal(r.flags.leaseNamespace, undefined);
    assert.equal(r.flags.leaseName, 'netpol-guard-controller');
    assert.deepEqual(r.flags.timing, { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
    assert.equal(r.flags.mode, 'watch');
    assert.equal(r.flags.metricsPort, 9090);
  });

  it('--leader-elect takes the namespace from the flag, else the pod', () => {
    const fromFlag = parse(['--leader-elect', '--lease-namespace', 'ops', '--lease-name', 'guard-lease'], {}, 'ignored');
    assert.ok(fromFlag.ok);
    assert.equal(fromFlag.flags.leaseNamespace, 'ops');
    assert.equal(fromFlag.flags.leaseName, 'guard-lease');
    const fromPod = parse(['--leader-elect'], {}, 'netpol-guard');
    assert.ok(fromPod.ok);
    assert.equal(fromPod.flags.leaseNamespace, 'netpol-guard');
  });

  it('short leases for tests, e.g. 4s/3s/1s', () => {
    const r = parse(['--leader-elect', '--lease-namespace', 'ops', '--lease-duration', '4s', '--renew-deadline', '3s', '--retry-period', '1s']);
    assert.ok(r.ok);
    assert.deepEqual(r.flags.timing, { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 1_000 });
  });

  for (const [argv, problem] of [
    [['--leader-elect'], /needs --lease-namespace/],
    [['--lease-name', 'x'], /--lease-name applies with --leader-elect only/],
    [['--lease-duration', '20s'], /applies with --leader-elect only/],
    [['--leader-elect', '--lease-namespace', 'Not_A_Namespace'], /not a valid namespace name/],
    [['--leader-elect', '--lease-namespace', 'ops', '--lease-name', 'Bad_Name'], /not a valid object name/],
    [['--leader-elect', '--lease-namespace', 'ops', '--lease-duration', 'soon'], /--lease-duration: "soon" is not a duration/],
    [['--leader-elect', '--lease-namespace', 'ops', '--renew-deadline', '15s'], /--renew-deadline \(15000\) must be shorter than --lease-duration/],
    [['--leader-elect', '--lease-namespace', 'ops', '--retry-period', '10s'], /--retry-period \(10000\) must be shorter than --renew-deadline/],
    [['--resync', '1s'], /shorter than 10s/],
    [['--metrics-port', '70000'], /out of range/],
  ] as const) {
    it(`refuses ${argv.join(' ')}`, () => {
      const r = parse([...argv]);
      assert.equal(r.ok, false);
      assert.match((r as { error: string }).error, problem);
    });
  }

  it('the pod namespace: $POD_NAMESPACE first, then the service-account file, else none', () => {
    const file = (content: string | undefined) => (path: string): string => {
      assert.equal(path, SERVICE_ACCOUNT_NAMESPACE_FILE);
      if (content === undefined) throw new Error('ENOENT');
      return content;
    };
    assert.equal(podNamespace({ POD_NAMESPACE: 'from-env' }, file('from-file\n')), 'from-env');
    assert.equal(podNamespace({}, file('from-file\n')), 'from-file');
    assert.equal(podNamespace({ POD_NAMESPACE: '' }, file(undefined)), undefined);
    assert.equal(podNamespace({}, file('  ')), undefined);
  });
});

describe('controller and sweep --watch as processes', () => {
  let fake: FakeApiServer;
  let tmp: string;
  let kubeconfig: string;
  before(async () => {
    fake = await FakeApiServer.start();
    tmp = mkdtempSync(join(tmpdir(), 'netpol-guard-controller-'));
    kubeconfig = join(tmp, 'kubeconfig');
    writeFileSync(kubeconfig, fake.kubeconfigText());
  });
  after(async () => {
    await fake.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function runUntil(args: string[], ready: (stdout: string) => boolean): Promise<{ stdout: string; code: number | null }> {
    const child = spawn(process.execPath, [MAIN, ...args, '--kubeconfig', kubeconfig, '--metrics-port', '0', '--metrics-host', '127.0.0.1'], {
      env: { PATH: process.env.PATH, HOME: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await waitFor(() => ready(stdout), 'the process to get there', 10_000);
    } finally {
      child.kill('SIGTERM');
    }
    return { stdout, code: await exited };
  }

  it('sweep --watch runs the controller and says once that it is an alias', async () => {
    fake.reset();
    const { stdout, code } = await runUntil(['sweep', '--watch'], (out) => /serving \/healthz/.test(out) && fake.watchCount >= 1);
    assert.equal(code, 0);
    const aliasLines = stdout.split('\n').filter((l) => l.includes('is an alias of'));
    assert.equal(aliasLines.length, 1);
    assert.match(aliasLines[0]!, /"sweep --watch" is an alias of \\"controller\\"|sweep --watch.*alias of.*controller/);
  });

  it('controller without --leader-elect deletes at expiry and exits 0 on SIGTERM', async () => {
    fake.reset();
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'gone', expiresAt: new Date(Date.now() - 60_000) }));
    const { stdout, code } = await runUntil(['controller'], () => !fake.hasPolicy('team-a', 'gone'));
    assert.equal(code, 0);
    assert.ok(!stdout.includes('is an alias of'));
    assert.match(stdout, /"controller starting"/);
  });
});
