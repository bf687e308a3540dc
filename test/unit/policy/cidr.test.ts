import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type Cidr, cidrRange, formatAddress, type IpFamily, parseCidr, parseIPv4, parseIPv6, unionCoversAll } from '../../../src/policy/cidr.js';

const RUNS = { numRuns: 300 };

function mustParse(text: string): Cidr {
  const parsed = parseCidr(text);
  if (!parsed.ok) assert.fail(`${text}: ${parsed.error}`);
  return parsed.cidr;
}

// ---- text renderers, written independently of the parser ----

function v4Text(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
}

function v6Groups(value: bigint): number[] {
  return Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
}

/** The eight groups written in full, with optional zero padding and upper case. */
function v6Full(value: bigint, pad: boolean, upper: boolean): string {
  const text = v6Groups(value)
    .map((g) => (pad ? g.toString(16).padStart(4, '0') : g.toString(16)))
    .join(':');
  return upper ? text.toUpperCase() : text;
}

/** RFC 5952 style (the longest run of two or more zero groups becomes `::`). */
function v6Compressed(value: bigint): string {
  return formatAddress(6, value);
}

/** The first six groups in hex and the last 32 bits as dotted IPv4. */
function v6DottedTail(value: bigint): string {
  const head = v6Groups(value)
    .slice(0, 6)
    .map((g) => g.toString(16))
    .join(':');
  return `${head}:${v4Text(Number(value & 0xffffffffn))}`;
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u128 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });

describe('parseCidr examples', () => {
  const good: [string, IpFamily, string, number][] = [
    ['10.20.0.0/16', 4, '10.20.0.0', 16],
    ['10.20.30.40/16', 4, '10.20.0.0', 16],
    ['0.0.0.0/0', 4, '0.0.0.0', 0],
    ['255.255.255.255/32', 4, '255.255.255.255', 32],
    ['::ffff:10.0.0.0/104', 4, '10.0.0.0', 8],
    ['::ffff:0.0.0.0/96', 4, '0.0.0.0', 0],
  ];
  for (const [text, family, network, prefix] of good) {
    it(`parses ${text}`, () => {
      const cidr = mustParse(text);
      assert.equal(cidr.family, family);
      assert.equal(cidr.prefix, prefix);
      assert.equal(v4Text(Number(cidr.network)), network);
      assert.equal(cidr.mapped, text.startsWith('::ffff:'));
    });
  }

  it('parses IPv6 and clears host bits', () => {
    const cidr = mustParse('2001:db8:1:2::1/48');
    assert.deepEqual(cidr, { family: 6, network: 0x20010db80001n << 80n, prefix: 48, mapped: false, hostBits: true });
    assert.deepEqual(mustParse('::/0'), { family: 6, network: 0n, prefix: 0, mapped: false, hostBits: false });
    assert.equal(mustParse('::ffff:0:0/95').family, 6, 'below /96 the mapped range is just IPv6');
  });

  const bad: [string, RegExp][] = [
    ['10.0.0.0', /not in CIDR notation/],
    ['10.0.0.0/8/8', /not in CIDR notation/],
    ['10.0.0.0/', /invalid prefix length/],
    ['10.0.0.0/-1', /invalid prefix length/],
    ['10.0.0.0/1000', /invalid prefix length/],
    ['10.0.0.0/33', /longer than 32/],
    ['::/129', /longer than 128/],
    ['10.0.0.256/8', /invalid IPv4/],
    ['010.0.0.0/8', /invalid IPv4/],
    ['10.0.0/8', /invalid IPv4/],
    ['1::2::3/64', /invalid IPv6/],
    ['fe80::1%eth0/64', /invalid IPv6/],
    ['12345::/16', /invalid IPv6/],
    [' 10.0.0.0/8', /invalid IPv4/],
  ];
  for (const [text, error] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      const parsed = parseCidr(text);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) {
        assert.match(parsed.error, error);
        assert.ok(parsed.error.includes(text), 'the error quotes the input');
      }
    });
  }
});

