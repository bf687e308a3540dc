// Notifications end to end: a leader-elected controller against a real kube-apiserver, under the
// shipped RBAC, tells two local HTTPS receivers (one json, one slack) about a short grant, in
// order: opened, expiring, expired; the ExpiringSoon Warning Event is what kubectl shows.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startControlPlane, type ControlPlane } from './harness/controlPlane.js';
import { manifestsDir, startNetpolGuard, type JsonObject, type NetpolGuard, type SweeperProcess } from './harness/guard.js';
import { grantAnnotations, narrowPolicy } from './harness/policies.js';
import { createTenantNamespace, ensureNetworkPolicyEditorRole } from './harness/tenants.js';
import { WebhookReceiver } from '../helpers/webhookReceiver.js';
import { until } from './harness/waiting.js';

const PREFIX = 'netpol-guard.io';
const ELECTION = ['--leader-elect', '--lease-duration', '4s', '--renew-deadline', '3s', '--retry-period', '1s'];

describe('notifications: webhooks and the ExpiringSoon Event', () => {
  let cp: ControlPlane | undefined;
  let guard: NetpolGuard | undefined;
  let receiver: WebhookReceiver | undefined;
  let controller: SweeperProcess | undefined;
  let secrets = '';
  let ns = '';

  before(async () => {
    receiver = await WebhookReceiver.start();
    // What a Secret volume would hold: one URL per file, and the receiver's private CA.
    secrets = fs.mkdtempSync(path.join(process.env['TMPDIR'] ?? '/tmp', 'netpol-guard-e2e-webhooks-'));
    fs.writeFileSync(path.join(secrets, 'json-url'), `${receiver.url('json/s3cr3t')}\n`);
    fs.writeFileSync(path.join(secrets, 'slack-url'), `${receiver.url('slack/s3cr3t')}\n`);
    fs.writeFileSync(path.join(secrets, 'ca.crt'), receiver.caPem);
    const config =
      `mode: enforce\nannotationPrefix: ${PREFIX}\nnotify:\n  beforeExpiry: 6s\n  webhooks:\n` +
      `    - {name: audit, urlFile: ${path.join(secrets, 'json-url')}, caFile: ${path.join(secrets, 'ca.crt')}, format: json, events: [opened, changed, expiring, expired, revoked, deleted]}\n` +
      `    - {name: chat, urlFile: ${path.join(secrets, 'slack-url')}, caFile: ${path.join(secrets, 'ca.crt')}, format: slack, events: [opened, expiring, expired]}\n`;
    cp = await startControlPlane({});
    await ensureNetworkPolicyEditorRole(cp);
    await cp.kubectlOk(['apply', '-f', path.join(manifestsDir(), 'crds', 'grantrecords.netpol-guard.io.yaml')]);
    await cp.kubectlOk(['wait', '--for=condition=established', '--timeout=30s', 'crd/grantrecords.netpol-guard.io']);
    guard = await startNetpolGuard(cp, { configYaml: config });
    ns = await createTenantNamespace(cp, 'e2e-notify');
    controller = await guard.startController([...ELECTION, '--lease-namespace', guard.sweeperIdentity.namespace]);
  });

  after(async () => {
    await controller?.stop().catch(() => undefined);
    await guard?.stop().catch((err: unknown) => process.stderr.write(`guard stop: ${String(err)}\n`));
    await cp?.stop();
    await receiver?.stop();
    if (secrets !== '') fs.rmSync(secrets, { recursive: true, force: true });
  });

  const tail = (): string => (controller ? fs.readFileSync(controller.logFile, 'utf8').split('\n').slice(-20).join('\n') : '');

  it('a short grant: both receivers get opened, expiring, expired in order; kubectl shows ExpiringSoon', async () => {
    assert.ok(cp && receiver && controller);
    await until('the controller to lead', 15_000, () => (controller!.logs().some((l) => l['msg'] === 'leading: acting on the schedule') ? true : undefined));
    const applied = await cp.kubectl(['apply', '-f', '-'], { asUser: 'alice', stdin: narrowPolicy(ns, 'short', grantAnnotations(PREFIX, '12s', 'CHG-42')) });
    assert.equal(applied.code, 0, applied.stderr);

    const forPolicy = (prefix: string): ReceivedBody[] =>
      receiver!.requests.filter((r) => r.path.startsWith(`/hooks/${prefix}/`)).map((r) => JSON.parse(r.body) as ReceivedBody);
    const jsonBodies = await until('opened, expiring and expired at the json receiver', 40_000, () => {
      const bodies = forPolicy('json').filter((b) => b.policy === 'short');
      return bodies.length >= 3 ? bodies : undefined;
    }).catch((err: Error) => assert.fail(`${err.message}\n${tail()}`));
    assert.deepEqual(jsonBodies.map((b) => b.event), ['opened', 'expiring', 'expired']);
    for (const body of jsonBodies) {
      assert.equal(body.version, 1);
      assert.equal(body.namespace, ns);
      assert.equal(body.ticket, 'CHG-42');
      assert.equal(body.requester, 'alice');
      assert.match(String(body.expiresAt), /^\d{4}-\d\d-\d\dT/);
    }
    assert.equal(typeof jsonBodies[2]!.lagSeconds, 'number');

    const slackTexts = await until('three slack messages', 10_000, () => {
      const texts = forPolicy('slack').map((b) => String(b.text)).filter((t) => t.includes(`${ns}/short`));
      return texts.length >= 3 ? texts : undefined;
    });
    assert.match(slackTexts[0]!, /^\*Temporary network access granted\*/);
    assert.match(slackTexts[1]!, /^\*Temporary network access expires soon\*/);
    assert.match(slackTexts[2]!, /^\*Temporary network access expired\*/);
    for (const r of receiver.requests.filter((q) => q.path.startsWith('/hooks/slack/'))) {
      assert.ok(Array.isArray((JSON.parse(r.body) as JsonObject)['blocks']), 'slack messages carry blocks');
    }

    const events = await cp.kubectlOk(['get', 'events', '-n', ns, '--field-selector', 'reason=ExpiringSoon', '-o', 'json']);
    const items = (JSON.parse(events) as { items: JsonObject[] }).items;
    assert.equal(items.length, 1, events);
    assert.equal(items[0]!['type'], 'Warning');
    assert.equal((items[0]!['involvedObject'] as JsonObject)['name'], 'short');
    assert.match(String(items[0]!['message']), /Temporary grant expires at .* \(ticket CHG-42\)/);

    const logText = fs.readFileSync(controller.logFile, 'utf8');
    assert.ok(!logText.includes('s3cr3t'), 'a webhook URL appears in the controller log');
    assert.equal(controller.logs().filter((l) => l['msg'] === 'notification sent' && l['target'] === 'audit').length >= 3, true);
  });
});

interface ReceivedBody {
  version?: number;
  event?: string;
  namespace?: string;
  policy?: string;
  ticket?: string;
  requester?: string;
  expiresAt?: string;
  lagSeconds?: number;
  text?: string;
}
