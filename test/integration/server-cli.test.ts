/**
 * `netpol-guard serve` as a process: it generates certificates on first run, serves over TLS,
 * refuses an invalid config with exit code 2, and exits 0 on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function spawnServe(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Spawned {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], {
    cwd,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function waitForLog(spawned: Spawned, msg: RegExp, ms = 30_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  for (;;) {
    for (const line of spawned.stdout().split('\n')) {
      if (line.trim() === '') continue;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (typeof parsed.msg === 'string' && msg.test(parsed.msg)) return parsed;
    }
    if (spawned.child.exitCode !== null) assert.fail(`serve exited (${spawned.child.exitCode}) early:\n${spawned.stderr()}\n${spawned.stdout()}`);
    if (Date.now() > deadline) assert.fail(`no log line ${msg} within ${ms} ms:\n${spawned.stdout()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('netpol-guard serve (process)', () => {
  let cwd: string;
  const children: ChildProcess[] = [];
  before(() => {
    cwd = mkdtempSync(path.join(tmpdir(), 'netpol-guard-serve-'));
  });
  after(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  });

  it('generates certificates into ./certs, serves over TLS, and exits 0 on SIGTERM', async () => {
    const spawned = spawnServe(['--port', '0', '--host', '127.0.0.1', '--drain-delay', '0', '--log-level', 'info'], cwd);
    children.push(spawned.child);
    const serving = await waitForLog(spawned, /^netpol-guard serving at https:\/\/127\.0\.0\.1:\d+$/);
    const url = String(serving.url);
    const certsDir = path.join(cwd, 'certs');
    assert.match(spawned.stderr(), new RegExp(`CA bundle ${path.join(certsDir, 'ca.crt').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.equal(statSync(path.join(certsDir, 'tls.key')).mode & 0o777, 0o600);
    assert.equal(statSync(path.join(certsDir, 'ca.key')).mode & 0o777, 0o600);

    const ca = readFileSync(path.join(certsDir, 'ca.crt'), 'utf8');
    const health = await get(`${url}/healthz`, ca);
    assert.equal(health.status, 200);
    const ready = await get(`${url}/readyz`, ca);
    assert.equal(ready.status, 200, ready.body);

    assert.ok(!spawned.stdout().includes('PRIVATE KEY') && !spawned.stdout().includes('BEGIN CERTIFICATE'), 'no key material in logs');
    spawned.child.kill('SIGTERM');
    assert.equal(await spawned.exit, 0, spawned.stderr());
    assert.match(spawned.stdout(), /"msg":"server closed"/);
  });

  it('reuses the certificates on the next run', async () => {
    const before = readFileSync(path.join(cwd, 'certs', 'tls.crt'), 'utf8');
    const spawned = spawnServe(['--port', '0', '--host', '127.0.0.1', '--drain-delay', '0'], cwd);
    children.push(spawned.child);
    const certLine = await waitForLog(spawned, /^using a certificate from the certs directory$/);
    assert.equal(certLine.ca, 'reused');
    assert.equal(certLine.serving, 'reused');
    await waitForLog(spawned, /^netpol-guard serving at/);
    assert.equal(readFileSync(path.join(cwd, 'certs', 'tls.crt'), 'utf8'), before);
    spawned.child.kill('SIGINT');
    assert.equal(await spawned.exit, 0);
  });

  it('refuses an invalid config with every error and exit code 2', async () => {
    const config = path.join(cwd, 'bad.yaml');
    writeFileSync(config, 'mode: loud\nrules:\n  no-such-rule: deny\n');
    const spawned = spawnServe(['--port', '0', '--host', '127.0.0.1'], cwd, { NETPOL_GUARD_CONFIG: config });
    children.push(spawned.child);
    assert.equal(await spawned.exit, 2);
    const lines = spawned.stderr().split('\n').filter((l) => l.startsWith('  '));
    assert.ok(lines.length >= 2, spawned.stderr());
    for (const line of lines) assert.ok(line.trim().startsWith(`${config}: `), line);
    assert.match(spawned.stderr(), /no-such-rule/);
  });

  it('refuses half a TLS pair and unknown flags with exit code 2', async () => {
    const half = spawnServe(['--tls-cert', 'x.crt'], cwd);
    children.push(half.child);
    assert.equal(await half.exit, 2);
    assert.match(half.stderr(), /--tls-cert and --tls-key .* must be given together/);
    const unknown = spawnServe(['--verbose'], cwd);
    children.push(unknown.child);
    assert.equal(await unknown.exit, 2);
  });

  it('refuses an unusable certificate file with exit code 2', async () => {
    const cert = path.join(cwd, 'broken.crt');
    writeFileSync(cert, 'not a certificate');
    const spawned = spawnServe(['--port', '0'], cwd, { TLS_CERT_FILE: cert, TLS_KEY_FILE: path.join(cwd, 'certs', 'tls.key') });
    children.push(spawned.child);
    assert.equal(await spawned.exit, 2);
    assert.match(spawned.stderr(), /broken\.crt .*certificate does not parse/);
  });

  it('exits 1 when the port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const spawned = spawnServe(['--port', String(port), '--host', '127.0.0.1'], cwd);
      children.push(spawned.child);
      assert.equal(await spawned.exit, 1);
      assert.match(spawned.stdout(), /"msg":"cannot listen"/);
      assert.match(spawned.stdout(), /EADDRINUSE/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('prints help', async () => {
    const spawned = spawnServe(['--help'], cwd);
    children.push(spawned.child);
    assert.equal(await spawned.exit, 0);
    assert.match(spawned.stdout(), /usage: netpol-guard serve/);
    assert.match(spawned.stdout(), /--shutdown-timeout/);
  });
});
