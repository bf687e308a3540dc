import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { annotationKeys } from '../../../src/lifecycle/annotations.js';
import { summarizeAccess } from '../../../src/operator/describe.js';
import { formatGrantJson, formatGrantTable, grantRow, renderColumns, sortGrantRows } from '../../../src/operator/listTable.js';
import { formatExpiresIn, formatSpan } from '../../../src/operator/relative.js';
import { toModel, toWire } from '../../../src/operator/wire.js';

const NOW = new Date('2026-03-01T02:14:00Z');
const KEYS = annotationKeys();

/** Wire-format objects (`from`), which client-node's types spell `_from`. */
function grant(name: string, annotations: Record<string, string>, spec: Record<string, unknown>, namespace = 'payments'): V1NetworkPolicy {
  return {
    metadata: { name, namespace, labels: { 'netpol-guard.io/temporary': 'true' }, annotations },
    spec: spec as V1NetworkPolicy['spec'],
  };
}

const DB = grant(
  'grant-inc-1234-ab12c',
  {
    'netpol-guard.io/ticket': 'INC-1234',
    'netpol-guard.io/requested-by': 'alice',
    'netpol-guard.io/granted-at': '2026-03-01T02:00:00Z',
    'netpol-guard.io/ttl': '2h',
    'netpol-guard.io/expires-at': '2026-03-01T04:00:00Z',
  },
  {
    podSelector: { matchLabels: { app: 'database' } },
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
  },
);
const EXPIRED = grant(
  'grant-inc-9-old',
  { 'netpol-guard.io/ticket': 'INC-9', 'netpol-guard.io/requested-by': 'bob', 'netpol-guard.io/expires-at': '2026-03-01T02:11:00Z' },
  {
    podSelector: { matchLabels: { app: 'api' } },
    policyTypes: ['Egress'],
    egress: [{ to: [{ podSelector: { matchLabels: { app: 'cache' } }, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'infra' } } }], ports: [{ protocol: 'TCP', port: 6379 }, { protocol: 'UDP', port: 8000, endPort: 8010 }] }],
  },
  'shop',
);
const UNSTAMPED = grant('grant-chg-5', { 'netpol-guard.io/ticket': 'CHG-5', 'netpol-guard.io/ttl': '30m' }, {
  podSelector: { matchLabels: { app: 'web' } },
  ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'qa' } } }], ports: [{ port: 'http' }] }],
});

describe('relative times', () => {
  it('rounds away seconds past an hour and keeps them below', () => {
    assert.equal(formatSpan(2 * 3_600_000 - 3_000), '2h');
    assert.equal(formatSpan(3_600_000 + 5 * 60_000 + 20_000), '1h5m');
    assert.equal(formatSpan(4 * 60_000 + 30_000), '4m30s');
    assert.equal(formatSpan(3_600_000 - 600), '1h');
    assert.equal(formatSpan(12 * 60_000 + 31_000), '13m');
    assert.equal(formatSpan(42_400), '42s');
    assert.equal(formatSpan(26 * 3_600_000), '1d2h');
  });

  it('says "in …" before the expiry and "EXPIRED … ago" from it on', () => {
    assert.equal(formatExpiresIn(new Date(NOW.getTime() + 2 * 3_600_000), NOW), 'in 2h');
    assert.equal(formatExpiresIn(new Date(NOW.getTime() + 200), NOW), 'in 1s');
    assert.equal(formatExpiresIn(NOW, NOW), 'EXPIRED just now');
    assert.equal(formatExpiresIn(new Date(NOW.getTime() - 3 * 60_000), NOW), 'EXPIRED 3m ago');
  });
});

describe('summarizeAccess', () => {
  it('says direction, pods, peers and ports in one line', () => {
    assert.equal(summarizeAccess(DB), 'ingress to app=database from 198.51.100.0/24 on 5432/TCP');
    assert.equal(summarizeAccess(EXPIRED), 'egress from app=api to pods app=cache in ns infra on 6379/TCP, 8000-8010/UDP');
    assert.equal(summarizeAccess(UNSTAMPED), 'ingress to app=web from all pods in ns team=qa on http/TCP');
  });

  it('reads client-node objects (_from) the same as wire objects', () => {
    assert.equal(summarizeAccess(toModel(DB)), summarizeAccess(DB));
    assert.deepEqual(toWire(toModel(DB)), JSON.parse(JSON.stringify(DB)));
  });

  it('spells out what is wide open', () => {
    const open = grant('x', {}, {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{}],
      egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }, { namespaceSelector: {} }] }],
    });
    assert.equal(summarizeAccess(open), 'ingress to all pods from anywhere on all ports; egress from all pods to 10.0.0.0/8 except 10.1.0.0/16, all pods in all namespaces on all ports');
    assert.equal(summarizeAccess(grant('deny', {}, { podSelector: { matchLabels: { a: 'b' } }, policyTypes: ['Egress'] })), 'egress denied for a=b');
  });
});

