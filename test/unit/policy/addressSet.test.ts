import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type AddressRange, admittedRanges, blockSize, formatCount, mergeRanges, rangesOverlap, rangesSize } from '../../../src/policy/addressSet.js';
import { type Cidr, parseCidr } from '../../../src/policy/cidr.js';

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (!parsed.ok) assert.fail(parsed.error);
  return parsed.cidr;
}

describe('mergeRanges', () => {
  it('joins overlapping and adjacent ranges, keeps gaps, sorts, and leaves its input alone', () => {
    const input: AddressRange[] = [[10n, 20n], [0n, 4n], [5n, 5n], [15n, 30n], [32n, 40n]];
    const copy = input.map((r) => [...r]);
    assert.deepEqual(mergeRanges(input), [[0n, 5n], [10n, 30n], [32n, 40n]]);
    assert.deepEqual(input, copy);
    assert.deepEqual(mergeRanges([]), []);
  });

  it('counts every address exactly once, as a brute-force set does (property)', () => {
    const range = fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 20 })).map(([s, w]): AddressRange => [BigInt(s), BigInt(s + w)]);
    fc.assert(
      fc.property(fc.array(range, { maxLength: 30 }), (ranges) => {
        const seen = new Set<bigint>();
        for (const [s, e] of ranges) for (let a = s; a <= e; a++) seen.add(a);
        const merged = mergeRanges(ranges);
        assert.equal(rangesSize(merged), BigInt(seen.size));
        for (let i = 1; i < merged.length; i++) assert.ok(merged[i]![0] > merged[i - 1]![1] + 1n, 'disjoint and not adjacent');
      }),
      { numRuns: 300 },
    );
  });
});

describe('admittedRanges', () => {
  it('is the cidr minus its excepts', () => {
    assert.deepEqual(admittedRanges(cidr('10.0.0.0/24'), []), [[0x0a000000n, 0x0a0000ffn]]);
    assert.deepEqual(admittedRanges(cidr('10.0.0.0/24'), [cidr('10.0.0.0/25')]), [[0x0a000080n, 0x0a0000ffn]]);
    assert.deepEqual(admittedRanges(cidr('10.0.0.0/24'), [cidr('10.0.0.128/25')]), [[0x0a000000n, 0x0a00007fn]]);
    assert.deepEqual(admittedRanges(cidr('10.0.0.0/24'), [cidr('10.0.0.16/28'), cidr('10.0.0.0/28'), cidr('10.0.0.20/30')]), [[0x0a000020n, 0x0a0000ffn]]);
    assert.deepEqual(admittedRanges(cidr('10.0.0.0/24'), [cidr('10.0.0.1/32'), cidr('10.0.0.254/32')]), [
      [0x0a000000n, 0x0a000000n],
      [0x0a000002n, 0x0a0000fdn],
      [0x0a0000ffn, 0x0a0000ffn],
    ]);
  });

  it('admits nothing when the excepts cover the cidr, and ignores excepts of the other family', () => {
    assert.deepEqual(admittedRanges(cidr('10.0.0.0/24'), [cidr('10.0.0.0/25'), cidr('10.0.0.128/25')]), []);
    assert.equal(rangesSize(admittedRanges(cidr('10.0.0.0/24'), [cidr('2001:db8::/64')])), 256n);
  });

  it('reads IPv4-mapped IPv6 as IPv4, in the cidr and in excepts', () => {
    assert.deepEqual(admittedRanges(cidr('::ffff:10.0.0.0/120'), [cidr('10.0.0.0/25')]), admittedRanges(cidr('10.0.0.0/24'), [cidr('::ffff:10.0.0.0/121')]));
  });

  it('handles 128-bit IPv6 exactly', () => {
    assert.equal(rangesSize(admittedRanges(cidr('2001:db8::/32'), [cidr('2001:db8::/33')])), 1n << 95n);
    assert.equal(rangesSize(admittedRanges(cidr('::/0'), [])), 1n << 128n);
  });
});

describe('rangesOverlap', () => {
  const disjoint: AddressRange[] = [[0n, 9n], [20n, 29n], [40n, 49n]];
  it('finds a shared address at either edge and none in a gap', () => {
    for (const hit of [[9n, 9n], [19n, 20n], [29n, 35n], [0n, 100n], [45n, 45n]] as AddressRange[]) assert.equal(rangesOverlap(disjoint, hit), true, String(hit));
    for (const miss of [[10n, 19n], [30n, 39n], [50n, 60n]] as AddressRange[]) assert.equal(rangesOverlap(disjoint, miss), false, String(miss));
    assert.equal(rangesOverlap([], [0n, 1n]), false);
  });
});

describe('blockSize and formatCount', () => {
  it('sizes blocks per family and prints counts in full with separators', () => {
    assert.equal(blockSize(4, 16), 65536n);
    assert.equal(blockSize(6, 48), 1n << 80n);
    assert.equal(formatCount(16777216n), '16,777,216');
    assert.equal(formatCount(999), '999');
    assert.equal(formatCount(1000), '1,000');
    assert.equal(formatCount(0n), '0');
  });
});