describe('address parsing properties', () => {
  it('every IPv4 address round-trips through its dotted text', () => {
    fc.assert(
      fc.property(u32, (value) => {
        const text = v4Text(value);
        assert.equal(isIPv4(text), true);
        assert.equal(parseIPv4(text), BigInt(value));
      }),
      RUNS,
    );
  });

  it('every IPv6 address round-trips through full, padded, compressed and dotted-tail text', () => {
    fc.assert(
      fc.property(u128, fc.boolean(), fc.boolean(), (value, pad, upper) => {
        for (const text of [v6Full(value, pad, upper), v6Compressed(value), v6DottedTail(value)]) {
          assert.equal(isIPv6(text), true, text);
          assert.equal(parseIPv6(text), value, text);
        }
      }),
      RUNS,
    );
  });

  it('zero-heavy IPv6 addresses (long :: runs) round-trip', () => {
    const sparse = fc
      .array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
      .map((groups) => groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n));
    fc.assert(
      fc.property(sparse, (value) => {
        const text = v6Compressed(value);
        assert.equal(isIPv6(text), true, text);
        assert.equal(parseIPv6(text), value, text);
      }),
      RUNS,
    );
  });

  /** Valid text with one random edit: deletions, insertions and swaps near the valid set. */
  function mutated(valid: fc.Arbitrary<string>, alphabet: string): fc.Arbitrary<string> {
    const char = fc.constantFrom(...alphabet.split(''));
    return fc.tuple(valid, fc.nat(), fc.integer({ min: 0, max: 3 }), char).map(([text, at, op, c]) => {
      const i = text.length === 0 ? 0 : at % text.length;
      switch (op) {
        case 0:
          return text.slice(0, i) + text.slice(i + 1);
        case 1:
          return text.slice(0, i) + c + text.slice(i);
        case 2:
          return text.slice(0, i) + c + text.slice(i + 1);
        default:
          return text;
      }
    });
  }

  it('accepts exactly the IPv4 texts node:net accepts', () => {
    const alphabet = '0123456789.';
    const candidates = fc.oneof(mutated(u32.map(v4Text), alphabet), fc.string({ unit: fc.constantFrom(...alphabet.split('')), maxLength: 16 }));
    fc.assert(
      fc.property(candidates, (text) => {
        assert.equal(parseIPv4(text) !== undefined, isIPv4(text), JSON.stringify(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts exactly the IPv6 texts node:net accepts (zone ids aside)', () => {
    const alphabet = '0123456789abcdefABCDEF:.';
    const valid = fc.oneof(
      u128.map(v6Compressed),
      u128.map((v) => v6Full(v, false, false)),
      u128.map(v6DottedTail),
      fc.bigInt({ min: 0n, max: 0xffffffffn }).map((v) => v6Compressed(0xffff00000000n | v)),
    );
    const candidates = fc.oneof(mutated(valid, alphabet), mutated(mutated(valid, alphabet), alphabet), fc.string({ unit: fc.constantFrom(...alphabet.split('')), maxLength: 12 }));
    fc.assert(
      fc.property(candidates, (text) => {
        assert.equal(parseIPv6(text) !== undefined, isIPv6(text), JSON.stringify(text));
      }),
      { numRuns: 3000 },
    );
  });

  it('masks host bits: the network is the address with the low bits cleared', () => {
    fc.assert(
      fc.property(u32, fc.integer({ min: 0, max: 32 }), (value, prefix) => {
        const cidr = mustParse(`${v4Text(value)}/${prefix}`);
        const host = BigInt(32 - prefix);
        assert.equal(cidr.network, (BigInt(value) >> host) << host);
        const [start, end] = cidrRange(cidr);
        assert.ok(start <= BigInt(value) && BigInt(value) <= end);
        assert.equal(end - start + 1n, 1n << host);
      }),
      RUNS,
    );
    fc.assert(
      fc.property(u128, fc.integer({ min: 0, max: 128 }), (value, prefix) => {
        const cidr = mustParse(`${v6Compressed(value)}/${prefix}`);
        if (cidr.family === 4) {
          // The IPv4-mapped range comes back as IPv4 with the prefix shifted by 96.
          assert.equal(cidr.prefix, prefix - 96);
          assert.equal(cidr.network, ((value & 0xffffffffn) >> BigInt(128 - prefix)) << BigInt(128 - prefix));
          return;
        }
        const host = BigInt(128 - prefix);
        assert.equal(cidr.network, (value >> host) << host);
        const [start, end] = cidrRange(cidr);
        assert.ok(start <= value && value <= end);
      }),
      RUNS,
    );
  });
});

/**
 * A random tiling of the top 8 bits: split the space in halves recursively, up to /8. Its pieces
 * cover everything; dropping one leaves a hole. Plain random CIDRs almost never cover the whole
 * space, so without tilings the brute-force comparison would only ever see "no".
 */
type Tree = null | [Tree, Tree];
const tree: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof({ maxDepth: 8, depthIdentifier: 'tiling' }, fc.constant(null), fc.tuple(tie('tree'), tie('tree'))),
})).tree;

/** Leaves of a tiling as [top-8-bits network, prefix] pairs. */
function leaves(t: Tree, network = 0, prefix = 0): [number, number][] {
  if (t === null || prefix === 8) return [[network, prefix]];
  const half = 1 << (7 - prefix);
  return [...leaves(t[0], network, prefix + 1), ...leaves(t[1], network + half, prefix + 1)];
}

const randomBlock = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 8 })).map(([top, prefix]): [number, number] => [
  prefix === 0 ? 0 : (top >> (8 - prefix)) << (8 - prefix),
  prefix,
]);