describe('list table', () => {
  const rows = sortGrantRows([UNSTAMPED, DB, EXPIRED].map((p) => grantRow(p, KEYS)));

  it('sorts by expiry, expired first, unstamped last', () => {
    assert.deepEqual(rows.map((r) => r.name), ['grant-inc-9-old', 'grant-inc-1234-ab12c', 'grant-chg-5']);
    assert.deepEqual(rows.map((r) => r.expiry.kind), ['at', 'at', 'ttl-only']);
  });

  it('formats kubectl-style columns and flags expired grants', () => {
    assert.equal(
      formatGrantTable(rows, NOW, { wide: false }),
      [
        'NAMESPACE  NAME                  TICKET    REQUESTED-BY  EXPIRES                 ACCESS',
        'shop       grant-inc-9-old       INC-9     bob           EXPIRED 3m ago          egress from app=api to pods app=cache in ns infra on 6379/TCP, 8000-8010/UDP',
        'payments   grant-inc-1234-ab12c  INC-1234  alice         in 1h46m                ingress to app=database from 198.51.100.0/24 on 5432/TCP',
        'payments   grant-chg-5           CHG-5     <none>        ttl 30m, never stamped  ingress to app=web from all pods in ns team=qa on http/TCP',
        '',
      ].join('\n'),
    );
  });

  it('adds absolute times in wide output and clips long access only in the narrow one', () => {
    const wide = formatGrantTable(rows, NOW, { wide: true }).split('\n');
    assert.match(wide[0]!, /^NAMESPACE +NAME +TICKET +REQUESTED-BY +EXPIRES +EXPIRES-AT +GRANTED-AT +ACCESS$/);
    assert.match(wide[2]!, /in 1h46m +2026-03-01T04:00:00Z +2026-03-01T02:00:00Z +ingress to app=database/);
    const narrow = formatGrantTable(rows, NOW, { wide: false, maxAccessWidth: 20 }).split('\n');
    assert.match(narrow[1]!, / egress from app=api…$/);
    assert.match(formatGrantTable(rows, NOW, { wide: true }), /6379\/TCP, 8000-8010\/UDP/);
  });

  it('renders JSON with seconds left and an expired flag', () => {
    const json = JSON.parse(formatGrantJson(rows, NOW)) as { now: string; grants: Array<Record<string, unknown>> };
    assert.equal(json.now, '2026-03-01T02:14:00Z');
    assert.deepEqual(json.grants[0], {
      namespace: 'shop',
      name: 'grant-inc-9-old',
      ticket: 'INC-9',
      ticketUrl: null,
      requestedBy: 'bob',
      grantedAt: null,
      expiresAt: '2026-03-01T02:11:00Z',
      expiresInSeconds: -180,
      expired: true,
      expires: 'EXPIRED 3m ago',
      directions: ['egress'],
      access: 'egress from app=api to pods app=cache in ns infra on 6379/TCP, 8000-8010/UDP',
    });
    assert.equal(json.grants[2]!.expiresAt, null);
    assert.equal(json.grants[2]!.expired, false);
  });

  it('shows a garbled expires-at as invalid rather than hiding it', () => {
    const bad = grantRow(grant('bad', { 'netpol-guard.io/expires-at': 'tomorrow' }, { podSelector: {} }), KEYS);
    assert.deepEqual(bad.expiry, { kind: 'invalid', raw: 'tomorrow' });
    assert.match(formatGrantTable([bad], NOW, { wide: true }), /invalid expires-at +tomorrow/);
  });

  it('pads by characters and leaves no trailing blanks', () => {
    assert.equal(renderColumns([['A', 'B', 'C'], ['ünï', '', 'x']]), 'A    B  C\nünï     x\n');
  });
});
