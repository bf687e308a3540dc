import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { approveCommand } from '../../../src/approval/commands.js';
import { NOTIFICATION_EVENTS } from '../../../src/config/types.js';
import { recordOpened } from '../../../src/controller/grantRecord.js';
import { requestNotification, transitionNotifications } from '../../../src/controller/notification.js';
import { slackMessage } from '../../../src/controller/notificationFormats.js';
import { approval, at, grantRequest } from '../approval/fixtures.js';
import { CONFIG, grantPolicy, T0 } from './grantFixtures.js';

describe('approval notifications', () => {
  it('the config enumerates the request events and break-glass', () => {
    for (const event of ['requested', 'approved', 'denied', 'lapsed', 'break-glass']) assert.ok((NOTIFICATION_EVENTS as readonly string[]).includes(event), event);
  });

  it('requested: who, ticket, reason, duration, how many approvals, and the exact approve command (Slack too)', () => {
    const request = grantRequest({ phase: 'Pending', requiredApprovals: 2 });
    const n = requestNotification('requested', request, new Date(at(0, 1)), approveCommand(request));
    assert.equal(n.event, 'requested');
    assert.equal(n.request, 'db-debug');
    assert.equal(n.requester, 'alice');
    assert.equal(n.required, 2);
    assert.equal(n.duration, '30m');
    assert.equal(n.approveCommand, 'netpol-guard approve db-debug -n prod-payments');
    assert.match(n.access, /198\.51\.100\.0\/28/);
    const { text } = slackMessage(n);
    assert.match(text, /^\*Temporary network access requested: approval needed\*: grantrequest `prod-payments\/db-debug`/);
    assert.match(text, /\nApprove: `netpol-guard approve db-debug -n prod-payments`/);
    assert.match(text, /\nNeeds: 2 approvals/);
    assert.match(text, /\nReason given: replica lag on the primary/);
  });

  it('approved carries the approvals and the expiry; denied says by whom and why', () => {
    const approved = grantRequest({ phase: 'Approved', requiredApprovals: 2, approvals: [approval('bob', 5), approval('dave', 12)], approvedAt: at(12), expiresAt: at(42) });
    const n = requestNotification('approved', approved, new Date(at(12, 1)));
    assert.deepEqual(n.approvals, [approval('bob', 5), approval('dave', 12)]);
    assert.equal(n.expiresAt, at(42));
    assert.equal(n.approveCommand, undefined);
    assert.match(slackMessage(n).text, /Approved by: bob \(2026-12-01T10:05:00Z\), dave \(2026-12-01T10:12:00Z\)/);
    const denied = requestNotification('denied', grantRequest({ phase: 'Denied', denial: { by: 'carol', at: at(3), reason: 'use the read replica' } }), new Date(at(3)));
    assert.equal(denied.by, 'carol');
    assert.match(slackMessage(denied).text, /Denied by: carol\nReason: use the read replica/);
  });

  it('a grant opened by break glass gives `opened` and `break-glass` with who; its record keeps the stamp', () => {
    const policy = grantPolicy({ annotations: { 'netpol-guard.io/break-glass-by': 'oncall-erin', 'netpol-guard.io/break-glass-at': '2026-12-01T03:59:58Z' } });
    const record = recordOpened(policy, T0, CONFIG);
    assert.equal(record.spec.breakGlassBy, 'oncall-erin');
    const events = transitionNotifications(undefined, record, T0);
    assert.deepEqual(events.map((e) => e.event), ['opened', 'break-glass']);
    assert.equal(events[1]!.by, 'oncall-erin');
    assert.match(slackMessage(events[1]!).text, /Break-glass grant admitted.*\n[\s\S]*Break glass by: oncall-erin/);
    assert.deepEqual(transitionNotifications(undefined, recordOpened(grantPolicy(), T0, CONFIG), T0).map((e) => e.event), ['opened'], 'no break-glass without the stamp');
  });

  it('a grant opened by an approved request: its record and `opened` name the request and the approvals', () => {
    const record = recordOpened(grantPolicy(), T0, CONFIG, { approval: { grantRequest: 'db-debug', approvals: [approval('bob', 5), approval('dave', 12)] } });
    assert.equal(record.spec.grantRequest, 'db-debug');
    assert.deepEqual(record.spec.approvals, [approval('bob', 5), approval('dave', 12)]);
    const [opened] = transitionNotifications(undefined, record, T0);
    assert.equal(opened!.request, 'db-debug');
    assert.deepEqual(opened!.approvals, [approval('bob', 5), approval('dave', 12)]);
  });
});