/** A mix of tilings (some with a piece removed), random blocks and duplicates. */
const blockSets = fc.oneof(
  fc.array(randomBlock, { minLength: 0, maxLength: 8 }),
  fc.tuple(tree, fc.option(fc.nat()), fc.array(randomBlock, { maxLength: 3 })).map(([t, drop, extra]) => {
    const pieces = leaves(t);
    if (drop !== null) pieces.splice(drop % pieces.length, 1);
    return [...pieces, ...extra];
  }),
);

/** Is every one of the 256 top-8-bit blocks inside some block of the set? */
function bruteForceCovers(blocks: [number, number][]): boolean {
  for (let top = 0; top < 256; top += 1) {
    const inside = blocks.some(([network, prefix]) => prefix === 0 || top >> (8 - prefix) === network >> (8 - prefix));
    if (!inside) return false;
  }
  return true;
}

describe('unionCoversAll agrees with brute force', () => {
  it('IPv4, written plainly or IPv4-mapped', () => {
    fc.assert(
      fc.property(blockSets, fc.array(fc.boolean(), { minLength: 300, maxLength: 300 }), (blocks, mappedForm) => {
        const cidrs = blocks.map(([top, prefix], i) =>
          mustParse(mappedForm[i] ? `::ffff:${top}.0.0.0/${96 + prefix}` : `${top}.0.0.0/${prefix}`),
        );
        assert.equal(unionCoversAll(cidrs, 4), bruteForceCovers(blocks), JSON.stringify(blocks));
        assert.equal(unionCoversAll(cidrs, 6), false, 'IPv4 blocks never cover IPv6');
      }),
      { numRuns: 500 },
    );
  });

  it('IPv6, on the top 8 bits', () => {
    fc.assert(
      fc.property(blockSets, (blocks) => {
        const cidrs = blocks.map(([top, prefix]) => mustParse(`${(top << 8).toString(16)}::/${prefix}`));
        assert.equal(unionCoversAll(cidrs, 6), bruteForceCovers(blocks), JSON.stringify(blocks));
      }),
      { numRuns: 500 },
    );
  });

  /**
   * The complement of one address, as the sibling blocks along its path from the root: /1 … /bits.
   * Those never cover the family (the one address is missing); adding the address itself does.
   * This finds gaps of a single address, far below what the /8 brute force can see.
   */
  function complementOf(address: bigint, bits: number): { network: bigint; prefix: number }[] {
    const siblings: { network: bigint; prefix: number }[] = [];
    for (let prefix = 1; prefix <= bits; prefix += 1) {
      const host = BigInt(bits - prefix);
      const network = (address >> host) << host;
      siblings.push({ network: network ^ (1n << host), prefix });
    }
    return siblings;
  }

  it('notices a single missing address, in IPv4 and IPv6', () => {
    const toText = (family: IpFamily, network: bigint, prefix: number): string =>
      family === 4 ? `${v4Text(Number(network))}/${prefix}` : `${v6Compressed(network)}/${prefix}`;
    fc.assert(
      fc.property(fc.constantFrom<IpFamily>(4, 6), u128, fc.boolean(), (family, random, reversed) => {
        const bits = family === 4 ? 32 : 128;
        const address = family === 4 ? random & 0xffffffffn : random;
        if (family === 6 && address >> 32n === 0xffffn) return; // the IPv4-mapped range parses as IPv4
        const pieces = complementOf(address, bits).map((b) => mustParse(toText(family, b.network, b.prefix)));
        if (family === 6 && pieces.some((p) => p.family !== 6)) return;
        if (reversed) pieces.reverse();
        assert.equal(unionCoversAll(pieces, family), false, `${toText(family, address, bits)} is missing`);
        assert.equal(unionCoversAll([...pieces, mustParse(toText(family, address, bits))], family), true);
      }),
      RUNS,
    );
  });

  it('the generator does produce covering sets (the property is not vacuous)', () => {
    const samples = fc.sample(blockSets, { numRuns: 400, seed: 42 });
    const covering = samples.filter(bruteForceCovers).length;
    assert.ok(covering > 20 && covering < 380, `${covering} of 400 samples cover`);
  });

  it('handles the empty set and long-prefix fragments', () => {
    assert.equal(unionCoversAll([], 4), false);
    const quarters = ['0.0.0.0/2', '64.0.0.0/2', '128.0.0.0/2', '192.0.0.0/3', '224.0.0.0/4', '240.0.0.0/5', '248.0.0.0/6', '252.0.0.0/7', '254.0.0.0/8', '255.0.0.0/9', '255.128.0.0/9'];
    assert.equal(unionCoversAll(quarters.map(mustParse), 4), true);
    assert.equal(unionCoversAll([...quarters.slice(0, -1), '255.128.0.0/10'].map(mustParse), 4), false);
    assert.equal(unionCoversAll(['255.255.255.255/32', '0.0.0.0/1', '128.0.0.0/2', '192.0.0.0/2'].map(mustParse), 4), true);
  });
});

