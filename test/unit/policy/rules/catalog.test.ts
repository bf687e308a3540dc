import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isMap, isScalar, parseDocument } from 'yaml';
import { CONFIG_SCHEMA } from '../../../../src/config/schema.js';
import { DEFAULT_CONFIG } from '../../../../src/config/defaults.js';
import { RULE_CATALOG } from '../../../../src/check/ruleCatalog.js';
import { grantFlagFor } from '../../../../src/operator/localCheck.js';
import { BREADTH_RULE_IDS, LIFECYCLE_RULE_IDS } from '../../../../src/policy/ruleIds.js';
import { isRuleId, RULE_IDS, RULES, ruleById, ruleIdsOf, type RuleId } from '../../../../src/policy/rules/index.js';
import type { RuleDefinition } from '../../../../src/policy/rules/types.js';
import { repoPath } from '../../deploy/support.js';

const DEFINITIONS = RULES as readonly RuleDefinition<RuleId>[];

/** The README's rule table as the registry says it must read. */
function expectedReadmeTable(): string {
  const rows = DEFINITIONS.map((rule) => `| \`${rule.id}\` | ${rule.family} | ${rule.firesWhen} |`);
  return ['| id | family | fires when |', '| --- | --- | --- |', ...rows].join('\n');
}

/** The table lines of README.md's "## Rules" section. */
function readmeTable(): string {
  const readme = readFileSync(repoPath('README.md'), 'utf8');
  const start = readme.indexOf('\n## Rules\n');
  assert.notEqual(start, -1, 'README.md has no "## Rules" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .join('\n');
}

describe('rule catalog', () => {
  it('lists every id once, each definition at its id', () => {
    assert.equal(new Set(RULE_IDS).size, RULE_IDS.length);
    assert.deepEqual(
      DEFINITIONS.map((r) => r.id),
      [...RULE_IDS],
    );
    for (const id of RULE_IDS) {
      assert.equal(isRuleId(id), true);
      assert.equal(ruleById(id).id, id);
    }
    assert.equal(isRuleId('no-such-rule'), false);
    assert.equal(isRuleId('toString'), false, 'inherited object keys are not rule ids');
  });

  it('keeps one file per rule id under src/policy/rules/, named after the id', () => {
    const support = new Set(['index.ts', 'types.ts', 'paths.ts', 'README.md']);
    const files = readdirSync(repoPath('src', 'policy', 'rules')).filter((f) => !support.has(f));
    assert.deepEqual(files.sort(), RULE_IDS.map((id) => `${id}.ts`).sort());
    for (const id of RULE_IDS) {
      const text = readFileSync(repoPath('src', 'policy', 'rules', `${id}.ts`), 'utf8');
      assert.ok(text.includes(`id: '${id}'`), `${id}.ts defines a different rule`);
    }
  });

  it('documents every rule: one-line summary and condition, an explanation and a fix', () => {
    for (const rule of DEFINITIONS) {
      for (const field of ['summary', 'firesWhen', 'explanation', 'fix'] as const) {
        assert.ok(rule[field].trim().length > 0, `${rule.id}.${field} is empty`);
        assert.ok(!rule[field].includes('\n'), `${rule.id}.${field} spans lines`);
        assert.ok(!rule[field].includes('|'), `${rule.id}.${field} would break the README table`);
      }
      assert.ok(rule.grant.length > 0, `${rule.id} names no grant flag`);
      assert.notEqual(Object.keys(rule.check).length, 0, `${rule.id} has no check`);
    }
  });

  it('matches the families and needs of its hooks', () => {
    // Size first (it is decided before anything else), then breadth, then lifecycle.
    assert.deepEqual(ruleIdsOf('size'), ['policy-too-large']);
    assert.deepEqual(RULE_IDS.slice(0, 1), ['policy-too-large']);
    assert.deepEqual(BREADTH_RULE_IDS, RULE_IDS.slice(1, 12));
    // approval-required is the last lifecycle rule: it judges who writes the grant, after its annotations.
    assert.deepEqual(LIFECYCLE_RULE_IDS, RULE_IDS.slice(16, 24));
    assert.equal(LIFECYCLE_RULE_IDS.at(-1), 'approval-required');
    // The rules that read the cluster view: the effect rules after breadth, the quota and
    // re-creation rules last (skipped, or deny/warn per clusterView.onUnavailable, without one).
    assert.deepEqual(ruleIdsOf('cluster'), [...RULE_IDS.slice(12, 16), ...RULE_IDS.slice(24)]);
    // Exactly the cluster rules need the view.
    assert.deepEqual(
      DEFINITIONS.filter((r) => r.needs === 'cluster').map((r) => r.id),
      ruleIdsOf('cluster'),
    );
    for (const rule of DEFINITIONS) {
      const lifecycleOnly = Object.keys(rule.check).every((hook) => hook === 'lifecycle');
      // A cluster rule may judge the grant (lifecycle hook, not for permanent principals) or the policy walk.
      if (rule.needs === 'cluster') assert.equal(rule.family, 'cluster', rule.id);
      else assert.equal(rule.needs === 'lifecycle', lifecycleOnly, `${rule.id}: needs ${rule.needs} but hooks ${Object.keys(rule.check).join(',')}`);
    }
  });
});

describe('what derives from the catalog', () => {
  it('SARIF descriptions are the rules\' summary, explanation and fix', () => {
    for (const rule of DEFINITIONS) {
      assert.deepEqual(RULE_CATALOG[rule.id], { short: rule.summary, full: rule.explanation, help: rule.fix });
    }
    assert.deepEqual(Object.keys(RULE_CATALOG), [...RULE_IDS, 'invalid-manifest']);
  });

  it('config schema rule keys and defaults', () => {
    assert.deepEqual(Object.keys(CONFIG_SCHEMA.properties.rules.properties), [...RULE_IDS]);
    assert.deepEqual(DEFAULT_CONFIG.rules, Object.fromEntries(DEFINITIONS.map((r) => [r.id, r.defaultAction])));
  });

  it('grant flags, per direction, as operators type them', () => {
    const expected: Record<RuleId, [string, string]> = {
      // The flags that add elements: given thousands of times, they make a grant too large.
      'policy-too-large': ['--from-cidr/--from-pods/--from-namespace/--port', '--to-cidr/--to-pods/--to-namespace/--port'],
      'ipblock-all-addresses': ['--from-cidr', '--to-cidr'],
      'ipblock-too-wide': ['--from-cidr', '--to-cidr'],
      'ipblock-total-too-wide': ['--from-cidr', '--to-cidr'],
      'ipblock-forbidden': ['--from-cidr', '--to-cidr'],
      'namespace-selector-all': ['--from-namespace', '--to-namespace'],
      'pod-selector-all-peer': ['--from-pods', '--to-pods'],
      'target-all-pods': ['--to', '--from'],
      'peer-any': ['--from-cidr/--from-pods/--from-namespace', '--to-cidr/--to-pods/--to-namespace'],
      'port-any': ['--port', '--port'],
      'port-range-too-wide': ['--port', '--port'],
      'ports-total-too-wide': ['--port', '--port'],
      'target-selects-nothing': ['--to', '--from'],
      'isolates-pods': ['--to', '--from'],
      'blast-radius-targets': ['--to', '--from'],
      'blast-radius-peers': ['--from-pods/--from-namespace', '--to-pods/--to-namespace'],
      'expiry-missing': ['--for', '--for'],
      'expiry-invalid': ['--for', '--for'],
      'expiry-in-past': ['--for', '--for'],
      'expiry-too-far': ['--for', '--for'],
      'lifetime-exceeded': ['--for', '--for'],
      'ticket-missing': ['--ticket', '--ticket'],
      'ticket-invalid': ['--ticket', '--ticket'],
      // A shorter grant frees its quota slot sooner; a new ticket (and name) is the way past a re-creation.
      'quota-namespace-exceeded': ['--for', '--for'],
      'quota-requester-exceeded': ['--for', '--for'],
      'grant-recreated': ['--ticket', '--ticket'],
      // In a profile that requires approval, grant files a request under its ticket.
      'approval-required': ['--ticket', '--ticket'],
    };
    for (const id of RULE_IDS) assert.deepEqual([grantFlagFor(id, 'ingress'), grantFlagFor(id, 'egress')], expected[id], id);
  });
});

describe('documentation pinned to the catalog', () => {
  it('README.md "## Rules" table lists every rule, in order, in the registry\'s words', () => {
    const expected = expectedReadmeTable();
    assert.equal(readmeTable(), expected, `README.md's rule table drifted; it must read:\n${expected}\n`);
  });

  it('manifests/config.yaml spells out every rule key, in catalog order, at its default', () => {
    const doc = parseDocument(readFileSync(repoPath('manifests', 'config.yaml'), 'utf8'));
    const rules = doc.get('rules', true);
    assert.ok(isMap(rules), 'config.yaml has no rules: map');
    const written = rules.items.map((pair) => [isScalar(pair.key) ? String(pair.key.value) : '?', isScalar(pair.value) ? pair.value.value : '?']);
    assert.deepEqual(
      written,
      DEFINITIONS.map((r) => [r.id, r.defaultAction]),
      `manifests/config.yaml rules: drifted; expected keys ${RULE_IDS.join(', ')}`,
    );
  });
});
