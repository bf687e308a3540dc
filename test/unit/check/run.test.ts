import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSources, type CheckOptions, type PolicyResult } from '../../../src/check/run.js';
import { config, NOW } from '../policy/support.js';

const USER = { username: 'netpol-guard-check', groups: [] };
const OPTIONS: CheckOptions = { config: config(), now: NOW, user: USER };

function check(text: string, options: Partial<CheckOptions> = {}): PolicyResult[] {
  return checkSources([{ name: 'p.yaml', text }], { ...OPTIONS, ...options }).results;
}

const WIDE = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: wide
  namespace: payments
  annotations:
    netpol-guard.io/ttl: "2h"
    netpol-guard.io/ticket: INC-1
spec:
  podSelector:
    matchLabels: {app: db}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock:
        cidr: 0.0.0.0/0
    ports:
    - port: 443
`;

const NARROW = WIDE.replace('0.0.0.0/0', '10.20.0.0/16').replace('name: wide', 'name: narrow');

describe('checkSources', () => {
  it('evaluates each policy as a CREATE in its namespace and locates findings', () => {
    const [result] = check(WIDE);
    assert.ok(result);
    assert.equal(result.verdict, 'denied');
    assert.equal(result.namespace, 'payments');
    assert.equal(result.name, 'wide');
    assert.equal(result.disposition, 'evaluated');
    assert.equal(result.expiresAt, '2026-11-23T20:00:00Z');
    assert.equal(result.ticket, 'INC-1');
    assert.deepEqual(
      result.findings.map((f) => [f.ruleId, f.path, f.line, f.column]),
      [['ipblock-all-addresses', 'spec.egress[0].to[0].ipBlock.cidr', 16, 9]],
    );
    assert.deepEqual(result.errors, []);
  });

  it('allows a narrow grant', () => {
    const [result] = check(NARROW);
    assert.equal(result?.verdict, 'allowed');
    assert.deepEqual(result?.findings, []);
  });

  it('defaults the namespace to "default" and honours exempt namespaces', () => {
    const noNamespace = WIDE.replace('  namespace: payments\n', '');
    assert.equal(check(noNamespace)[0]?.namespace, 'default');
    assert.equal(check(noNamespace)[0]?.verdict, 'denied');
    const [exempt] = check(WIDE.replace('namespace: payments', 'namespace: kube-system'));
    assert.equal(exempt?.verdict, 'allowed');
    assert.equal(exempt?.disposition, 'exempt-namespace');
  });

  it('marks a policy with only warn findings as warn', () => {
    // forbiddenCIDRs emptied: with its width rule relaxed, 0.0.0.0/0 would also be denied for the metadata endpoint.
    const [result] = check(WIDE, { config: config({ rules: { 'ipblock-all-addresses': 'warn' }, limits: { forbiddenCIDRs: [] } }) });
    assert.equal(result?.verdict, 'warn');
    assert.equal(result?.findings[0]?.action, 'warn');
  });

  it('passes the user and groups to the engine (break-glass, permanent principals)', () => {
    const cfg = config({ breakGlassGroups: ['sre'], permanentPrincipals: { users: ['ci-bot'] } });
    assert.equal(check(WIDE, { config: cfg, user: { username: 'x', groups: ['sre'] } })[0]?.disposition, 'break-glass');
    const bare = NARROW.replace(/ {2}annotations:\n( {4}.*\n)+/, '');
    assert.ok(!bare.includes('annotations'));
    assert.equal(check(bare, { config: cfg })[0]?.verdict, 'denied');
    assert.equal(check(bare, { config: cfg, user: { username: 'ci-bot', groups: [] } })[0]?.verdict, 'allowed');
  });

  it('reports shape errors as a denied, invalid result with dotted paths and lines', () => {
    const broken = WIDE.replace('    - port: 443\n', '    - port: 443\n      protcol: TCP\n').replace('cidr: 0.0.0.0/0', 'cidr: 10.0.0.0/33');
    const [result] = check(broken);
    assert.ok(result);
    assert.equal(result.verdict, 'denied');
    assert.equal(result.disposition, undefined);
    assert.equal(result.name, 'wide');
    assert.deepEqual(result.findings, []);
    const byPath = Object.fromEntries(result.errors.map((e) => [e.path, e]));
    assert.deepEqual(Object.keys(byPath).sort(), ['spec.egress[0].ports[0].protcol']);
    assert.equal(byPath['spec.egress[0].ports[0].protcol']!.line, 19);
    assert.equal(byPath['spec.egress[0].ports[0].protcol']!.message, 'unknown field');
    // CIDR errors come from the semantic pass, which runs only once the schema passes.
    const [cidr] = check(WIDE.replace('cidr: 0.0.0.0/0', 'cidr: 10.0.0.0/33'));
    assert.deepEqual(
      cidr?.errors.map((e) => [e.path, e.line]),
      [['spec.egress[0].to[0].ipBlock.cidr', 16]],
    );
    assert.match(cidr!.errors[0]!.message, /prefix longer than 32/);
  });

  it('locates root-level shape errors at the document start', () => {
    // A missing spec is valid (the API server stores it as {}); a missing metadata is not.
    const [result] = check('# header\nkind: NetworkPolicy\nspec: {}\n');
    assert.deepEqual(result?.errors, [{ path: '', message: 'missing required field "metadata"', line: 2, column: 1 }]);
  });

  it('counts everything in the summary', () => {
    const text = [
      WIDE,
      NARROW,
      'kind: ConfigMap\nmetadata: {name: c}\n',
      'kind: NetworkPolicy\nmetadata: {name: broken}\nspec: {podSelector: {}, bogus: 1}\n',
      'kind: NetworkPolicy\nmetadata: {name: [\n',
    ].join('---\n');
    const report = checkSources(
      [
        { name: 'a.yaml', text },
        { name: 'b.yaml', text: WIDE },
      ],
      { ...OPTIONS, config: config({ rules: { 'ipblock-all-addresses': 'warn' }, limits: { forbiddenCIDRs: [] } }) },
    );
    assert.deepEqual(report.summary, { files: 2, policies: 5, allowed: 1, warned: 2, denied: 2, invalid: 2, skipped: 1 });
    assert.deepEqual(report.skipped, [{ source: 'a.yaml', document: 2, line: 39, kind: 'ConfigMap' }]);
    assert.deepEqual(
      report.results.map((r) => `${r.source}#${r.document} ${r.verdict}`),
      ['a.yaml#0 warn', 'a.yaml#1 allowed', 'a.yaml#3 denied', 'a.yaml#4 denied', 'b.yaml#0 warn'],
    );
  });

  it('is pure: the same input gives the same report', () => {
    const sources = [{ name: 'p.yaml', text: `${WIDE}---\n${NARROW}` }];
    assert.deepEqual(checkSources(sources, OPTIONS), checkSources(sources, OPTIONS));
  });
});
