import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { ConfigFile } from '../../../src/config/types.js';
import { effectivePolicyTypes, grantsAccess } from '../../../src/policy/breadth.js';
import { breadthFindings } from '../../../src/policy/walk.js';
import { BREADTH_RULE_IDS } from '../../../src/policy/ruleIds.js';
import {
  API_PODS,
  DB_PODS,
  TCP_5432,
  cidrPeer,
  config,
  egressPolicy,
  idsAndPaths,
  ingressPolicy,
  policy,
} from './support.js';

interface BreadthCase {
  name: string;
  policy: V1NetworkPolicy;
  config?: ConfigFile;
  /** Every breadth finding expected, as `rule-id @ path`; anything else is a failure. */
  expect: string[];
  /** Substrings the reason of the first expected finding must contain. */
  reasonIncludes?: string[];
}

const E0 = 'spec.egress[0]';
const I0 = 'spec.ingress[0]';

/**
 * One table for every breadth rule: each rule has cases that fire it (with the exact path) and
 * near misses that must stay quiet. Expectations list all findings so a near miss that trips a
 * different rule is caught too.
 */
const CASES: BreadthCase[] = [
  // ipblock-all-addresses
  {
    name: '0.0.0.0/0 allows every IPv4 address',
    policy: egressPolicy([{ to: [cidrPeer('0.0.0.0/0')], ports: [TCP_5432] }]),
    expect: [`ipblock-all-addresses @ ${E0}.to[0].ipBlock.cidr`],
    reasonIncludes: ['0.0.0.0/0 allows every IPv4 address'],
  },
  {
    name: '::/0 allows every IPv6 address',
    policy: ingressPolicy([{ from: [cidrPeer('::/0')], ports: [TCP_5432] }]),
    expect: [`ipblock-all-addresses @ ${I0}.from[0].ipBlock.cidr`],
    reasonIncludes: ['::/0 allows every IPv6 address'],
  },
  {
    name: '::ffff:0.0.0.0/96 is IPv4 0.0.0.0/0 in mapped form',
    policy: egressPolicy([{ to: [cidrPeer('::ffff:0.0.0.0/96')], ports: [TCP_5432] }]),
    expect: [`ipblock-all-addresses @ ${E0}.to[0].ipBlock.cidr`],
    reasonIncludes: ['every IPv4 address'],
  },
  {
    name: 'except does not rescue 0.0.0.0/0',
    policy: egressPolicy([{ to: [cidrPeer('0.0.0.0/0', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'])], ports: [TCP_5432] }]),
    expect: [`ipblock-all-addresses @ ${E0}.to[0].ipBlock.cidr`],
    reasonIncludes: ['except does not make it narrow'],
  },
  {
    name: '0.0.0.0/1 + 128.0.0.0/1 in one rule cover IPv4 together (and each is too wide)',
    policy: egressPolicy([{ to: [cidrPeer('0.0.0.0/1'), cidrPeer('128.0.0.0/1')], ports: [TCP_5432] }]),
    expect: [
      `ipblock-all-addresses @ ${E0}.to`,
      `ipblock-too-wide @ ${E0}.to[0].ipBlock.cidr`,
      `ipblock-too-wide @ ${E0}.to[1].ipBlock.cidr`,
    ],
  },
  {
    name: 'the halves of IPv6 in one rule cover it together',
    policy: ingressPolicy([{ from: [cidrPeer('8000::/1'), cidrPeer('::/1')], ports: [TCP_5432] }]),
    expect: [
      `ipblock-all-addresses @ ${I0}.from`,
      `ipblock-too-wide @ ${I0}.from[0].ipBlock.cidr`,
      `ipblock-too-wide @ ${I0}.from[1].ipBlock.cidr`,
    ],
  },
  {
    name: 'near miss: 0.0.0.0/1 alone is too wide but not every address',
    policy: egressPolicy([{ to: [cidrPeer('0.0.0.0/1')], ports: [TCP_5432] }]),
    expect: [`ipblock-too-wide @ ${E0}.to[0].ipBlock.cidr`],
  },
  {
    name: 'near miss: the two halves in different rules are judged per rule',
    policy: egressPolicy([
      { to: [cidrPeer('0.0.0.0/1')], ports: [TCP_5432] },
      { to: [cidrPeer('128.0.0.0/1')], ports: [TCP_5432] },
    ]),
    expect: [`ipblock-too-wide @ ${E0}.to[0].ipBlock.cidr`, `ipblock-too-wide @ spec.egress[1].to[0].ipBlock.cidr`],
  },
  {
    name: 'near miss: a union with a gap at the top of the space',
    policy: egressPolicy([{ to: [cidrPeer('0.0.0.0/1'), cidrPeer('128.0.0.0/2'), cidrPeer('192.0.0.0/3')], ports: [TCP_5432] }]),
    // No forbidden ranges: 128.0.0.0/2 holds 169.254.169.254, which is not what this case is about.
    config: { limits: { minIPv4PrefixLength: 0, forbiddenCIDRs: [] } },
    expect: [],
  },
  {
    name: 'near miss: IPv4 and IPv6 halves do not add up to a family',
    policy: egressPolicy([{ to: [cidrPeer('0.0.0.0/1'), cidrPeer('8000::/1')], ports: [TCP_5432] }]),
    config: { limits: { minIPv4PrefixLength: 0, minIPv6PrefixLength: 0, forbiddenCIDRs: [] } },
    expect: [],
  },
  // ipblock-too-wide
  {
    name: '10.0.0.0/15 is wider than /16',
    policy: egressPolicy([{ to: [cidrPeer('10.0.0.0/15')], ports: [TCP_5432] }]),
    expect: [`ipblock-too-wide @ ${E0}.to[0].ipBlock.cidr`],
    reasonIncludes: ['10.0.0.0/15 is a /15', 'IPv4 /16'],
  },
  {
    name: '::ffff:10.0.0.0/104 is an IPv4 /8',
    policy: egressPolicy([{ to: [cidrPeer('::ffff:10.0.0.0/104')], ports: [TCP_5432] }]),
    expect: [`ipblock-too-wide @ ${E0}.to[0].ipBlock.cidr`],
    reasonIncludes: ['/8 (IPv4-mapped)', 'IPv4 /16'],
  },
  {
    name: 'an IPv6 /32 is wider than /48',
    policy: ingressPolicy([{ from: [cidrPeer('2001:db8::/32')], ports: [TCP_5432] }]),
    expect: [`ipblock-too-wide @ ${I0}.from[0].ipBlock.cidr`],
    reasonIncludes: ['IPv6 /48'],
  },
  {
    name: 'near miss: 10.20.0.0/16 is exactly the limit',
    policy: egressPolicy([{ to: [cidrPeer('10.20.0.0/16')], ports: [TCP_5432] }]),
    expect: [],
  },
  {
    name: 'near miss: ::ffff:10.20.0.0/112 is an IPv4 /16',
    policy: egressPolicy([{ to: [cidrPeer('::ffff:10.20.0.0/112')], ports: [TCP_5432] }]),
    expect: [],
  },
  {
    name: 'near miss: an IPv6 /48',
    policy: egressPolicy([{ to: [cidrPeer('2001:db8:1::/48')], ports: [TCP_5432] }]),
    expect: [],
  },
  {
    name: 'near miss: the configured minimum is honoured',
    policy: egressPolicy([{ to: [cidrPeer('10.0.0.0/8')], ports: [TCP_5432] }]),
    config: { limits: { minIPv4PrefixLength: 8 } },
    expect: [],
  },
  // namespace-selector-all
  {
    name: 'an empty namespaceSelector matches every namespace',
    policy: ingressPolicy([{ from: [{ namespaceSelector: {} }], ports: [TCP_5432] }]),
    expect: [`namespace-selector-all @ ${I0}.from[0].namespaceSelector`],
  },
  {
    name: 'an empty namespaceSelector with a podSelector still spans every namespace',
    policy: ingressPolicy([{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'api' } } }], ports: [TCP_5432] }]),
    expect: [`namespace-selector-all @ ${I0}.from[0].namespaceSelector`],
  },
  {
    name: 'near miss: a namespaceSelector with matchExpressions only',
    policy: ingressPolicy([
      { from: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }] } }], ports: [TCP_5432] },
    ]),
    expect: [],
  },
  // pod-selector-all-peer
  {
    name: 'an empty peer podSelector matches every pod of the namespace',
    policy: egressPolicy([{ to: [API_PODS, { podSelector: {} }], ports: [TCP_5432] }]),
    expect: [`pod-selector-all-peer @ ${E0}.to[1].podSelector`],
  },
  {
    name: 'near miss: an empty podSelector inside a selected namespace',
    policy: egressPolicy([{ to: [{ namespaceSelector: { matchLabels: { team: 'a' } }, podSelector: {} }], ports: [TCP_5432] }]),
    expect: [],
  },
  // target-all-pods
  {
    name: 'an empty spec.podSelector targets every pod',
    policy: policy({ podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [API_PODS], ports: [TCP_5432] }] }),
    expect: ['target-all-pods @ spec.podSelector'],
  },
  {
    name: 'near miss: spec.podSelector with matchExpressions only',
    policy: policy({
      podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] },
      policyTypes: ['Ingress'],
      ingress: [{ from: [API_PODS], ports: [TCP_5432] }],
    }),
    expect: [],
  },
  // peer-any
  {
    name: 'an egress rule without to allows every destination',
    policy: egressPolicy([{ ports: [TCP_5432] }]),
    expect: [`peer-any @ ${E0}.to`],
    reasonIncludes: ['is missing', 'every destination'],
  },
  {
    name: 'an empty from list allows every source',
    policy: ingressPolicy([{ from: [], ports: [TCP_5432] }]),
    expect: [`peer-any @ ${I0}.from`],
    reasonIncludes: ['is empty', 'every source'],
  },
  // port-any
  {
    name: 'a rule without ports allows every port',
    policy: egressPolicy([{ to: [API_PODS] }]),
    expect: [`port-any @ ${E0}.ports`],
  },
  {
    name: 'an empty ports list allows every port',
    policy: egressPolicy([{ to: [API_PODS], ports: [] }]),
    expect: [`port-any @ ${E0}.ports`],
  },
  {
    name: 'a port entry with a protocol only allows every port of it',
    policy: egressPolicy([{ to: [API_PODS], ports: [TCP_5432, { protocol: 'UDP' }] }]),
    expect: [`port-any @ ${E0}.ports[1].port`],
    reasonIncludes: ['every UDP port'],
  },
  {
    name: 'near miss: a named port',
    policy: egressPolicy([{ to: [API_PODS], ports: [{ protocol: 'TCP', port: 'postgres' }] }]),
    expect: [],
  },
  // port-range-too-wide
  {
    name: 'a range of 101 ports is too wide',
    policy: egressPolicy([{ to: [API_PODS], ports: [{ protocol: 'TCP', port: 8000, endPort: 8100 }] }]),
    expect: [`port-range-too-wide @ ${E0}.ports[0].endPort`],
    reasonIncludes: ['8000-8100 spans 101 ports', 'allowed 100'],
  },
  {
    name: 'near miss: a range of exactly 100 ports',
    policy: egressPolicy([{ to: [API_PODS], ports: [{ protocol: 'TCP', port: 8000, endPort: 8099 }] }]),
    expect: [],
  },
  {
    name: 'near miss: the configured maximum is honoured',
    policy: egressPolicy([{ to: [API_PODS], ports: [{ protocol: 'TCP', port: 30000, endPort: 32767 }] }]),
    config: { limits: { maxPortRange: 2768 } },
    expect: [],
  },
  // ipblock-total-too-wide: the union of the narrow blocks
  {
    name: '256 /16s in one rule admit all of 10.0.0.0/8',
    policy: egressPolicy([{ to: Array.from({ length: 256 }, (_, i) => cidrPeer(`10.${i}.0.0/16`)), ports: [TCP_5432] }]),
    expect: [`ipblock-total-too-wide @ ${E0}`],
    reasonIncludes: ['admit 16,777,216 IPv4 addresses in 256 blocks, more than one /16', 'this rule holds 16,777,216'],
  },
  {
    name: 'near miss: four /24s',
    policy: egressPolicy([{ to: ['10.0.1.0/24', '10.0.2.0/24', '10.9.0.0/24', '192.0.2.0/24'].map((c) => cidrPeer(c)), ports: [TCP_5432] }]),
    expect: [],
  },
  // ipblock-forbidden
  {
    name: 'a /16 around the instance-metadata endpoint',
    policy: egressPolicy([{ to: [cidrPeer('169.254.0.0/16')], ports: [TCP_5432] }]),
    expect: [`ipblock-forbidden @ ${E0}.to[0].ipBlock.cidr`],
    reasonIncludes: ['169.254.0.0/16 admits 169.254.169.254/32'],
  },
  {
    name: 'near miss: the same /16 with the endpoint excepted',
    policy: egressPolicy([{ to: [cidrPeer('169.254.0.0/16', ['169.254.169.254/32'])], ports: [TCP_5432] }]),
    expect: [],
  },
  // ports-total-too-wide
  {
    name: 'two ranges of 100 ports open 200 TCP ports',
    policy: egressPolicy([{ to: [API_PODS], ports: [{ port: 1, endPort: 100 }, { protocol: 'TCP', port: 101, endPort: 200 }] }]),
    expect: [`ports-total-too-wide @ ${E0}.ports`],
    reasonIncludes: ['open 200 TCP ports in 2 entries, more than the allowed 100'],
  },
  {
    name: 'near miss: three ports',
    policy: egressPolicy([{ to: [API_PODS], ports: [TCP_5432, { protocol: 'TCP', port: 8080 }, { protocol: 'UDP', port: 53 }] }]),
    expect: [],
  },
  // selectors that only exclude select everything
  {
    name: 'a namespaceSelector asking only DoesNotExist matches every namespace',
    policy: ingressPolicy([{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'no-such-label', operator: 'DoesNotExist' }] } }], ports: [TCP_5432] }]),
    expect: [`namespace-selector-all @ ${I0}.from[0].namespaceSelector`],
    reasonIncludes: ['matches every namespace without label no-such-label: effectively all'],
  },
  {
    name: 'a peer podSelector asking only NotIn matches every pod',
    policy: egressPolicy([{ to: [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['x'] }] } }], ports: [TCP_5432] }]),
    expect: [`pod-selector-all-peer @ ${E0}.to[0].podSelector`],
    reasonIncludes: ['effectively all'],
  },
  {
    name: 'a spec.podSelector asking only DoesNotExist targets every pod',
    policy: policy({ podSelector: { matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] }, policyTypes: ['Ingress'], ingress: [{ from: [API_PODS], ports: [TCP_5432] }] }),
    expect: ['target-all-pods @ spec.podSelector'],
    reasonIncludes: ['matches every pod without label x: effectively all'],
  },
  {
    name: 'near miss: matchLabels plus a NotIn',
    policy: ingressPolicy([
      { from: [{ namespaceSelector: { matchLabels: { team: 'a' }, matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] } }], ports: [TCP_5432] },
    ]),
    expect: [],
  },
  // several at once, in both directions
  {
    name: 'allow-everything reports every kind of breadth at once',
    policy: policy({ podSelector: {}, ingress: [{}], egress: [{}] }),
    expect: [
      `peer-any @ ${E0}.to`,
      `peer-any @ ${I0}.from`,
      `port-any @ ${E0}.ports`,
      `port-any @ ${I0}.ports`,
      'target-all-pods @ spec.podSelector',
    ],
  },
];

