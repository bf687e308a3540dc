/**
 * checkNetworkPolicyShape beyond the schema: the semantic checks (peers, CIDRs, endPort) with their
 * exact paths and order, and the 256 KiB annotation total measured in UTF-8 bytes at its boundary.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkNetworkPolicyShape } from '../../../src/policy/shape.js';

function policy(spec: Record<string, unknown>, annotations?: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'p', namespace: 'shop', ...(annotations && { annotations }) },
    spec: { podSelector: {}, ...spec },
  };
}

function errorsOf(value: unknown): string[] {
  const result = checkNetworkPolicyShape(value);
  assert.equal(result.ok, false, 'expected the policy to be rejected');
  return result.ok ? [] : result.errors;
}

const pods = { podSelector: { matchLabels: { app: 'a' } } };

describe('checkNetworkPolicyShape: semantic checks', () => {
  it('hands a valid policy back as the same object', () => {
    const valid = policy({
      ingress: [{ from: [pods, { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ port: 80, endPort: 90 }] }],
      egress: [{ to: [{ ipBlock: { cidr: 'fd00::/8', except: ['fd00:1::/32'] } }], ports: [{ port: 'http' }, { port: 53, endPort: 53 }] }],
    });
    const result = checkNetworkPolicyShape(valid);
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.policy, valid);
  });

  it('names each problem with its rule, peer, except and port indices, in document order', () => {
    const value = policy({
      ingress: [
        { from: [pods] },
        {
          from: [
            pods,
            { ...pods, ipBlock: { cidr: '10.0.0.0/8' } },
            {},
            { ipBlock: { cidr: '10.0.0.0/33', except: ['10.1.0.0/16', 'bogus'] } },
          ],
          ports: [{ port: 80 }, { port: 'http', endPort: 90 }, { port: 100, endPort: 99 }],
        },
      ],
      egress: [
        { ports: [{ endPort: 5 }] },
        { to: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.0.0/16', '10.0.1.0/24', '::/64', '9.0.0.0/24', '10.1.0.0/24', '10.0.255.255/32'] } }] },
      ],
    });
    assert.deepEqual(errorsOf(value), [
      '/spec/ingress/1/from/1: ipBlock cannot be combined with podSelector or namespaceSelector',
      '/spec/ingress/1/from/2: a peer needs one of podSelector, namespaceSelector or ipBlock',
      '/spec/ingress/1/from/3/ipBlock/cidr: "10.0.0.0/33" has a prefix longer than 32',
      '/spec/ingress/1/from/3/ipBlock/except/1: "bogus" is not in CIDR notation (address/prefix)',
      '/spec/ingress/1/ports/1/endPort: requires a numeric port',
      '/spec/ingress/1/ports/2/endPort: 99 is below port 100',
      '/spec/egress/0/ports/0/endPort: requires a numeric port',
      '/spec/egress/1/to/0/ipBlock/except/0: 10.0.0.0/16 must be a strict subset of 10.0.0.0/16',
      '/spec/egress/1/to/0/ipBlock/except/2: ::/64 must be a strict subset of 10.0.0.0/16',
      '/spec/egress/1/to/0/ipBlock/except/3: 9.0.0.0/24 must be a strict subset of 10.0.0.0/16',
      '/spec/egress/1/to/0/ipBlock/except/4: 10.1.0.0/24 must be a strict subset of 10.0.0.0/16',
    ]);
  });

  it('reports at most 20 problems', () => {
    const peers = Array.from({ length: 25 }, (_, i) => ({ ipBlock: { cidr: `10.0.0.${i}` } }));
    const errors = errorsOf(policy({ ingress: [{ from: peers }] }));
    assert.equal(errors.length, 20);
    assert.equal(errors[19], '/spec/ingress/0/from/19/ipBlock/cidr: "10.0.0.19" is not in CIDR notation (address/prefix)');
  });
});

describe('checkNetworkPolicyShape: annotation total size', () => {
  const MAX = 256 * 1024;
  const KEY = 'example.com/a'; // 13 bytes
  const over = (bytes: number) => [`/metadata/annotations: total size ${bytes} bytes exceeds 262144`];

  // Each case fills the value with `unit` so that key + value is exactly the cap, then one unit more.
  const units: Array<{ name: string; unit: string; bytes: number }> = [
    { name: 'ASCII', unit: 'a', bytes: 1 },
    { name: 'two-byte', unit: 'é', bytes: 2 },
    { name: 'three-byte', unit: '€', bytes: 3 },
    { name: 'lone surrogate (encoded as U+FFFD)', unit: '\uD800', bytes: 3 },
    { name: 'four-byte (a surrogate pair)', unit: '😀', bytes: 4 },
  ];
  for (const { name, unit, bytes } of units) {
    it(`counts UTF-8 bytes, not characters: ${name}`, () => {
      const fits = Math.floor((MAX - KEY.length) / bytes);
      const atCap = policy({}, { [KEY]: unit.repeat(fits) });
      assert.ok(checkNetworkPolicyShape(atCap).ok, `${fits} × ${name} fits`);
      const total = KEY.length + (fits + 1) * bytes;
      assert.ok(total > MAX);
      assert.deepEqual(errorsOf(policy({}, { [KEY]: unit.repeat(fits + 1) })), over(total));
    });
  }

  it('adds up keys and values across all annotations', () => {
    const half = 'a'.repeat(MAX / 2);
    assert.deepEqual(errorsOf(policy({}, { a: half, b: half })), over(MAX + 2));
    assert.ok(checkNetworkPolicyShape(policy({}, { a: half.slice(1), b: half.slice(1) })).ok);
  });
});

describe('checkNetworkPolicyShape: strict CIDRs (what the API server refuses in a new object)', () => {
  const withCidr = (cidr: string, except?: string[]) => policy({ egress: [{ to: [{ ipBlock: { cidr, ...(except && { except }) } }], ports: [{ port: 53 }] }] });
  const strictErrors = (value: unknown): string[] => {
    const result = checkNetworkPolicyShape(value, { strictCidrs: true });
    return result.ok ? [] : result.errors;
  };

  it('refuses host bits and IPv4-mapped forms, naming the canonical CIDR to write', () => {
    assert.deepEqual(strictErrors(withCidr('10.0.0.1/8')), [
      '/spec/egress/0/to/0/ipBlock/cidr: "10.0.0.1/8" has bits set beyond its /8 prefix, which the API server refuses; write 10.0.0.0/8',
    ]);
    assert.deepEqual(strictErrors(withCidr('::ffff:10.0.0.0/104')), [
      '/spec/egress/0/to/0/ipBlock/cidr: "::ffff:10.0.0.0/104" is an IPv4-mapped IPv6 CIDR, which the API server refuses; write it as 10.0.0.0/8',
    ]);
    assert.deepEqual(strictErrors(withCidr('2001:db8::1/32')), [
      '/spec/egress/0/to/0/ipBlock/cidr: "2001:db8::1/32" has bits set beyond its /32 prefix, which the API server refuses; write 2001:db8::/32',
    ]);
    assert.deepEqual(strictErrors(withCidr('10.0.0.0/8', ['10.1.2.3/16'])), [
      '/spec/egress/0/to/0/ipBlock/except/0: "10.1.2.3/16" has bits set beyond its /16 prefix, which the API server refuses; write 10.1.0.0/16',
    ]);
  });

  it('accepts canonical CIDRs, and the webhook (not strict) still accepts stored legacy forms', () => {
    for (const cidr of ['10.0.0.0/8', '10.0.0.1/32', '2001:db8::/32', '2001:DB8::/32', '0.0.0.0/0', '::/0']) {
      assert.deepEqual(strictErrors(withCidr(cidr)), [], cidr);
    }
    for (const cidr of ['10.0.0.1/8', '::ffff:10.0.0.0/104']) assert.ok(checkNetworkPolicyShape(withCidr(cidr)).ok, cidr);
  });
});
