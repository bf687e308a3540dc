import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryClusterView } from '../../../src/cluster/memoryView.js';
import { chooseProfile, parseLabelList, resolveProfile } from '../../../src/config/profiles.js';
import type { ConfigFile } from '../../../src/config/types.js';
import { build, errors } from './support.js';

const PROFILES: ConfigFile = {
  limits: { maxTTL: '24h' },
  quotas: { maxLiveGrantsPerNamespace: 10 },
  profiles: [
    { name: 'production', match: { namespaceSelector: { matchLabels: { env: 'prod' } } }, limits: { maxTTL: '2h' }, quotas: { maxLiveGrantsPerNamespace: 2 } },
    { name: 'prod-names', match: { namespaces: ['prod-*', 'payments'] }, mode: 'warn' },
    { name: 'labelled-and-named', match: { namespaces: ['team-?'], namespaceSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold'] }] } }, defaultTTL: '1h' },
  ],
};

describe('profiles: matching', () => {
  const config = build(PROFILES);

  it('first match wins: labels before a later name glob', () => {
    assert.equal(resolveProfile(config, 'prod-eu', { env: 'prod' }).config.profile, 'production');
    assert.equal(resolveProfile(config, 'prod-eu', { env: 'dev' }).config.profile, 'prod-names');
    assert.equal(resolveProfile(config, 'payments', {}).config.profile, 'prod-names');
  });

  it('falls back to the top level (the profile "default")', () => {
    const choice = resolveProfile(config, 'staging', { env: 'staging' });
    assert.equal(choice.config, config);
    assert.equal(choice.config.profile, 'default');
    assert.equal(choice.labelsUnknown, false);
  });

  it('globs are anchored: * any run, ? exactly one character', () => {
    assert.equal(resolveProfile(config, 'xprod-eu', {}).config.profile, 'default');
    assert.equal(resolveProfile(config, 'prod-', {}).config.profile, 'prod-names');
    assert.equal(resolveProfile(config, 'team-a', { tier: 'gold' }).config.profile, 'labelled-and-named');
    assert.equal(resolveProfile(config, 'team-ab', { tier: 'gold' }).config.profile, 'default');
  });

  it('a match is the AND of its parts', () => {
    assert.equal(resolveProfile(config, 'team-a', { tier: 'silver' }).config.profile, 'default');
    assert.equal(resolveProfile(config, 'other', { tier: 'gold' }).config.profile, 'default');
  });

  it('unknown labels: label profiles are passed over and the choice is flagged, never a quiet default', () => {
    const unknown = resolveProfile(config, 'prod-eu', undefined);
    assert.equal(unknown.config.profile, 'prod-names');
    assert.equal(unknown.labelsUnknown, true);
    // A name-only profile can still be chosen for sure when no label profile comes before it... but here one does.
    const nameOnly = build({ profiles: [{ name: 'p', match: { namespaces: ['prod-*'] } }] });
    assert.deepEqual(resolveProfile(nameOnly, 'prod-eu', undefined), { config: nameOnly.profiles[0]!.config, labelsUnknown: false });
  });

  it('chooseProfile reads labels from a fresh view only', () => {
    const fresh = new MemoryClusterView({ namespaces: { 'prod-eu': { env: 'prod' } } });
    assert.equal(chooseProfile(config, 'prod-eu', fresh).config.profile, 'production');
    const stale = new MemoryClusterView({ namespaces: { 'prod-eu': { env: 'prod' } }, stale: true });
    assert.deepEqual([chooseProfile(config, 'prod-eu', stale).config.profile, chooseProfile(config, 'prod-eu', stale).labelsUnknown], ['prod-names', true]);
    assert.equal(chooseProfile(config, 'new-ns', fresh).labelsUnknown, true, 'a namespace newer than the view');
  });

  it('an attacker cannot reach a lenient profile by labelling with look-alike keys or values', () => {
    assert.equal(resolveProfile(config, 'x', { 'env ': 'prod' }).config.profile, 'default');
    assert.equal(resolveProfile(config, 'x', { env: 'prod ' }).config.profile, 'default');
    assert.equal(resolveProfile(config, 'x', { env: 'prod' }).config.profile, 'production');
  });
});

describe('profiles: what a profile overrides', () => {
  const config = build(PROFILES);
  const production = config.profiles[0]!.config;

  it('lays each section over the top level key by key', () => {
    assert.equal(production.limits.maxTTLms, 2 * 3_600_000);
    assert.equal(production.limits.maxLifetimeMs, config.limits.maxLifetimeMs, 'maxLifetime inherited from the top level');
    assert.equal(production.quotas.maxLiveGrantsPerNamespace, 2);
    assert.equal(config.quotas.maxLiveGrantsPerNamespace, 10);
    assert.equal(production.exemptNamespaces, production.exemptNamespaces);
    assert.deepEqual([...production.exemptNamespaces], [...config.exemptNamespaces]);
  });

  it('mode changes the default of clusterView.onUnavailable for that profile', () => {
    assert.equal(config.clusterView.onUnavailable, 'deny');
    assert.equal(config.profiles[1]!.config.mode, 'warn');
    assert.equal(config.profiles[1]!.config.clusterView.onUnavailable, 'warn');
    const explicit = build({ clusterView: { onUnavailable: 'deny' }, profiles: [{ name: 'w', match: { namespaces: ['a'] }, mode: 'warn' }] });
    assert.equal(explicit.profiles[0]!.config.clusterView.onUnavailable, 'deny');
  });

  it('profile configs are built once with the config (the hot path only picks one)', () => {
    assert.equal(resolveProfile(config, 'prod-eu', { env: 'prod' }).config, resolveProfile(config, 'prod-x', { env: 'prod' }).config);
    assert.deepEqual(production.profiles, []);
  });

  it('recreateCooldown defaults to the maxLifetime of its own profile', () => {
    const c = build({ limits: { maxLifetime: '72h' }, profiles: [{ name: 'short', match: { namespaces: ['a'] }, limits: { maxLifetime: '48h', recreateCooldown: null } }, { name: 'set', match: { namespaces: ['b'] }, limits: { recreateCooldown: '1h' } }] });
    assert.equal(c.limits.recreateCooldownMs, 72 * 3_600_000);
    assert.equal(c.profiles[0]!.config.limits.recreateCooldownMs, 48 * 3_600_000);
    assert.equal(c.profiles[1]!.config.limits.recreateCooldownMs, 3_600_000);
  });
});

describe('profiles: errors name the path', () => {
  it('unknown keys in a profile, its match or its sections', () => {
    assert.deepEqual(errors({ profiles: [{ name: 'p', match: { namespaces: ['a'] }, exemptNamespaces: [] }] }), ['cfg: /profiles/0/exemptNamespaces: unknown key (not in the config schema)']);
    assert.deepEqual(errors({ profiles: [{ name: 'p', match: { names: ['a'] } }] }), ['cfg: /profiles/0/match/names: unknown key (not in the config schema)']);
    // An empty match would take every namespace: that is the top level's job.
    assert.deepEqual(errors({ profiles: [{ name: 'p', match: {} }] }), ['cfg: /profiles/0/match: must NOT have fewer than 1 properties']);
    assert.ok(errors({ profiles: [{ name: 'p' }] }).some((e) => e.includes("must have required property 'match'")));
    assert.deepEqual(errors({ profiles: [{ name: 'p', match: { namespaces: ['a'] }, limits: { maxTtl: '1h' } }] }), ['cfg: /profiles/0/limits/maxTtl: unknown key (not in the config schema)']);
  });

  it('bad globs', () => {
    for (const glob of ['Prod-*', 'prod_*', '', 'prod-[a]', 'a/b', '-prod']) {
      const found = errors({ profiles: [{ name: 'p', match: { namespaces: ['ok', glob] } }] });
      assert.ok(found.some((e) => e.startsWith("cfg: /profiles/0/match/namespaces/1: not a namespace glob")), `${JSON.stringify(glob)}: ${found.join('; ')}`);
    }
  });

  it('selectors the API server would refuse', () => {
    assert.deepEqual(errors({ profiles: [{ name: 'p', match: { namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: [] }] } } }] }), [
      'cfg: /profiles/0/match/namespaceSelector/matchExpressions/0/values: In needs at least one value',
    ]);
    assert.deepEqual(errors({ profiles: [{ name: 'p', match: { namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'Exists', values: ['x'] }] } } }] }), [
      'cfg: /profiles/0/match/namespaceSelector/matchExpressions/0/values: Exists takes no values',
    ]);
    assert.ok(errors({ profiles: [{ name: 'p', match: { namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'Like' }] } } }] }).some((e) => e.startsWith('cfg: /profiles/0/match/namespaceSelector/matchExpressions/0/operator: must be one of')));
  });

  it('names: unique, not "default"', () => {
    assert.deepEqual(errors({ profiles: [{ name: 'a', match: { namespaces: ['x'] } }, { name: 'a', match: { namespaces: ['y'] } }] }), ['cfg: /profiles/1/name: "a" is already the name of /profiles/0']);
    assert.deepEqual(errors({ profiles: [{ name: 'default', match: { namespaces: ['x'] } }] }), ['cfg: /profiles/0/name: "default" is the top level\'s name; choose another']);
  });

  it('cross-key checks inside a profile name the profile', () => {
    assert.deepEqual(errors({ profiles: [{ name: 'p', match: { namespaces: ['x'] }, limits: { maxTTL: '2h' }, defaultTTL: '8h' }] }), [
      'cfg: /profiles/0/defaultTTL: 8h is longer than maxTTL 2h; every defaulted grant would be denied',
    ]);
    assert.deepEqual(errors({ profiles: [{ name: 'p', match: { namespaces: ['x'] }, rules: { 'policy-too-large': 'warn' } }] }).map((e) => e.split(':').slice(0, 2).join(':')), ['cfg: /profiles/0/rules/policy-too-large']);
  });

  it('quotas and clusterView', () => {
    assert.ok(errors({ quotas: { maxLiveGrantsPerNamespace: -1 } }).some((e) => e.startsWith('cfg: /quotas/maxLiveGrantsPerNamespace')));
    assert.ok(errors({ clusterView: { onUnavailable: 'allow' } }).some((e) => e.startsWith('cfg: /clusterView/onUnavailable')));
    assert.ok(errors({ clusterView: { maxStaleness: 'soon' } }).some((e) => e.startsWith('cfg: /clusterView/maxStaleness')));
    assert.equal(build({ clusterView: { pods: false } }).clusterView.pods, false);
    assert.equal(build({}).clusterView.pods, true, 'pods are in the view by default');
    assert.ok(errors({ clusterView: { pods: 'yes' } }).some((e) => e.startsWith('cfg: /clusterView/pods')));
    assert.ok(errors({ profiles: [{ name: 'p', match: { namespaces: ['x'] }, clusterView: { pods: false } }] }).some((e) => e.startsWith('cfg: /profiles/0')), 'clusterView is the top level\'s only');
  });
});

describe('parseLabelList (--namespace-labels)', () => {
  it('reads k=v pairs; an empty value is a value', () => {
    assert.deepEqual(parseLabelList('env=prod,team=pay,empty='), { ok: true, labels: { env: 'prod', team: 'pay', empty: '' } });
    assert.deepEqual(parseLabelList(''), { ok: true, labels: {} });
  });
  it('refuses entries without a key and keys given twice', () => {
    assert.deepEqual(parseLabelList('env'), { ok: false, error: '"env" is not key=value' });
    assert.deepEqual(parseLabelList('=x'), { ok: false, error: '"=x" is not key=value' });
    assert.deepEqual(parseLabelList('a=1,a=2'), { ok: false, error: 'label "a" is given twice' });
  });
});