describe('breadth rules', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const findings = breadthFindings(c.policy, config(c.config));
      assert.deepEqual(idsAndPaths(findings), [...c.expect].sort());
      for (const f of findings) {
        assert.ok(f.reason.length > 0 && !f.reason.includes('\n'), `${f.ruleId}: reason must be one line`);
        assert.ok(f.hint.length > 0 && !f.hint.includes('\n'), `${f.ruleId}: hint must be one line`);
      }
      if (c.reasonIncludes) {
        const first = findings.find((f) => `${f.ruleId} @ ${f.path}` === c.expect[0]);
        assert.ok(first, 'expected finding missing');
        for (const text of c.reasonIncludes) assert.ok(first.reason.includes(text), `"${first.reason}" should include "${text}"`);
      }
    });
  }

  it('every breadth rule id has a case that fires it and a near miss', () => {
    for (const id of BREADTH_RULE_IDS) {
      assert.ok(CASES.some((c) => c.expect.some((e) => e.startsWith(`${id} @`))), `${id} never fires in the table`);
    }
    assert.ok(CASES.filter((c) => c.name.startsWith('near miss')).length >= BREADTH_RULE_IDS.length);
  });

  it('skips ipBlocks whose CIDR does not parse (structural validation reports them)', () => {
    const findings = breadthFindings(egressPolicy([{ to: [cidrPeer('10.0.0.0/33'), cidrPeer('nonsense')], ports: [TCP_5432] }]), config());
    assert.deepEqual(findings, []);
  });
});

