import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STDIN_NAME } from '../../../src/check/discover.js';
import { formatJson } from '../../../src/check/format/json.js';
import { artifactUri, buildSarif, SARIF_RULE_IDS } from '../../../src/check/format/sarif.js';
import { formatText, resultLabel } from '../../../src/check/format/text.js';
import { RULE_CATALOG } from '../../../src/check/ruleCatalog.js';
import { checkSources, type CheckReport } from '../../../src/check/run.js';
import type { GuardConfig } from '../../../src/config/types.js';
import { RULE_IDS } from '../../../src/policy/ruleIds.js';
import { config, NOW } from '../policy/support.js';

const USER = { username: 'netpol-guard-check', groups: [] };

const DENIED = `kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata:
  name: open-egress
  namespace: team-a
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: 0.0.0.0/0}
`;
const ISOLATE = 'kind: NetworkPolicy\nmetadata: {name: deny-all}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n';
const INVALID = 'kind: NetworkPolicy\nmetadata: {name: typo}\nspec: {podSelecter: {}}\n';

function report(sources: { name: string; text: string }[], cfg: GuardConfig = config()): CheckReport {
  return checkSources(sources, { config: cfg, now: NOW, user: USER });
}

const MIXED = report([
  { name: 'deploy/egress.yaml', text: `${DENIED}---\n${ISOLATE}---\nkind: Service\n` },
  { name: 'deploy/typo.yaml', text: INVALID },
]);

