import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { build, errors } from './support.js';

describe('config: approval', () => {
  it('is off by default, with a 1h pending TTL and the shipped controller ServiceAccount', () => {
    const config = build({});
    assert.equal(config.approval.required, 0);
    assert.equal(config.approval.pendingTtlMs, 3_600_000);
    assert.deepEqual([...config.approval.controllerUsers], ['system:serviceaccount:netpol-guard:netpol-guard']);
  });

  it('a profile overrides required and pendingTTL key by key; controllerUsers stays the top level one', () => {
    const config = build({
      approval: { pendingTTL: '30m', controllerUsers: ['system:serviceaccount:ops:guard'] },
      profiles: [{ name: 'prod', match: { namespaces: ['prod-*'] }, approval: { required: 2 } }],
    });
    const prod = config.profiles[0]!.config;
    assert.equal(prod.approval.required, 2);
    assert.equal(prod.approval.pendingTtlMs, 30 * 60_000, 'pendingTTL inherited from the top level');
    assert.deepEqual([...prod.approval.controllerUsers], ['system:serviceaccount:ops:guard']);
    assert.equal(config.approval.required, 0);
  });

  it('refuses out-of-range counts, bad durations and controllerUsers in a profile, naming the path', () => {
    assert.ok(errors({ approval: { required: 6 } }).some((e) => e.includes('/approval/required')));
    assert.ok(errors({ approval: { required: -1 } }).some((e) => e.includes('/approval/required')));
    assert.ok(errors({ approval: { pendingTTL: 'an hour' } }).some((e) => e.includes('/approval/pendingTTL')));
    const inProfile = errors({ profiles: [{ name: 'p', match: { namespaces: ['a'] }, approval: { controllerUsers: ['x'] } }] });
    assert.ok(inProfile.some((e) => e.includes('/profiles/0/approval/controllerUsers') && e.includes('unknown key')), inProfile.join('; '));
  });
});
