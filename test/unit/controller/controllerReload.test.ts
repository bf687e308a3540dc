// The controller as a process reloads its config file like serve: notification targets and the
// annotation prefix change without a restart; an invalid edit keeps the last good config.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { needsRestart } from '../../../src/cli/controller.js';
import { buildConfig } from '../../../src/config/load.js';
import type { GuardConfig } from '../../../src/config/types.js';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { waitFor } from '../sweeper/support.js';
import { WebhookReceiver } from '../../helpers/webhookReceiver.js';

const MAIN = join(process.cwd(), 'build', 'src', 'cli', 'main.js');

function config(data: unknown): GuardConfig {
  const r = buildConfig(data);
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  return r.config;
}

describe('needsRestart', () => {
  it('only a new annotationPrefix or history retention restarts the work; targets and beforeExpiry apply live', () => {
    const base = config({});
    assert.equal(needsRestart(base, config({ annotationPrefix: 'example.com' })), true);
    assert.equal(needsRestart(base, config({ history: { retention: '30d' } })), true);
    assert.equal(needsRestart(base, config({ notify: { beforeExpiry: '1m', webhooks: [{ name: 'x', urlFile: '/u', format: 'json', events: ['opened'] }] } })), false);
    assert.equal(needsRestart(base, config({ mode: 'warn' })), false);
  });
});

describe('controller: config reload', () => {
  let fake: FakeApiServer;
  let receiver: WebhookReceiver;
  let tmp: string;
  before(async () => {
    fake = await FakeApiServer.start();
    receiver = await WebhookReceiver.start();
    tmp = mkdtempSync(join(tmpdir(), 'netpol-guard-controller-reload-'));
    writeFileSync(join(tmp, 'kubeconfig'), fake.kubeconfigText());
    writeFileSync(join(tmp, 'url'), receiver.url());
    writeFileSync(join(tmp, 'ca.crt'), receiver.caPem);
  });
  after(async () => {
    await receiver.stop();
    await fake.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Write the config as a ConfigMap update does: a new file renamed over the old. */
  const writeConfig = (text: string): void => {
    writeFileSync(join(tmp, 'config.next'), text);
    renameSync(join(tmp, 'config.next'), join(tmp, 'config.yaml'));
  };
  const target = (name: string, format: string) =>
    `    - {name: ${name}, urlFile: ${join(tmp, 'url')}, caFile: ${join(tmp, 'ca.crt')}, format: ${format}, events: [expiring]}\n`;

  it('applies new webhook targets and a new annotationPrefix without a restart; keeps the last good config on a bad edit', async () => {
    const configFile = join(tmp, 'config.yaml');
    writeConfig(`annotationPrefix: netpol-guard.io\nnotify:\n  beforeExpiry: 1m\n  webhooks:\n${target('ops', 'json')}`);
    const inFuture = (s: number) => new Date(Date.now() + s * 1_000);
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'old-prefix', expiresAt: inFuture(40) }));
    fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'new-prefix-due', prefix: 'example.com', expiresAt: inFuture(-5) }));

    const child = spawn(process.execPath, [MAIN, 'controller', '--config', configFile, '--kubeconfig', join(tmp, 'kubeconfig'), '--metrics-port', '0', '--metrics-host', '127.0.0.1'], {
      env: { PATH: process.env.PATH, HOME: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const lines = (): Record<string, unknown>[] => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    try {
      // 1. The json target hears `expiring` for the netpol-guard.io grant (inside the 1m window at once).
      await waitFor(() => receiver.requests.length === 1, 'the json expiring notification', 10_000);
      assert.equal((receiver.bodies()[0] as { event: string; policy: string }).policy, 'old-prefix');
      assert.ok(fake.hasPolicy('team-a', 'new-prefix-due'), 'a grant under another prefix is not ours yet');

      // 2. A bad edit: logged with the file and the offending path; the last good config stays.
      writeConfig(`annotationPrefix: example.com\nnotify:\n  beforeExpiry: 1m\n  bogus: true\n`);
      await waitFor(() => lines().some((l) => l['msg'] === 'config file changed but is invalid; keeping the last good config'), 'the invalid config to be refused', 10_000);
      const refused = lines().find((l) => l['msg'] === 'config file changed but is invalid; keeping the last good config')!;
      assert.equal(refused['configFile'], configFile);
      assert.match(JSON.stringify(refused['errors']), /\/notify\/bogus: unknown key/);
      assert.ok(fake.hasPolicy('team-a', 'new-prefix-due'), 'the refused prefix did not apply');

      // 3. A good edit: new prefix and a Slack target. The work restarts in-process with the new keys.
      writeConfig(`annotationPrefix: example.com\nnotify:\n  beforeExpiry: 1m\n  webhooks:\n${target('chat', 'slack')}`);
      await waitFor(() => !fake.hasPolicy('team-a', 'new-prefix-due'), 'the example.com grant to be deleted under the new prefix', 15_000);
      fake.putPolicy(grantPolicy({ namespace: 'team-a', name: 'new-prefix-soon', prefix: 'example.com', expiresAt: inFuture(40) }));
      await waitFor(() => receiver.requests.length === 2, 'the slack expiring notification', 10_000);
      const slack = receiver.bodies()[1] as { text: string };
      assert.match(slack.text, /expires soon.*team-a\/new-prefix-soon/);
      assert.ok(fake.hasPolicy('team-a', 'old-prefix'), 'a grant under the old prefix is no longer ours');
      assert.ok(lines().some((l) => l['msg'] === 'config reloaded' && l['configFile'] === configFile));
      assert.ok(lines().some((l) => String(l['msg']).startsWith('config reloaded: annotation keys or history retention changed')));
      assert.equal(lines().filter((l) => l['msg'] === 'controller starting').length, 2, 'one start per config generation');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stdout.split('\n').slice(-10).join('\n'));
    assert.ok(!stdout.includes(receiver.url()), 'the webhook URL is never logged');
  });
});
