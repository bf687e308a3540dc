/**
 * The admission hot paths compute some results without the general library calls (Date.parse,
 * toISOString, a copied string map, a sort). Each must give exactly what the general path gives,
 * so these tests compare against it over wide generated inputs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import fc from 'fast-check';
import { annotationKeys, readGrantAnnotations, readGrantedAt, stringMap } from '../../../src/lifecycle/annotations.js';
import { parseDuration } from '../../../src/lifecycle/duration.js';
import { escapePointerSegment, mapPatch } from '../../../src/lifecycle/patch.js';
import { formatTimestamp, parseTimestamp } from '../../../src/lifecycle/timestamp.js';

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

describe('parseTimestamp gives the instant Date.parse gives', () => {
  const zone = fc.constantFrom('Z', 'z', '+00:00', '-00:00', '+01:00', '-05:30', '+23:59', '.5Z', '.123456789Z', '.000Z', '.999+02:00');
  const text = fc
    .tuple(
      fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(0, 99, 100, 1969, 1970, 2000, 2026, 9999)),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 28 }),
      fc.integer({ min: 0, max: 23 }),
      fc.integer({ min: 0, max: 59 }),
      fc.integer({ min: 0, max: 59 }),
      zone,
    )
    .map(([y, mo, d, h, mi, s, z]) => `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${z}`);

  it('for every accepted form, canonical or not', () => {
    fc.assert(
      fc.property(text, (t) => {
        const parsed = parseTimestamp(t);
        if (!parsed.ok) assert.fail(`${t}: ${parsed.error}`);
        assert.equal(parsed.date.getTime(), Date.parse(t.toUpperCase()), t);
      }),
      { numRuns: 3000 },
    );
  });

  it('for the canonical form around the year 100 boundary and on leap days', () => {
    for (const t of ['0099-12-31T23:59:59Z', '0100-01-01T00:00:00Z', '0000-02-29T12:00:00Z', '0400-02-29T00:00:00Z', '2024-02-29T23:59:59Z']) {
      const parsed = parseTimestamp(t);
      if (!parsed.ok) assert.fail(`${t}: ${parsed.error}`);
      assert.equal(parsed.date.getTime(), Date.parse(t), t);
    }
  });
});

describe('formatTimestamp matches toISOString truncated to whole seconds', () => {
  const reference = (date: Date): string => new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');

  it('over the whole range Date can represent', () => {
    const ms = fc.oneof(
      fc.integer({ min: -8.64e15, max: 8.64e15 }),
      fc.integer({ min: Date.UTC(-1, 0, 1), max: Date.UTC(10000, 11, 31) }),
      fc.integer({ min: -5_000, max: 5_000 }),
    );
    fc.assert(fc.property(ms, (t) => assert.equal(formatTimestamp(new Date(t)), reference(new Date(t)))), { numRuns: 5000 });
  });

  it('at the edges of the four-digit years', () => {
    const edges = [Date.UTC(0, 0, 1) - 1, Date.UTC(0, 0, 1) - 1000, Date.UTC(10000, 0, 1) - 1, Date.UTC(10000, 0, 1)];
    const y0 = new Date(0);
    y0.setUTCFullYear(0, 0, 1);
    edges.push(y0.getTime(), y0.getTime() - 1, y0.getTime() + 999);
    for (const t of edges) assert.equal(formatTimestamp(new Date(t)), reference(new Date(t)), String(t));
  });

  it('still throws for an invalid date, as toISOString does', () => {
    assert.throws(() => formatTimestamp(new Date(Number.NaN)), RangeError);
  });
});

describe('parseDuration', () => {
  const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  const unit = fc.constantFrom('s', 'm', 'h', 'd');

  it('sums distinct <number><unit> groups in any order', () => {
    const groups = fc.uniqueArray(fc.tuple(unit, fc.integer({ min: 0, max: 999 })), { minLength: 1, maxLength: 4, selector: ([u]) => u });
    fc.assert(
      fc.property(groups, (gs) => {
        const text = gs.map(([u, n]) => `${n}${u}`).join('');
        const total = gs.reduce((sum, [u, n]) => sum + n * UNIT_MS[u], 0);
        const parsed = parseDuration(text);
        if (total === 0) assert.deepEqual(parsed, { ok: false, error: `"${text}" is zero; a TTL must be positive` });
        else assert.deepEqual(parsed, { ok: true, ms: total });
      }),
      { numRuns: 1000 },
    );
  });

  it('names the first repeated unit', () => {
    assert.deepEqual(parseDuration('1h30m2h'), { ok: false, error: '"1h30m2h" repeats the unit "h"' });
    assert.deepEqual(parseDuration('5s1m5s1m'), { ok: false, error: '"5s1m5s1m" repeats the unit "s"' });
  });

  it('stops at the group that passes 100 years, before a later repeat', () => {
    assert.deepEqual(parseDuration('99999999999999999999d1d'), { ok: false, error: '"99999999999999999999d1d" is longer than 100 years' });
    assert.deepEqual(parseDuration('36500d'), { ok: true, ms: 36_500 * UNIT_MS.d });
    assert.equal(parseDuration('36500d1s').ok, false);
  });
});

describe('readGrantAnnotations reads single entries as stringMap sees them', () => {
  const keys = annotationKeys();
  const value = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('2h', 'INC-1', '2026-11-23T18:00:00Z', 'junk'), fc.integer(), fc.constant(null), fc.constant({ nested: 'x' }), fc.constant(['2h']));
  const annotationMap = fc.dictionary(fc.constantFrom(keys.ttl, keys.expiresAt, keys.grantedAt, keys.ticket, keys.requestedBy, 'other/key'), value, { maxKeys: 6 });

  it('for maps with values of any type', () => {
    fc.assert(
      fc.property(annotationMap, fc.dictionary(fc.constantFrom(keys.temporaryLabel, 'app'), value, { maxKeys: 2 }), (annotations, labels) => {
        const policy = { metadata: { annotations, labels } } as unknown as V1NetworkPolicy;
        const grant = readGrantAnnotations(policy, keys);
        const strings = stringMap(annotations);
        assert.equal(grant.ticket, strings[keys.ticket]);
        assert.equal(grant.requestedBy, strings[keys.requestedBy]);
        assert.equal(grant.temporaryLabel, stringMap(labels)[keys.temporaryLabel]);
        assert.equal(grant.ttl.state === 'absent', strings[keys.ttl] === undefined);
        assert.equal(grant.expiresAt.state === 'absent', strings[keys.expiresAt] === undefined);
        assert.deepEqual(readGrantedAt(policy, keys), grant.grantedAt);
      }),
      { numRuns: 500 },
    );
  });

  it('ignores inherited, non-enumerable and non-object sources', () => {
    const inherited = Object.create({ [keys.ticket]: 'INC-1' }) as Record<string, string>;
    const hidden = {};
    Object.defineProperty(hidden, keys.ticket, { value: 'INC-2', enumerable: false });
    for (const annotations of [inherited, hidden, ['INC-3'], 'INC-4', null, undefined]) {
      const policy = { metadata: { annotations } } as unknown as V1NetworkPolicy;
      assert.equal(readGrantAnnotations(policy, keys).ticket, undefined, JSON.stringify(annotations));
    }
    assert.deepEqual(readGrantedAt(undefined, keys), { state: 'absent' });
  });

  it('readGrantedAt parses the stamp, or reports it unparseable', () => {
    const stamped = (v: string): V1NetworkPolicy => ({ metadata: { annotations: { [keys.grantedAt]: v } } });
    const valid = readGrantedAt(stamped('2026-11-23T18:00:00Z'), keys);
    assert.equal(valid.state, 'valid');
    if (valid.state === 'valid') assert.equal(valid.value.getTime(), Date.UTC(2026, 10, 23, 18));
    assert.equal(readGrantedAt(stamped('yesterday'), keys).state, 'invalid');
  });
});

describe('mapPatch', () => {
  it('visits keys in sort order however the wanted map was built', () => {
    const entries = fc.uniqueArray(fc.tuple(fc.constantFrom('a/x', 'a/y', 'b', 'a~1', 'z/ttl', 'a/ticket', 'a/ticket-url'), fc.string({ maxLength: 3 })), { selector: ([k]) => k, maxLength: 7 });
    fc.assert(
      fc.property(entries, fc.dictionary(fc.constantFrom('a/x', 'b', 'other'), fc.string({ maxLength: 3 }), { maxKeys: 3 }), (wantedEntries, current) => {
        const wanted = Object.fromEntries(wantedEntries);
        const ops = mapPatch('/metadata', 'annotations', current, wanted);
        const expectedKeys = Object.keys(wanted)
          .sort()
          .filter((k) => current[k] !== wanted[k]);
        assert.deepEqual(
          ops.map((op) => op.path),
          expectedKeys.map((k) => `/metadata/annotations/${escapePointerSegment(k)}`),
        );
        for (const op of ops) assert.equal(op.op, Object.hasOwn(current, op.path.split('/').pop()!.replace(/~1/g, '/').replace(/~0/g, '~')) ? 'replace' : 'add');
        const whole = mapPatch('/metadata', 'labels', undefined, wanted);
        if (wantedEntries.length === 0) assert.deepEqual(whole, []);
        else assert.deepEqual(Object.keys((whole[0] as { value: Record<string, string> }).value), Object.keys(wanted).sort());
      }),
      { numRuns: 500 },
    );
  });

  it('removes an unwanted key only when present and not wanted, after the other operations', () => {
    const current = { 'a/by': 'forged', 'a/at': 'x', keep: 'y' };
    assert.deepEqual(mapPatch('/metadata', 'annotations', current, { 'a/at': 'now', b: 'z' }, ['a/by', 'a/at', 'a/missing']), [
      { op: 'replace', path: '/metadata/annotations/a~1at', value: 'now' },
      { op: 'add', path: '/metadata/annotations/b', value: 'z' },
      { op: 'remove', path: '/metadata/annotations/a~1by' },
    ]);
    assert.deepEqual(mapPatch('/metadata', 'annotations', undefined, {}, ['a/by']), [], 'nothing to remove from a missing map');
  });

  it('escapes a segment the same on every call', () => {
    for (let i = 0; i < 3; i++) {
      assert.equal(escapePointerSegment('a~1/b'), 'a~01~1b');
      assert.equal(escapePointerSegment('netpol-guard.io/ttl'), 'netpol-guard.io~1ttl');
    }
  });
});