describe('formatAddress', () => {
  it('writes canonical text (RFC 5952 for IPv6)', () => {
    assert.equal(formatAddress(4, parseIPv4('10.20.0.7')!), '10.20.0.7');
    assert.equal(formatAddress(6, 0n), '::');
    assert.equal(formatAddress(6, 1n), '::1');
    assert.equal(formatAddress(6, parseIPv6('2001:DB8:0:0:1:0:0:1')!), '2001:db8::1:0:0:1');
    assert.equal(formatAddress(6, parseIPv6('2001:db8:0:1:1:1:1:1')!), '2001:db8:0:1:1:1:1:1');
    assert.equal(formatAddress(6, parseIPv6('fd00:ec2::254')!), 'fd00:ec2::254');
  });

  it('round-trips through the parser and agrees with node:net on every address (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.nat({ max: 7 }), (value, zeroes) => {
        // Zero out a run of groups so compression is exercised often.
        const masked = value & ~(((1n << BigInt(16 * zeroes)) - 1n) << 32n);
        const text = formatAddress(6, masked);
        assert.ok(isIPv6(text), text);
        assert.equal(parseIPv6(text), masked);
        assert.equal(text, text.toLowerCase());
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => {
        const text = formatAddress(4, BigInt(n));
        assert.ok(isIPv4(text), text);
        assert.equal(parseIPv4(text), BigInt(n));
      }),
    );
  });
});
