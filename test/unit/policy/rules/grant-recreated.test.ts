import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { MemoryClusterView } from '../../../../src/cluster/memoryView.js';
import type { EndedGrant } from '../../../../src/cluster/view.js';
import { specSnapshot } from '../../../../src/controller/grantRecord.js';
import { API_PODS, GOOD_GRANT, HOUR, NOW, TCP_5432, TICKET, config, egressPolicy, evaluate } from '../support.js';

function grant(name = 'db-access', ticket = 'INC-1234', port = 5432): V1NetworkPolicy {
  const p = egressPolicy([{ to: [API_PODS], ports: [{ ...TCP_5432, port }] }], { ...GOOD_GRANT, [TICKET]: ticket });
  p.metadata!.name = name;
  return p;
}

const SPEC = specSnapshot(grant()).sha256;

function ended(overrides: Partial<EndedGrant> = {}): EndedGrant {
  return { namespace: 'payments', name: 'db-access', ticket: 'INC-1234', specSha256s: [SPEC], how: 'Expired', closedAtMs: NOW.getTime() - 10 * 60_000, closedBy: undefined, ...overrides };
}

const view = (...grants: EndedGrant[]): MemoryClusterView => new MemoryClusterView({ holds: [], endedGrants: grants });
const recreated = (p: V1NetworkPolicy, cluster: MemoryClusterView, extra = {}) => evaluate(p, { cluster, ...extra }).findings.filter((f) => f.ruleId === 'grant-recreated');

describe('grant-recreated', () => {
  it('denies the same manifest re-created 10 minutes after the controller deleted it, naming the earlier grant, when, how and the fix', () => {
    const evaluation = evaluate(grant(), { cluster: view(ended()) });
    assert.equal(evaluation.allowed, false);
    const [finding] = evaluation.findings;
    assert.equal(finding?.ruleId, 'grant-recreated');
    assert.equal(finding.path, 'metadata.name');
    assert.equal(
      finding.reason,
      're-creates grant payments/db-access (ticket INC-1234), matched by name, which ended Expired at 2026-11-23T17:50:00Z (10m ago), within limits.recreateCooldown 3d of profile default',
    );
    assert.equal(finding.hint, 'remove it from Git (or your deploy tool), or request a new grant under a new ticket and name; not before 2026-11-26T17:50:00Z may it be re-created as is');
  });

  it('matches by name whatever the ticket or spec (GitOps re-creates the name)', () => {
    assert.equal(recreated(grant('db-access', 'CHG-9', 443), view(ended())).length, 1);
  });

  it('matches a renamed copy by ticket and identical spec, and says it was revoked and by whom', () => {
    const [finding] = recreated(grant('db-access-2'), view(ended({ how: 'Revoked', closedBy: 'carol@example.com' })));
    assert.equal(finding?.path, 'spec');
    assert.match(finding.reason, /matched by ticket and spec, which ended Revoked by carol@example\.com at /);
  });

  it('a renamed grant under the same ticket but a different spec, or a new ticket, is a new grant', () => {
    assert.deepEqual(recreated(grant('db-access-2', 'INC-1234', 443), view(ended())), []);
    assert.deepEqual(recreated(grant('db-access-2', 'INC-9999'), view(ended())), []);
  });

  it('a ticket spelled differently (case, spaces) is the same ticket', () => {
    assert.equal(recreated(grant('db-access-2', ' inc-1234 '), view(ended())).length, 1);
  });

  it('deleting a grant by hand and re-creating it does not reset its lifetime either', () => {
    assert.equal(recreated(grant(), view(ended({ how: 'Deleted' }))).length, 1);
  });

  it('outside the cooldown it is allowed; the cooldown is limits.recreateCooldown, default maxLifetime', () => {
    const longAgo = ended({ closedAtMs: NOW.getTime() - 73 * HOUR });
    assert.deepEqual(recreated(grant(), view(longAgo)), []);
    assert.equal(recreated(grant(), view(ended({ closedAtMs: NOW.getTime() - 71 * HOUR }))).length, 1);
    const oneHour = config({ limits: { recreateCooldown: '1h' } });
    assert.deepEqual(recreated(grant(), view(ended({ closedAtMs: NOW.getTime() - 2 * HOUR })), { config: oneHour }), []);
    // Turned off like any rule (a zero duration is not a duration).
    assert.deepEqual(recreated(grant(), view(ended()), { config: config({ rules: { 'grant-recreated': 'off' } }) }), []);
  });

  it('names the most recent of several matches', () => {
    const [finding] = recreated(grant(), view(ended({ closedAtMs: NOW.getTime() - 5 * HOUR }), ended({ how: 'Revoked', closedAtMs: NOW.getTime() - HOUR })));
    assert.match(finding!.reason, /ended Revoked at 2026-11-23T17:00:00Z \(1h ago\)/);
  });

  it('an UPDATE (extend) is the way to keep access: never a re-creation', () => {
    assert.deepEqual(recreated(grant(), view(ended()), { operation: 'UPDATE', oldPolicy: grant() }), []);
  });

  it('the spec hash is the wire spec: `from` and `_from` hash alike', () => {
    const ingress = (from: 'from' | '_from') => ({ podSelector: { matchLabels: { a: 'b' } }, ingress: [{ [from]: [API_PODS], ports: [TCP_5432] }] });
    assert.equal(specSnapshot({ spec: ingress('from') as never }).sha256, specSnapshot({ spec: ingress('_from') as never }).sha256);
  });
});
