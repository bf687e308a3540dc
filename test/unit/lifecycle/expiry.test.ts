import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { annotationKeys, readGrantAnnotations, stringMap } from '../../../src/lifecycle/annotations.js';
import { addMs, resolveExpiry } from '../../../src/lifecycle/expiry.js';

const KEYS = annotationKeys();
const NOW = new Date('2026-11-23T18:00:00.750Z');

function grant(annotations: Record<string, unknown>, labels: Record<string, unknown> = {}) {
  return readGrantAnnotations({ metadata: { annotations: annotations as Record<string, string>, labels: labels as Record<string, string> } }, KEYS);
}

describe('annotationKeys', () => {
  it('derives every key from the prefix', () => {
    assert.deepEqual(annotationKeys('guard.example.com'), {
      ttl: 'guard.example.com/ttl',
      expiresAt: 'guard.example.com/expires-at',
      ticket: 'guard.example.com/ticket',
      ticketUrl: 'guard.example.com/ticket-url',
      requestedBy: 'guard.example.com/requested-by',
      grantedAt: 'guard.example.com/granted-at',
      changedBy: 'guard.example.com/changed-by',
      changedAt: 'guard.example.com/changed-at',
      revokedBy: 'guard.example.com/revoked-by',
      revokedAt: 'guard.example.com/revoked-at',
      breakGlassBy: 'guard.example.com/break-glass-by',
      breakGlassAt: 'guard.example.com/break-glass-at',
      grantRequest: 'guard.example.com/grant-request',
      approvedBy: 'guard.example.com/approved-by',
      temporaryLabel: 'guard.example.com/temporary',
    });
    assert.equal(KEYS.ttl, 'netpol-guard.io/ttl');
  });
});

describe('readGrantAnnotations', () => {
  it('parses each field and keeps the raw text', () => {
    const g = grant(
      { [KEYS.ttl]: '2h', [KEYS.expiresAt]: 'nope', [KEYS.ticket]: 'INC-1', [KEYS.requestedBy]: 'dev', [KEYS.grantedAt]: '2026-11-23T17:00:00Z' },
      { [KEYS.temporaryLabel]: 'true' },
    );
    assert.deepEqual(g.ttl, { state: 'valid', raw: '2h', value: 7_200_000 });
    assert.equal(g.expiresAt.state, 'invalid');
    assert.equal(g.grantedAt.state === 'valid' && g.grantedAt.value.toISOString(), '2026-11-23T17:00:00.000Z');
    assert.equal(g.ticket, 'INC-1');
    assert.equal(g.requestedBy, 'dev');
    assert.equal(g.temporaryLabel, 'true');
  });

  it('treats non-string values as absent instead of crashing', () => {
    const g = grant({ [KEYS.ttl]: 2, [KEYS.ticket]: null, [KEYS.expiresAt]: { at: 'x' } });
    assert.deepEqual([g.ttl.state, g.expiresAt.state, g.ticket], ['absent', 'absent', undefined]);
    assert.deepEqual(readGrantAnnotations(undefined, KEYS).ttl, { state: 'absent' });
    assert.deepEqual(stringMap(['a']), {});
    assert.deepEqual(stringMap('x'), {});
  });
});

describe('resolveExpiry', () => {
  it('counts a ttl from now, truncated to whole seconds', () => {
    assert.deepEqual(resolveExpiry(grant({ [KEYS.ttl]: '1h' }), undefined, NOW), {
      kind: 'ttl',
      at: new Date('2026-11-23T19:00:00Z'),
      ttlMs: 3_600_000,
    });
    assert.equal(addMs(NOW, 0).toISOString(), '2026-11-23T18:00:00.000Z');
  });

  it('lets expires-at win over a ttl', () => {
    const e = resolveExpiry(grant({ [KEYS.ttl]: '1h', [KEYS.expiresAt]: '2026-11-23T18:30:00Z' }), undefined, NOW);
    assert.deepEqual(e, { kind: 'expires-at', at: new Date('2026-11-23T18:30:00Z') });
  });

  it('reports an invalid expires-at before looking at the ttl, and an invalid ttl when alone', () => {
    assert.deepEqual(resolveExpiry(grant({ [KEYS.ttl]: '1h', [KEYS.expiresAt]: 'soon' }), undefined, NOW), {
      kind: 'invalid',
      field: 'expires-at',
      raw: 'soon',
      error: '"soon" is not an RFC 3339 timestamp like 2026-11-23T18:00:00Z',
    });
    const ttl = resolveExpiry(grant({ [KEYS.ttl]: '1.5h' }), undefined, NOW);
    assert.equal(ttl.kind === 'invalid' && ttl.field, 'ttl');
  });

  it('applies the default TTL only when neither annotation is written', () => {
    assert.deepEqual(resolveExpiry(grant({}), 1_800_000, NOW), { kind: 'default-ttl', at: new Date('2026-11-23T18:30:00Z'), ttlMs: 1_800_000 });
    assert.equal(resolveExpiry(grant({ [KEYS.ttl]: '2h' }), 1_800_000, NOW).kind, 'ttl');
    assert.equal(resolveExpiry(grant({ [KEYS.ttl]: 'bad' }), 1_800_000, NOW).kind, 'invalid');
    assert.deepEqual(resolveExpiry(grant({}), undefined, NOW), { kind: 'none' });
  });
});
