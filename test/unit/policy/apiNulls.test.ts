/**
 * Null means what the API server makes of it: an absent optional field, an empty struct for a null
 * list item, an empty string for a null string. Every form here is accepted by kubectl and the API
 * server (the e2e differential test checks that against a real one); `check` used to call them invalid.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { withApiServerNulls } from '../../../src/policy/apiNulls.js';
import { breadthFindings } from '../../../src/policy/walk.js';
import { checkNetworkPolicyShape } from '../../../src/policy/shape.js';
import { config, ids } from './support.js';

function manifest(specYaml: string, metadataYaml = ''): unknown {
  return parse(`apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n  namespace: shop\n${metadataYaml}spec:\n${specYaml}`);
}

function accepted(value: unknown): V1NetworkPolicy {
  const result = checkNetworkPolicyShape(value);
  if (!result.ok) assert.fail(`expected the manifest to be accepted: ${result.errors.join(' | ')}`);
  return result.policy;
}

describe('null in optional fields is absent', () => {
  it('podSelector: {matchLabels: } (a widely copied recipe) is the empty selector', () => {
    const policy = accepted(manifest('  podSelector:\n    matchLabels:\n  policyTypes: [Ingress]\n'));
    assert.deepEqual(policy.spec?.podSelector, {});
  });

  it('ingress: with no value, egress: ~, policyTypes: null are absent', () => {
    const policy = accepted(manifest('  podSelector: {}\n  ingress:\n  egress: ~\n  policyTypes: null\n'));
    assert.deepEqual(policy.spec, { podSelector: {} });
  });

  it('labels:, annotations:, except:, matchExpressions:, from:, ports:, port:, protocol:, endPort: with no value', () => {
    const value = manifest(
      [
        '  podSelector: {matchLabels: {app: db}, matchExpressions: }',
        '  ingress:',
        '    - from:',
        '        - ipBlock: {cidr: 10.0.0.0/24, except: }',
        '        - namespaceSelector: {matchLabels: {team: a}, matchExpressions: }',
        '          podSelector:',
        '      ports:',
        '        - {port: 5432, protocol: , endPort: }',
        '    - from:',
        '      ports:',
        '',
      ].join('\n'),
      '  labels:\n  annotations:\n',
    );
    const policy = accepted(value);
    assert.deepEqual(policy.metadata, { name: 'p', namespace: 'shop' });
    const ingress = policy.spec?.ingress as unknown[];
    assert.deepEqual(ingress, [
      { from: [{ ipBlock: { cidr: '10.0.0.0/24' } }, { namespaceSelector: { matchLabels: { team: 'a' } } }], ports: [{ port: 5432 }] },
      {},
    ]);
  });

  it('a null list item is an empty struct or an empty string, as Go decodes it', () => {
    // ingress: [null] is ingress: [{}]: every source on every port, so the engine must see it.
    const policy = accepted(manifest('  podSelector: {matchLabels: {app: db}}\n  ingress: [null]\n'));
    assert.deepEqual(policy.spec?.ingress, [{}]);
    assert.deepEqual(ids(breadthFindings(policy, config())), ['peer-any', 'port-any']);
    const ports = accepted(manifest('  podSelector: {matchLabels: {app: db}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: a}}}], ports: [null]}]\n'));
    assert.deepEqual(ids(breadthFindings(ports, config())), ['port-any']);
    const values = accepted(manifest("  podSelector: {matchExpressions: [{key: app, operator: In, values: [null, db]}], matchLabels: {tier: null}}\n"));
    assert.deepEqual(values.spec?.podSelector, { matchExpressions: [{ key: 'app', operator: 'In', values: ['', 'db'] }], matchLabels: { tier: '' } });
  });

  it('a null peer or except entry is still invalid, as the API server finds it', () => {
    const peer = checkNetworkPolicyShape(manifest('  podSelector: {}\n  ingress: [{from: [null]}]\n'));
    assert.deepEqual(peer.ok ? [] : peer.errors, ['/spec/ingress/0/from/0: a peer needs one of podSelector, namespaceSelector or ipBlock']);
    const except = checkNetworkPolicyShape(manifest('  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [null]}}]}]\n'));
    assert.equal(except.ok, false);
    assert.match(except.ok ? '' : except.errors[0]!, /^\/spec\/ingress\/0\/from\/0\/ipBlock\/except\/0: /);
  });

  it('leaves its input untouched and returns a null-free object as the same object', () => {
    const value = manifest('  podSelector:\n    matchLabels:\n');
    const copy = structuredClone(value);
    accepted(value);
    assert.deepEqual(value, copy);
    const clean = { metadata: { name: 'p' }, spec: { podSelector: {} } };
    assert.equal(withApiServerNulls(clean), clean);
  });

  it('the engine reads nulls as absent even when handed a policy that skipped the shape check', () => {
    const raw = {
      metadata: { name: 'p', annotations: null },
      spec: { podSelector: { matchLabels: null, matchExpressions: null }, ingress: [{ from: null, ports: null }] },
    } as unknown as V1NetworkPolicy;
    assert.deepEqual(ids(breadthFindings(raw, config())), ['peer-any', 'port-any', 'target-all-pods']);
  });
});

describe('label-map limits in the shared structural check', () => {
  it('check and grant get the same limits as the webhook, with pointer paths', () => {
    const labels = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`l${i}`, 'x']));
    const result = checkNetworkPolicyShape(manifest('  podSelector: {matchLabels: {app: x}}\n', `  labels: ${JSON.stringify(labels)}\n`));
    assert.deepEqual(result.ok ? [] : result.errors, ['/metadata/labels: has 257 entries; at most 256 are accepted']);
    const long = checkNetworkPolicyShape(manifest(`  podSelector: {matchLabels: {"a/b": ${'v'.repeat(64)}, "/x": y}}\n`));
    assert.deepEqual(long.ok ? [] : long.errors, [
      '/spec/podSelector/matchLabels/a~1b: value is 64 characters; a label value may have at most 63',
      '/spec/podSelector/matchLabels: key "/x" has a prefix of 0 characters; it must be 1 to 253',
    ]);
  });

  it('honours a smaller configured map size', () => {
    const result = checkNetworkPolicyShape(manifest('  podSelector: {matchLabels: {a: x, b: y}}\n'), { maxLabels: 1 });
    assert.deepEqual(result.ok ? [] : result.errors, ['/spec/podSelector/matchLabels: has 2 entries; at most 1 are accepted']);
  });
});
