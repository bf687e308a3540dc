import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildConfig, defaultConfig, parseConfigText } from '../../../src/config/load.js';

const hook = { name: 'ops-chat', urlFile: '/etc/netpol-guard/webhooks/ops-chat/url', format: 'slack', events: ['expiring', 'expired'] };

describe('config: notify', () => {
  it('defaults: ExpiringSoon 10 minutes ahead, no webhooks', () => {
    const config = defaultConfig();
    assert.equal(config.notify.beforeExpiryMs, 10 * 60_000);
    assert.deepEqual(config.notify.webhooks, []);
  });

  it('takes beforeExpiry and webhook targets (caFile optional)', () => {
    const r = parseConfigText(
      'notify:\n  beforeExpiry: 2m\n  webhooks:\n' +
        '    - {name: ops-chat, urlFile: /s/url, format: slack, events: [expiring, expired]}\n' +
        '    - {name: audit, urlFile: /s/audit, caFile: /s/ca.crt, format: json, events: [opened, changed, expired, revoked, deleted]}\n',
    );
    assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
    assert.equal(r.config.notify.beforeExpiryMs, 120_000);
    assert.deepEqual(r.config.notify.webhooks.map((t) => [t.name, t.format, t.caFile ?? null]), [['ops-chat', 'slack', null], ['audit', 'json', '/s/ca.crt']]);
    assert.equal(r.config.annotationPrefix, 'netpol-guard.io', 'other sections keep their defaults');
  });

  for (const [notify, problem] of [
    [{ webhooks: [hook, { ...hook, urlFile: '/other' }] }, /\/notify\/webhooks\/1\/name: "ops-chat" is already the name of another webhook/],
    [{ webhooks: [{ ...hook, url: 'https://hooks.example/secret' }] }, /\/notify\/webhooks\/0\/url: unknown key/],
    [{ webhooks: [{ ...hook, insecureSkipVerify: true }] }, /\/notify\/webhooks\/0\/insecureSkipVerify: unknown key/],
    [{ webhooks: [{ ...hook, format: 'teams' }] }, /\/notify\/webhooks\/0\/format: must be one of "json", "slack"/],
    [{ webhooks: [{ ...hook, events: ['expired', 'exploded'] }] }, /\/notify\/webhooks\/0\/events\/1: must be one of/],
    [{ webhooks: [{ ...hook, events: [] }] }, /\/notify\/webhooks\/0\/events/],
    [{ webhooks: [{ ...hook, events: ['expired', 'expired'] }] }, /\/notify\/webhooks\/0\/events/],
    [{ webhooks: [{ ...hook, name: 'Ops Chat' }] }, /\/notify\/webhooks\/0\/name/],
    [{ webhooks: [{ name: 'x', format: 'json', events: ['opened'] }] }, /\/notify\/webhooks\/0: must have required property 'urlFile'/],
    [{ beforeExpiry: 'soon' }, /\/notify\/beforeExpiry/],
    [{ beforeExpiry: '0s' }, /\/notify\/beforeExpiry/],
    [{ webhook: [] }, /\/notify\/webhook: unknown key/],
  ] as const) {
    it(`refuses ${JSON.stringify(notify)} naming the path`, () => {
      const r = buildConfig({ notify });
      assert.equal(r.ok, false);
      assert.match((r as { errors: string[] }).errors.join('\n'), problem);
    });
  }
});
