import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RULES, type RuleId } from '../../../../src/policy/rules/index.js';
import { defineRule, type RuleDefinition } from '../../../../src/policy/rules/types.js';
import { breadthFindings, compileRules } from '../../../../src/policy/walk.js';
import { cidrPeer, config, egressPolicy, evaluate, GOOD_GRANT, ingressPolicy, TCP_5432 } from '../support.js';

/**
 * The engine's single pass, exercised with rules defined here (never in the catalog): the order
 * hooks run in, per-evaluation state, and that a rule can only report itself.
 */

const RECORDING_ID = 'test-recording' as RuleId;

/** Reports one finding per hook call, its path naming the hook and where it was. */
const recording = defineRule({
  id: RECORDING_ID,
  family: 'breadth',
  summary: 's',
  firesWhen: 'f',
  explanation: 'e',
  fix: 'x',
  grant: ['port'],
  needs: 'policy',
  defaultAction: 'warn',
  check: {
    policy: (ctx) => ctx.report('policy', '', ''),
    rule: (ctx, d, i) => ctx.report(`rule ${d}[${i}]`, '', ''),
    peers: (ctx, d, i, peers) => ctx.report(`peers ${d}[${i}] ${peers ? peers.length : 'missing'}`, '', ''),
    peer: (ctx, d, i, _peer, j) => ctx.report(`peer ${d}[${i}][${j}]`, '', ''),
    ipBlock: (ctx, d, i, _peer, j, cidr) => ctx.report(`ipBlock ${d}[${i}][${j}] /${cidr.prefix}`, '', ''),
    peersEnd: (ctx, d, i, cidrs) => ctx.report(`peersEnd ${d}[${i}] ${cidrs.length}`, '', ''),
    ports: (ctx, d, i, ports) => ctx.report(`ports ${d}[${i}] ${ports ? ports.length : 'missing'}`, '', ''),
    port: (ctx, d, i, _port, k) => ctx.report(`port ${d}[${i}][${k}]`, '', ''),
    finish: (ctx) => ctx.report('finish', '', ''),
    lifecycle: (ctx) => ctx.report('lifecycle', '', ''),
  },
});

const COUNTING_ID = 'test-counting' as RuleId;

/** Totals peers over the whole policy and reports the total once, in finish. */
const counting = defineRule({
  id: COUNTING_ID,
  family: 'size',
  summary: 's',
  firesWhen: 'f',
  explanation: 'e',
  fix: 'x',
  grant: ['cidr'],
  needs: 'policy',
  defaultAction: 'deny',
  check: {
    start: () => ({ peers: 0 }),
    peer: (_ctx, _d, _i, _peer, _j, state) => {
      state.peers += 1;
    },
    finish: (ctx, state) => ctx.report('spec', `${state.peers} peers`, 'fewer'),
  },
});

describe('the policy walk', () => {
  it('runs hooks in walk order: policy, then per rule its peers then its ports, then finish and lifecycle', () => {
    const p = egressPolicy([
      { to: [cidrPeer('10.1.0.0/16'), { podSelector: { matchLabels: { app: 'a' } } }, cidrPeer('not-a-cidr')], ports: [TCP_5432, TCP_5432] },
      {},
    ]);
    p.spec!.policyTypes = ['Ingress', 'Egress'];
    p.spec!.ingress = [{ ports: [] }];
    const evaluation = evaluate(p, { rules: compileRules([recording]) });
    assert.deepEqual(
      evaluation.findings.map((f) => f.path),
      [
        'policy',
        'rule ingress[0]',
        'peers ingress[0] missing',
        'peersEnd ingress[0] 0',
        'ports ingress[0] 0',
        'rule egress[0]',
        'peers egress[0] 3',
        'peer egress[0][0]',
        'ipBlock egress[0][0] /16',
        'peer egress[0][1]',
        'peer egress[0][2]',
        'peersEnd egress[0] 1',
        'ports egress[0] 2',
        'port egress[0][0]',
        'port egress[0][1]',
        'rule egress[1]',
        'peers egress[1] missing',
        'peersEnd egress[1] 0',
        'ports egress[1] missing',
        'finish',
        'lifecycle',
      ],
    );
    assert.ok(evaluation.findings.every((f) => f.ruleId === RECORDING_ID && f.action === 'warn'), 'stamped with the rule id; the default action applies');
  });

  it('at each point, runs the rules in catalog order', () => {
    const first = defineRule({ ...recording, id: 'test-first' as RuleId });
    const second = defineRule({ ...recording, id: 'test-second' as RuleId });
    const findings = breadthFindings(ingressPolicy([{ from: [cidrPeer('10.0.0.0/16')], ports: [TCP_5432] }]), config(), compileRules([first, second]));
    const ids = findings.map((f) => `${f.ruleId} ${f.path}`);
    assert.deepEqual(ids.slice(0, 4), ['test-first policy', 'test-second policy', 'test-first rule ingress[0]', 'test-second rule ingress[0]']);
    assert.ok(!ids.some((i) => i.endsWith('lifecycle')), 'breadthFindings runs no lifecycle hook');
  });

  it('gives each evaluation its own accumulator state', () => {
    const rules = compileRules([counting]);
    const three = egressPolicy([{ to: [cidrPeer('10.1.0.0/16'), cidrPeer('10.2.0.0/16')], ports: [TCP_5432] }, { to: [cidrPeer('10.3.0.0/16')], ports: [TCP_5432] }]);
    const one = egressPolicy([{ to: [cidrPeer('10.1.0.0/16')], ports: [TCP_5432] }]);
    assert.equal(evaluate(three, { rules }).findings[0]!.reason, '3 peers');
    assert.equal(evaluate(one, { rules }).findings[0]!.reason, '1 peers', 'nothing carried over from the previous evaluation');
    assert.equal(evaluate(three, { rules }).findings[0]!.reason, '3 peers');
  });

  it('skips lifecycle hooks for permanent principals', () => {
    const rules = compileRules([recording]);
    const p = egressPolicy([{ to: [cidrPeer('10.1.0.0/16')], ports: [TCP_5432] }], GOOD_GRANT);
    const permanent = evaluate(p, { rules, user: { username: 'argocd', groups: [] }, config: config({ permanentPrincipals: { users: ['argocd'] } }) });
    assert.equal(permanent.disposition, 'permanent-principal');
    assert.ok(permanent.findings.length > 0);
    assert.ok(!permanent.findings.some((f) => f.path === 'lifecycle'));
  });

  it('refuses a report from outside a hook', () => {
    let escaped: ((path: string, reason: string, hint: string) => void) | undefined;
    const leaky = defineRule({
      ...recording,
      id: 'test-leaky' as RuleId,
      check: {
        policy: (ctx) => {
          escaped = (path, reason, hint) => ctx.report(path, reason, hint);
        },
      },
    });
    evaluate(egressPolicy([{ to: [cidrPeer('10.1.0.0/16')], ports: [TCP_5432] }]), { rules: compileRules([leaky]) });
    assert.ok(escaped);
    assert.throws(() => escaped!('spec', 'late', 'late'), /outside a rule hook/);
  });

  it('the catalog rules alone run by default', () => {
    const findings = breadthFindings(egressPolicy([{ to: [cidrPeer('0.0.0.0/0')] }]), config());
    assert.deepEqual(
      findings.map((f) => f.ruleId),
      ['ipblock-all-addresses', 'port-any'],
    );
    assert.ok((RULES as readonly RuleDefinition[]).every((r) => !r.id.startsWith('test-')));
  });
});