describe('text format', () => {
  it('prints a headline per policy, indented finding lines and a summary', () => {
    assert.equal(
      formatText(MIXED),
      [
        'deploy/egress.yaml#0 team-a/open-egress: DENIED',
        '  [ipblock-all-addresses] spec.egress[0].to[0].ipBlock.cidr 0.0.0.0/0 allows every IPv4 address; narrow it to the destination range, at most /16 wide',
        '  [port-any] spec.egress[0].ports is missing, which allows every port and protocol; list the ports needed, e.g. - {protocol: TCP, port: 5432}',
        '  [expiry-missing] metadata.annotations has neither "netpol-guard.io/ttl" nor "netpol-guard.io/expires-at", so the grant would never expire; add the annotation netpol-guard.io/ttl: "2h" (at most 1d)',
        '  [ticket-missing] metadata.annotations["netpol-guard.io/ticket"] is missing; every grant must name the change or incident that justifies it; add netpol-guard.io/ticket: "INC-1234"',
        'deploy/egress.yaml#1 default/deny-all: ALLOWED',
        'deploy/typo.yaml#0 default/typo: DENIED',
        '  [invalid-manifest] spec.podSelecter unknown field',
        // check has no cluster view: the rules that need one are named as not run.
        'note: rule target-selects-nothing skipped: needs a cluster view',
        'note: rule isolates-pods skipped: needs a cluster view',
        'note: rule blast-radius-targets skipped: needs a cluster view',
        'note: rule blast-radius-peers skipped: needs a cluster view',
        // Offline there is no cluster view: whether a grant re-creates an ended one cannot be judged.
        'note: rule grant-recreated skipped: needs a cluster view',
        'checked 3 NetworkPolicies in 2 files: 2 denied (1 invalid), 0 with warnings, 1 allowed; 1 other document skipped',
        '',
      ].join('\n'),
    );
  });

  it('--explain adds, once per rule that fired, its explanation and fix from the registry (catalog order)', () => {
    const twice = report([{ name: 'a.yaml', text: `${DENIED}---\n${DENIED.replace('open-egress', 'open-egress-2')}---\n${INVALID}` }]);
    const plain = formatText(twice);
    const explained = formatText(twice, { explain: true });
    assert.ok(explained.startsWith(plain.trimEnd()), 'the results are unchanged, the explanations follow them');
    const tail = explained.slice(plain.trimEnd().length).split('\n').filter((l) => l !== '');
    assert.equal(tail[0], 'why these rules fired:');
    const ids = tail.filter((l) => l.startsWith('  [')).map((l) => l.slice(3, l.indexOf(']')));
    assert.deepEqual(ids, ['ipblock-all-addresses', 'port-any', 'expiry-missing', 'ticket-missing', 'invalid-manifest']);
    for (const id of ids) {
      const rule = RULE_CATALOG[id as keyof typeof RULE_CATALOG];
      const at = tail.indexOf(`  [${id}] ${rule.short}`);
      assert.ok(at > 0, id);
      assert.equal(tail[at + 1], `    ${rule.full}`);
      assert.equal(tail[at + 2], `    fix: ${rule.help}`);
    }
    // Nothing fired, nothing to explain.
    const clean = report([{ name: 'ok.yaml', text: ISOLATE }]);
    assert.equal(formatText(clean, { explain: true }), formatText(clean));
  });

  it('says WARN for warn-only findings and marks warnings under a DENIED verdict', () => {
    const warnOnly = report([{ name: 'x.yaml', text: DENIED }], config({ mode: 'warn' }));
    assert.match(formatText(warnOnly), /^x\.yaml#0 team-a\/open-egress: WARN\n {2}\[ipblock-all-addresses\]/);
    const mixed = report([{ name: 'x.yaml', text: DENIED }], config({ rules: { 'port-any': 'warn' } }));
    const lines = formatText(mixed).split('\n');
    assert.equal(lines[0], 'x.yaml#0 team-a/open-egress: DENIED');
    assert.deepEqual(lines.slice(1, 5).map((l) => l.slice(0, l.indexOf(']') + 1)), [
      '  [ipblock-all-addresses]',
      '  [expiry-missing]',
      '  [ticket-missing]',
      '  warning: [port-any]',
    ]);
  });

  it('labels List items and unparseable documents', () => {
    const r = report([
      { name: 'l.yaml', text: `kind: List\nitems:\n- ${ISOLATE.trimEnd().split('\n').join('\n  ')}\n` },
      { name: 'bad.yaml', text: 'kind: NetworkPolicy\nmetadata: {name: [\n' },
    ]);
    assert.equal(resultLabel(r.results[0]!), 'l.yaml#0.items[0] default/deny-all');
    const text = formatText(r);
    assert.match(text, /^bad\.yaml#0: DENIED\n {2}\[invalid-manifest\] YAML syntax error at line \d+, column \d+: /m);
  });

  it('summarizes an empty run', () => {
    assert.equal(formatText(report([])), 'checked 0 NetworkPolicies in 0 files: 0 denied, 0 with warnings, 0 allowed; 0 other documents skipped\n');
  });
});

describe('json format', () => {
  it('has the documented structure', () => {
    const doc = JSON.parse(formatJson(MIXED, { toolVersion: '9.9.9', now: '2026-11-23T18:00:00Z', user: USER })) as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc), ['formatVersion', 'tool', 'evaluatedAt', 'user', 'summary', 'policies', 'skipped', 'skippedRules']);
    assert.deepEqual(
      doc.skippedRules,
      ['target-selects-nothing', 'isolates-pods', 'blast-radius-targets', 'blast-radius-peers', 'grant-recreated'].map((ruleId) => ({ ruleId, reason: 'needs a cluster view' })),
    );
    assert.equal(doc.formatVersion, 1);
    assert.deepEqual(doc.tool, { name: 'netpol-guard', version: '9.9.9' });
    assert.deepEqual(doc.summary, { files: 2, policies: 3, allowed: 1, warned: 0, denied: 2, invalid: 1, skipped: 1 });
    const policies = doc.policies as Record<string, unknown>[];
    assert.deepEqual(policies[0], {
      file: 'deploy/egress.yaml',
      document: 0,
      line: 1,
      namespace: 'team-a',
      name: 'open-egress',
      verdict: 'denied',
      disposition: 'evaluated',
      findings: (policies[0]!.findings as unknown[]).map((f) => f),
      errors: [],
    });
    const first = (policies[0]!.findings as Record<string, unknown>[])[0];
    assert.deepEqual(first, {
      ruleId: 'ipblock-all-addresses',
      action: 'deny',
      path: 'spec.egress[0].to[0].ipBlock.cidr',
      reason: '0.0.0.0/0 allows every IPv4 address',
      hint: 'narrow it to the destination range, at most /16 wide',
      line: 11,
      column: 17,
    });
    assert.deepEqual(policies[2]!.errors, [
      { path: 'spec.podSelecter', message: 'unknown field', line: 3, column: 8 },
    ]);
    assert.equal(policies[2]!.disposition, undefined);
    assert.deepEqual(doc.skipped, [{ file: 'deploy/egress.yaml', document: 2, line: 17, kind: 'Service' }]);
  });
});

