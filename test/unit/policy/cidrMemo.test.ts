/**
 * parseCidr remembers successful parses (admission parses each ipBlock more than once per request).
 * The memory must be invisible: same answers, no shared state a caller can corrupt, bounded.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCidr } from '../../../src/policy/cidr.js';

describe('parseCidr memory', () => {
  it('answers a repeated text exactly as the first time', () => {
    for (const text of ['10.1.2.0/24', '2001:db8::/48', '::ffff:10.0.0.0/104', '0.0.0.0/0']) {
      const first = parseCidr(text);
      const again = parseCidr(`${text.slice(0, 1)}${text.slice(1)}`);
      assert.deepEqual(again, first, text);
    }
  });

  it('hands out results that cannot be altered', () => {
    const parsed = parseCidr('10.9.8.0/24');
    assert.ok(parsed.ok);
    assert.throws(() => {
      (parsed.cidr as { prefix: number }).prefix = 0;
    }, TypeError);
    assert.throws(() => {
      (parsed as { ok: boolean }).ok = false;
    }, TypeError);
    assert.deepEqual(parseCidr('10.9.8.0/24'), { ok: true, cidr: { family: 4, network: 0x0a090800n, prefix: 24, mapped: false, hostBits: false } });
  });

  it('keeps giving errors for bad texts, and right answers after far more texts than it keeps', () => {
    assert.equal(parseCidr('10.0.0.0/33').ok, false);
    assert.equal(parseCidr('10.0.0.0/33').ok, false);
    const value = (i: number): bigint => BigInt(((10 << 24) | (i << 8)) >>> 0);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 10_000; i++) {
        const parsed = parseCidr(`10.${i >> 8}.${i & 0xff}.0/24`);
        assert.ok(parsed.ok);
        assert.equal(parsed.cidr.network, value(i));
      }
    }
  });
});