describe('policyTypes defaulting', () => {
  it('without policyTypes, Ingress always applies and Egress applies when egress rules exist', () => {
    const p = policy({ podSelector: DB_PODS, egress: [{ to: [cidrPeer('0.0.0.0/0')], ports: [TCP_5432] }] });
    assert.deepEqual([...effectivePolicyTypes(p)].sort(), ['egress', 'ingress']);
    assert.equal(grantsAccess(p), true);
    assert.deepEqual(idsAndPaths(breadthFindings(p, config())), [`ipblock-all-addresses @ ${E0}.to[0].ipBlock.cidr`]);
  });

  it('without policyTypes and without egress rules, only Ingress applies', () => {
    const p = policy({ podSelector: DB_PODS });
    assert.deepEqual([...effectivePolicyTypes(p)], ['ingress']);
    assert.equal(grantsAccess(p), false);
  });

  it('explicit [Ingress] makes the cluster ignore egress rules, and so does netpol-guard', () => {
    const p = policy({ podSelector: {}, policyTypes: ['Ingress'], egress: [{}] });
    assert.deepEqual([...effectivePolicyTypes(p)], ['ingress']);
    assert.equal(grantsAccess(p), false);
    assert.deepEqual(breadthFindings(p, config()).filter((f) => f.path.startsWith('spec.egress')), []);
  });

  it('explicit [Egress] ignores ingress rules', () => {
    const p = policy({ podSelector: DB_PODS, policyTypes: ['Egress'], ingress: [{}], egress: [{ to: [API_PODS], ports: [TCP_5432] }] });
    assert.deepEqual([...effectivePolicyTypes(p)], ['egress']);
    assert.deepEqual(breadthFindings(p, config()), []);
  });

  it('isolation-only policies grant nothing', () => {
    for (const types of [['Ingress'], ['Egress'], ['Ingress', 'Egress']]) {
      assert.equal(grantsAccess(policy({ podSelector: {}, policyTypes: types })), false, types.join(','));
      assert.equal(grantsAccess(policy({ podSelector: {}, policyTypes: types, ingress: [], egress: [] })), false, types.join(','));
    }
  });
});