describe('sarif format', () => {
  const sarif = (r: CheckReport, cfg: GuardConfig = config(), cwd?: string) =>
    buildSarif(r, { toolVersion: '1.2.3', config: cfg, ...(cwd !== undefined && { cwd }) }) as {
      $schema: string;
      version: string;
      runs: {
        tool: { driver: { name: string; version: string; informationUri: string; rules: { id: string; defaultConfiguration: { level: string; enabled?: boolean } }[] } };
        originalUriBaseIds?: Record<string, { uri: string }>;
        results: {
          ruleId: string;
          ruleIndex: number;
          level: string;
          message: { text: string };
          locations: { physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string }; region: { startLine: number; startColumn: number } } }[];
          partialFingerprints: Record<string, string>;
        }[];
      }[];
    };

  it('describes every rule, in a fixed order that ruleIndex points into', () => {
    const log = sarif(MIXED);
    assert.equal(log.$schema, 'https://json.schemastore.org/sarif-2.1.0.json');
    assert.equal(log.version, '2.1.0');
    const driver = log.runs[0]!.tool.driver;
    assert.equal(driver.name, 'netpol-guard');
    assert.equal(driver.version, '1.2.3');
    assert.deepEqual(driver.rules.map((r) => r.id), [...RULE_IDS, 'invalid-manifest']);
    assert.deepEqual([...SARIF_RULE_IDS], [...RULE_IDS, 'invalid-manifest']);
    for (const id of SARIF_RULE_IDS) {
      const doc = RULE_CATALOG[id];
      assert.ok(doc.short && doc.full && doc.help, id);
    }
    for (const result of log.runs[0]!.results) assert.equal(driver.rules[result.ruleIndex]!.id, result.ruleId);
  });

  it('emits one result per finding and per structural error, with locations', () => {
    const results = sarif(MIXED, config(), '/repo').runs[0]!.results;
    assert.deepEqual(
      results.map((r) => [r.ruleId, r.level, r.locations[0]!.physicalLocation.artifactLocation.uri, r.locations[0]!.physicalLocation.region.startLine]),
      [
        ['ipblock-all-addresses', 'error', 'deploy/egress.yaml', 11],
        ['port-any', 'error', 'deploy/egress.yaml', 10],
        ['expiry-missing', 'error', 'deploy/egress.yaml', 3],
        ['ticket-missing', 'error', 'deploy/egress.yaml', 3],
        ['invalid-manifest', 'error', 'deploy/typo.yaml', 3],
      ],
    );
    assert.equal(results[0]!.message.text, 'NetworkPolicy team-a/open-egress: spec.egress[0].to[0].ipBlock.cidr 0.0.0.0/0 allows every IPv4 address; narrow it to the destination range, at most /16 wide');
    assert.equal(results[0]!.locations[0]!.physicalLocation.artifactLocation.uriBaseId, 'SRCROOT');
    assert.deepEqual(sarif(MIXED, config(), '/repo').runs[0]!.originalUriBaseIds, { SRCROOT: { uri: 'file:///repo/' } });
  });

  it('uses warning for warn findings and reflects the config in default levels', () => {
    const cfg = config({ rules: { 'port-any': 'warn', 'ticket-missing': 'off' } });
    const log = sarif(report([{ name: 'x.yaml', text: DENIED }], cfg), cfg);
    const levels = Object.fromEntries(log.runs[0]!.tool.driver.rules.map((r) => [r.id, r.defaultConfiguration]));
    assert.deepEqual(levels['port-any'], { level: 'warning' });
    assert.deepEqual(levels['ticket-missing'], { level: 'none', enabled: false });
    assert.deepEqual(levels['peer-any'], { level: 'error' });
    const results = log.runs[0]!.results;
    assert.equal(results.find((r) => r.ruleId === 'port-any')?.level, 'warning');
    assert.equal(results.some((r) => r.ruleId === 'ticket-missing'), false);
    const warnMode = config({ mode: 'warn' });
    assert.ok(sarif(report([]), warnMode).runs[0]!.tool.driver.rules.filter((r) => r.id !== 'invalid-manifest').every((r) => r.defaultConfiguration.level === 'warning'));
  });

  it('keeps fingerprints when a policy moves within its file, and separates different problems', () => {
    const before = sarif(report([{ name: 'x.yaml', text: DENIED }])).runs[0]!.results;
    const after = sarif(report([{ name: 'x.yaml', text: `# moved down\n\n${DENIED}` }])).runs[0]!.results;
    assert.notEqual(before[0]!.locations[0]!.physicalLocation.region.startLine, after[0]!.locations[0]!.physicalLocation.region.startLine);
    assert.deepEqual(before.map((r) => r.partialFingerprints), after.map((r) => r.partialFingerprints));
    const prints = new Set(before.map((r) => Object.values(r.partialFingerprints)[0]));
    assert.equal(prints.size, before.length);
  });

  it('encodes artifact URIs and names stdin', () => {
    assert.equal(artifactUri('dir with space/a#1.yaml'), 'dir%20with%20space/a%231.yaml');
    assert.equal(artifactUri('../up/x.yaml'), '../up/x.yaml');
    assert.equal(artifactUri(STDIN_NAME), 'stdin');
    const log = sarif(report([{ name: STDIN_NAME, text: DENIED }]));
    const location = log.runs[0]!.results[0]!.locations[0]!.physicalLocation.artifactLocation;
    assert.deepEqual(location, { uri: 'stdin' });
  });
});
