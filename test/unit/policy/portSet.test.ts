import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { mergePortSpans, PortSet, type PortSpan, portSpansSize } from '../../../src/policy/portSet.js';

describe('port sets', () => {
  it('merges overlapping and adjacent spans', () => {
    assert.deepEqual(mergePortSpans([[80, 80], [81, 90], [100, 200], [150, 160], [5, 5]]), [[5, 5], [80, 90], [100, 200]]);
  });

  it('counts each numbered port once and each distinct name once', () => {
    const set = new PortSet();
    set.addSpan(1, 100);
    set.addSpan(50, 150);
    set.addSpan(443, 443);
    set.addName('http');
    set.addName('http');
    set.addName('metrics');
    assert.equal(set.total(), 150 + 1 + 2);
    assert.equal(set.entries, 6);
  });

  it('agrees with a brute-force count (property)', () => {
    const span = fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 300 })).map(([p, w]): PortSpan => [p, Math.min(65535, p + w)]);
    fc.assert(
      fc.property(fc.array(span, { maxLength: 40 }), (spans) => {
        const seen = new Set<number>();
        for (const [a, b] of spans) for (let p = a; p <= b; p++) seen.add(p);
        assert.equal(portSpansSize(mergePortSpans(spans)), seen.size);
      }),
      { numRuns: 300 },
    );
  });
});
