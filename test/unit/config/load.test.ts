import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { buildConfig, defaultConfig, loadConfigFile, parseConfigText } from '../../../src/config/load.js';
import { RULE_IDS } from '../../../src/policy/ruleIds.js';

const dir = mkdtempSync(path.join(tmpdir(), 'netpol-guard-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const full = path.join(dir, name);
  writeFileSync(full, text);
  return full;
}

function errorsOf(text: string): string[] {
  const result = parseConfigText(text, 'cfg.yaml');
  assert.equal(result.ok, false, `expected ${JSON.stringify(text)} to be rejected`);
  return result.ok ? [] : result.errors;
}

function assertError(text: string, expected: RegExp): void {
  const errors = errorsOf(text);
  assert.ok(errors.some((e) => expected.test(e)), `no error matches ${expected}: ${JSON.stringify(errors)}`);
  for (const e of errors) assert.ok(e.startsWith('cfg.yaml: '), `errors name their origin: ${e}`);
}

describe('default config', () => {
  it('builds, with the documented defaults', () => {
    const c = defaultConfig();
    assert.equal(c.mode, 'enforce');
    assert.equal(c.annotationPrefix, 'netpol-guard.io');
    assert.equal(c.keys.ttl, 'netpol-guard.io/ttl');
    assert.deepEqual(c.limits, {
      minIPv4PrefixLength: 16,
      minIPv6PrefixLength: 48,
      maxPortRange: 100,
      forbiddenCIDRs: [
        { text: '169.254.169.254/32', family: 4, range: [0xa9fea9fen, 0xa9fea9fen] },
        { text: 'fd00:ec2::254/128', family: 6, range: [0xfd000ec2000000000000000000000254n, 0xfd000ec2000000000000000000000254n] },
      ],
      maxTTLms: 24 * 3_600_000,
      maxLifetimeMs: 72 * 3_600_000,
      maxPolicyElements: 2_000,
      recreateCooldownMs: 72 * 3_600_000,
      maxTargetPods: 50,
      maxPeerPods: 200,
      maxPeerNamespaces: 10,
      maxAnalysisWork: 1_000_000,
    });
    assert.deepEqual(c.quotas, { maxLiveGrantsPerNamespace: undefined, maxLiveGrantsPerRequester: undefined });
    assert.deepEqual(c.clusterView, { maxStalenessMs: 30_000, onUnavailable: 'deny', pods: true });
    assert.equal(c.profile, 'default');
    assert.deepEqual(c.profiles, []);
    assert.equal(c.defaultTTL, undefined);
    assert.equal(c.ticket.pattern.test('INC-1234'), true);
    assert.equal(c.ticket.pattern.test('inc-1234'), false);
    assert.deepEqual([...c.exemptNamespaces].sort(), ['kube-node-lease', 'kube-public', 'kube-system']);
    assert.deepEqual(Object.keys(c.rules).sort(), [...RULE_IDS].sort());
    assert.deepEqual(
      Object.entries(c.rules).filter(([, a]) => a !== 'deny'),
      [['target-selects-nothing', 'warn']],
      'every rule denies by default but target-selects-nothing (CI may apply a policy before its pods exist)',
    );
  });

  // Issue #19: an empty file is what `cat > config.yaml` or an editor leaves for a moment; reading
  // it as "all defaults" silently turned warn mode into enforce. Only an explicit {} means that.
  it('an empty, whitespace-only or comment-only file is an error that says how to get the defaults', () => {
    for (const text of ['', '\n', '   \n\t\n', '\r\n', '# nothing configured yet\n', '---\n', '# a\n---\n# b\n']) {
      const result = loadConfigFile(file('empty.yaml', text));
      assert.ok(!result.ok, JSON.stringify(text));
      assert.equal(result.empty, true, JSON.stringify(text));
      assert.equal(result.errors.length, 1);
      assert.match(result.errors[0]!, /empty\.yaml: config file is empty \(only (whitespace|comments); no settings\); remove --config .* to use the embedded default/);
    }
    const braces = loadConfigFile(file('defaults.yaml', '{}\n'));
    assert.ok(braces.ok);
    assert.deepEqual(braces.config.source, defaultConfig().source);
    // null is a value, not an absence: the schema refuses it like any non-object.
    const nullDoc = parseConfigText('null\n', 'null.yaml');
    assert.ok(!nullDoc.ok && !nullDoc.empty && /null\.yaml: \/: must be object/.test(nullDoc.errors.join()), JSON.stringify(nullDoc));
  });

  it('parseConfigText reports an empty text without the start hint (the store decides on it)', () => {
    const result = parseConfigText(' \n', 'cfg.yaml');
    assert.ok(!result.ok && result.empty);
    assert.deepEqual(result.errors, ['cfg.yaml: config file is empty (only whitespace; no settings)']);
  });
});

describe('config files', () => {
  it('reads YAML and merges over the defaults', () => {
    const result = loadConfigFile(
      file(
        'guard.yaml',
        [
          'mode: warn',
          'limits:',
          '  maxTTL: 8h',
          '  maxPortRange: 10',
          'defaultTTL: 1h',
          'rules:',
          '  port-any: warn',
          '  ticket-missing: off',
          'permanentPrincipals:',
          '  serviceAccounts: [argocd/argocd-application-controller]',
          'breakGlassGroups: [sre-oncall]',
          '',
        ].join('\n'),
      ),
    );
    assert.ok(result.ok, result.ok ? '' : result.errors.join('; '));
    const c = result.config;
    assert.equal(c.mode, 'warn');
    assert.equal(c.limits.maxTTLms, 8 * 3_600_000);
    assert.equal(c.limits.maxLifetimeMs, 72 * 3_600_000, 'untouched limits keep their default');
    assert.equal(c.limits.maxPortRange, 10);
    assert.deepEqual(c.defaultTTL, { text: '1h', ms: 3_600_000 });
    assert.equal(c.rules['port-any'], 'warn');
    assert.equal(c.rules['ticket-missing'], 'off');
    assert.equal(c.rules['peer-any'], 'deny');
    assert.deepEqual([...c.permanentPrincipals.serviceAccountUsernames], ['system:serviceaccount:argocd:argocd-application-controller']);
    assert.deepEqual([...c.breakGlassGroups], ['sre-oncall']);
  });

  it('reads JSON', () => {
    const result = loadConfigFile(file('guard.json', JSON.stringify({ annotationPrefix: 'guard.example.com', exemptNamespaces: ['platform'] }, null, 2)));
    assert.ok(result.ok);
    assert.equal(result.config.keys.ticket, 'guard.example.com/ticket');
    assert.deepEqual([...result.config.exemptNamespaces], ['platform']);
  });

  it('names a missing file', () => {
    const missing = path.join(dir, 'nope.yaml');
    const result = loadConfigFile(missing);
    assert.equal(result.ok, false);
    assert.deepEqual(result.ok ? [] : result.errors, [`${missing}: cannot read config file: ENOENT`]);
  });

  it('names the origin of errors in a file', () => {
    const bad = file('bad.yaml', 'limits: {maxTtl: 1h}\n');
    const result = loadConfigFile(bad);
    assert.equal(result.ok, false);
    assert.deepEqual(result.ok ? [] : result.errors, [`${bad}: /limits/maxTtl: unknown key (not in the config schema)`]);
  });
});

describe('config errors name the path', () => {
  const cases: [string, string, RegExp][] = [
    ['unknown nested key', 'limits:\n  maxTtl: 1h\n', /^cfg\.yaml: \/limits\/maxTtl: unknown key/],
    ['unknown top-level key', 'mood: warn\n', /^cfg\.yaml: \/mood: unknown key/],
    ['unknown rule id', 'rules: {port-anything: warn}\n', /\/rules\/port-anything: unknown key/],
    ['bad rule action', 'rules: {port-any: ignore}\n', /\/rules\/port-any: must be one of "deny", "warn", "off"/],
    ['bad mode', 'mode: audit\n', /\/mode: must be one of "enforce", "warn"/],
    ['fractional duration', 'limits: {maxTTL: 1.5h}\n', /\/limits\/maxTTL: must match pattern/],
    ['duration without unit', 'limits: {maxLifetime: "72"}\n', /\/limits\/maxLifetime: must match pattern/],
    ['zero duration', 'limits: {maxTTL: 0s}\n', /\/limits\/maxTTL: "0s" is zero/],
    ['repeated unit', 'defaultTTL: 1h1h\n', /\/defaultTTL: "1h1h" repeats the unit "h"/],
    ['bad regex', 'ticket: {pattern: "([A-Z]+"}\n', /\/ticket\/pattern: not a valid regular expression/],
    ['maxLifetime below maxTTL', 'limits: {maxTTL: 48h, maxLifetime: 24h}\n', /\/limits\/maxLifetime: 24h is shorter than maxTTL 48h/],
    ['defaultTTL above maxTTL', 'defaultTTL: 2d\n', /\/defaultTTL: 2d is longer than maxTTL 24h/],
    ['prefix length out of range', 'limits: {minIPv4PrefixLength: 33}\n', /\/limits\/minIPv4PrefixLength: must be <= 32/],
    ['wrong type', 'exemptNamespaces: kube-system\n', /\/exemptNamespaces: must be array/],
    ['service account without namespace', 'permanentPrincipals: {serviceAccounts: [argocd]}\n', /\/permanentPrincipals\/serviceAccounts\/0: must match pattern/],
    ['url template without placeholder', 'ticket: {urlTemplate: "https://tracker/browse/"}\n', /\/ticket\/urlTemplate: must contain the placeholder \{ticket\}/],
    ['not a mapping', '- mode: warn\n', /cfg\.yaml: \/: must be object/],
    ['YAML syntax error', 'mode: warn\nlimits: {maxTTL: 1h\n', /^cfg\.yaml: .+ at line \d+, column \d+$/],
    ['duplicate key', 'mode: warn\nmode: enforce\n', /^cfg\.yaml: Map keys must be unique at line 2, column 1$/],
  ];
  for (const [name, text, expected] of cases) it(name, () => assertError(text, expected));

  it('reports every error at once', () => {
    const errors = errorsOf('mood: warn\nlimits: {maxTtl: 1h, maxPortRange: 0}\n');
    assert.equal(errors.length, 3, JSON.stringify(errors));
  });

  it('buildConfig rejects a non-object', () => {
    assert.equal(buildConfig(42).ok, false);
    assert.equal(buildConfig(null).ok, false);
  });
});
