// Differential test: `check` against the real API server. Every manifest of a corpus (real-world
// null forms and edge cases, then fast-check generated ones: nulls, empty maps and lists, int and
// string ports, endPort edges, IPv6 forms, leading zeros, huge selectors) is created with
// server-side dry run (strict field validation, as kubectl does) in a namespace no webhook
// guards, and judged by `check` with the embedded default config.
//
//   API server accepts  → `check` must not call it invalid;
//   API server rejects  → `check` must call it invalid or deny it.
//
// Disagreements the test tolerates are listed in TOLERATED with the reason, and logged with counts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkSources, type PolicyResult } from '../../src/check/run.js';
import { defaultConfig } from '../../src/config/load.js';
import { startControlPlane, type ControlPlane } from './harness/controlPlane.js';

const NS = 'differential';
const GRANT = { 'netpol-guard.io/ttl': '2h', 'netpol-guard.io/ticket': 'INC-1' };
const CHECK_OPTIONS = { config: defaultConfig(), now: new Date('2026-11-23T18:00:00Z'), user: { username: 'differential', groups: [] } };

type Manifest = Record<string, unknown>;

interface Case {
  name: string;
  /** YAML (real-world forms keep their YAML nulls) or an object sent as JSON. */
  manifest: string | Manifest;
}

function policy(spec: unknown, metadata: Record<string, unknown> = {}): Manifest {
  const m: Manifest = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'diff', annotations: GRANT, ...metadata } };
  if (spec !== undefined) m['spec'] = spec;
  return m;
}

const HEAD = `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: diff\n  annotations: {netpol-guard.io/ttl: 2h, netpol-guard.io/ticket: INC-1}\n`;

const CORPUS: Case[] = [
  { name: 'deny-all recipe: podSelector {matchLabels: }', manifest: `${HEAD}spec:\n  podSelector:\n    matchLabels:\n  policyTypes: [Ingress]\n` },
  { name: 'ingress: with no value', manifest: `${HEAD}spec:\n  podSelector: {}\n  ingress:\n` },
  { name: 'labels: with no value', manifest: `${HEAD.replace('  annotations', '  labels:\n  annotations')}spec:\n  podSelector: {}\n` },
  {
    name: 'except: with no value',
    manifest: `${HEAD}spec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n    - from:\n        - ipBlock:\n            cidr: 10.0.0.0/24\n            except:\n      ports: [{port: 5432}]\n`,
  },
  { name: 'matchExpressions: with no value', manifest: `${HEAD}spec:\n  podSelector:\n    matchLabels: {app: db}\n    matchExpressions:\n` },
  { name: 'ingress: [null] (allow all)', manifest: `${HEAD}spec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n    -\n` },
  { name: 'ports: [null]', manifest: `${HEAD}spec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n    - from: [{podSelector: {matchLabels: {app: a}}}]\n      ports:\n        -\n` },
  { name: 'from: [null] (no peer type)', manifest: `${HEAD}spec:\n  podSelector: {}\n  ingress:\n    - from:\n        -\n` },
  { name: 'spec: {} (no podSelector)', manifest: policy({}) },
  { name: 'no spec', manifest: policy(undefined) },
  { name: 'spec: null', manifest: policy(null) },
  { name: 'policyTypes twice the same', manifest: policy({ podSelector: {}, policyTypes: ['Ingress', 'Ingress'] }) },
  { name: 'string port of digits', manifest: policy({ podSelector: {}, ingress: [{ ports: [{ port: '80' }] }] }) },
  { name: 'port 0', manifest: policy({ podSelector: {}, ingress: [{ ports: [{ port: 0 }] }] }) },
  { name: 'port 65536', manifest: policy({ podSelector: {}, ingress: [{ ports: [{ port: 65536 }] }] }) },
  { name: 'endPort below port', manifest: policy({ podSelector: {}, ingress: [{ ports: [{ port: 90, endPort: 80 }] }] }) },
  { name: 'endPort with a named port', manifest: policy({ podSelector: {}, ingress: [{ ports: [{ port: 'http', endPort: 80 }] }] }) },
  { name: 'endPort without port', manifest: policy({ podSelector: {}, ingress: [{ ports: [{ endPort: 80 }] }] }) },
  { name: 'endPort 65535 from 65535', manifest: policy({ podSelector: {}, ingress: [{ ports: [{ port: 65535, endPort: 65535 }] }] }) },
  { name: 'named port with consecutive hyphens', manifest: policy({ podSelector: {}, ingress: [{ ports: [{ port: 'a--b' }] }] }) },
  { name: 'protocol in lower case', manifest: policy({ podSelector: {}, ingress: [{ ports: [{ protocol: 'tcp', port: 80 }] }] }) },
  { name: 'IPv6 in upper case', manifest: policy({ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '2001:DB8::/32' } }] }] }) },
  { name: 'IPv6 written out in full', manifest: policy({ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '2001:db8:0:0:0:0:0:0/32' } }] }] }) },
  { name: 'IPv4-mapped IPv6', manifest: policy({ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '::ffff:10.0.0.0/104' } }] }] }) },
  { name: 'IPv6 with a zone', manifest: policy({ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: 'fe80::1%eth0/64' } }] }] }) },
  { name: 'IPv4 with leading zeros', manifest: policy({ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '010.0.0.0/8' } }] }] }) },
  { name: 'IPv4 with host bits set', manifest: policy({ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.1/8' } }] }] }) },
  { name: 'prefix /33', manifest: policy({ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] }) },
  { name: 'except equal to cidr', manifest: policy({ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/24', except: ['10.0.0.0/24'] } }] }] }) },
  { name: 'In without values', manifest: policy({ podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] } }) },
  { name: 'Exists with values', manifest: policy({ podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] } }) },
  { name: 'unknown operator', manifest: policy({ podSelector: { matchExpressions: [{ key: 'app', operator: 'Bogus' }] } }) },
  { name: 'label key with a space', manifest: policy({ podSelector: { matchLabels: { 'bad key': 'x' } } }) },
  { name: 'label value with a slash', manifest: policy({ podSelector: { matchLabels: { app: 'a/b' } } }) },
  { name: 'label value of 64 characters', manifest: policy({ podSelector: { matchLabels: { app: 'a'.repeat(64) } } }) },
  { name: '300 matchLabels', manifest: policy({ podSelector: { matchLabels: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`l${i}`, 'x'])) } }) },
  { name: 'unknown field in spec', manifest: policy({ podSelector: {}, podSelectors: {} }) },
  { name: 'DoesNotExist namespaceSelector', manifest: policy({ podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'no-such-label', operator: 'DoesNotExist' }] } }], ports: [{ port: 5432 }] }] }) },
];

// ---- generated manifests -------------------------------------------------------------------

const labelValue = fc.oneof(
  fc.constantFrom('db', 'api', 'a.b_c-d', '', 'x'.repeat(63)),
  fc.constantFrom('x'.repeat(64), 'a/b', '-lead', 'trail-', 'sp ace'),
);
const labelKey = fc.oneof(
  fc.constantFrom('app', 'tier', 'kubernetes.io/metadata.name', 'example.com/team', 'no-such-label'),
  fc.constantFrom('bad key', '/x', 'a/', `${'p'.repeat(254)}/n`, 'UPPER.example.com/x', 'a'.repeat(64)),
);
const maybeNull = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: fc.constant(null) });
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(maybeNull(arb), { nil: undefined, freq: 3 });

const requirement = fc.record(
  {
    key: labelKey,
    operator: fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist', 'Bogus'),
    values: optional(fc.array(maybeNull(labelValue), { maxLength: 3 })),
  },
  { requiredKeys: ['key', 'operator'] },
);
const hugeLabels = fc.integer({ min: 200, max: 300 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`l${i}`, 'v'])));
const selector = fc.oneof(
  fc.record({ matchLabels: optional(fc.oneof(fc.dictionary(labelKey, maybeNull(labelValue), { maxKeys: 3 }), hugeLabels)), matchExpressions: optional(fc.array(maybeNull(requirement), { maxLength: 3 })) }, { requiredKeys: [] }),
  fc.constant({}),
);

const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.oneof(
  fc.tuple(octet, octet, octet, octet).map((o) => o.join('.')),
  fc.tuple(octet, octet).map(([a, b]) => `0${a}.${b}.0.0`), // leading zero
);
const hextet = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
const ipv6 = fc.oneof(
  fc.array(hextet, { minLength: 8, maxLength: 8 }).map((g) => g.join(':')),
  fc.tuple(hextet, hextet).map(([a, b]) => `${a}:${b}::`),
  fc.tuple(hextet).map(([a]) => `2001:DB8:${a.toUpperCase()}::`),
  fc.tuple(octet, octet).map(([a, b]) => `::ffff:${a}.${b}.0.0`),
  fc.constantFrom('::', '::1', 'fe80::1%eth0', 'fd00:ec2::254'),
);
const cidr = fc.oneof(
  fc.tuple(ipv4, fc.integer({ min: 0, max: 33 })).map(([a, p]) => `${a}/${p}`),
  fc.tuple(ipv6, fc.integer({ min: 0, max: 129 })).map(([a, p]) => `${a}/${p}`),
  fc.constantFrom('10.0.0.0', '10.0.0.0/8/8', '10.0.0.0/08', ''),
);
const ipBlock = fc.record({ cidr, except: optional(fc.array(maybeNull(cidr), { maxLength: 2 })) }, { requiredKeys: ['cidr'] });
const peer = maybeNull(
  fc.oneof(
    fc.record({ ipBlock }),
    fc.record({ podSelector: optional(selector), namespaceSelector: optional(selector) }, { requiredKeys: [] }),
    fc.record({ ipBlock, podSelector: selector }),
  ),
);
const portNumber = fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(0, 1, 65535, 65536, -1));
const port = maybeNull(
  fc.record(
    {
      protocol: optional(fc.constantFrom('TCP', 'UDP', 'SCTP', 'tcp', '')),
      port: optional(fc.oneof(portNumber, fc.constantFrom('http', 'metrics-1', '80', 'a--b', 'HTTP', '-x', 'abcdefghijklmnop'))),
      endPort: optional(portNumber),
    },
    { requiredKeys: [] },
  ),
);
const rule = (peersKey: 'from' | 'to') =>
  maybeNull(fc.record({ [peersKey]: optional(fc.array(peer, { maxLength: 3 })), ports: optional(fc.array(port, { maxLength: 3 })) }, { requiredKeys: [] }));
const spec = fc.record(
  {
    podSelector: optional(selector),
    ingress: optional(fc.array(rule('from'), { maxLength: 2 })),
    egress: optional(fc.array(rule('to'), { maxLength: 2 })),
    policyTypes: optional(fc.array(maybeNull(fc.constantFrom('Ingress', 'Egress', 'ingress')), { maxLength: 3 })),
  },
  { requiredKeys: [] },
);
const generated = fc.record({ spec: fc.option(maybeNull(spec), { nil: undefined, freq: 10 }), labels: optional(fc.dictionary(labelKey, labelValue, { maxKeys: 2 })) });

const GENERATED_COUNT = 300;

function generatedCases(): Case[] {
  return fc.sample(generated, { numRuns: GENERATED_COUNT, seed: 14 }).map((g, i) => {
    const metadata = g.labels === undefined ? {} : { labels: g.labels };
    const m = policy(g.spec, metadata);
    return { name: `generated #${i}`, manifest: m };
  });
}

// ---- the comparison ----------------------------------------------------------------------------

interface ApiVerdict {
  accepted: boolean;
  status: number;
  message: string;
}

/** A disagreement the test accepts, with why. Matched on the `check` result. */
interface Tolerance {
  why: string;
  applies(api: ApiVerdict, check: PolicyResult): boolean;
}

const TOLERATED: Tolerance[] = [
  {
    why: 'netpol-guard caps a label map at 256 entries (the webhook refuses bigger ones so a hostile body cannot make selector work explode); the API server sets no count',
    applies: (api, check) => api.accepted && check.errors.length > 0 && check.errors.every((e) => /has \d+ entries; at most 256 are accepted/.test(e.message)),
  },
];

describe('differential: check against the API server', { timeout: 600_000 }, () => {
  let cp: ControlPlane | undefined;

  before(async () => {
    cp = await startControlPlane();
    const created = await cp.request('/api/v1/namespaces', { method: 'POST', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } });
    assert.equal(created.status, 201, created.body);
  });

  after(async () => {
    await cp?.stop();
  });

  async function apiVerdict(manifest: Manifest): Promise<ApiVerdict> {
    const r = await cp!.request(`/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies?dryRun=All&fieldValidation=Strict`, { method: 'POST', body: manifest });
    const message = (r.json as { message?: string } | undefined)?.message ?? r.body.slice(0, 300);
    if (r.status === 201 || r.status === 200) return { accepted: true, status: r.status, message: '' };
    assert.ok(r.status === 422 || r.status === 400, `unexpected API status ${r.status}: ${r.body.slice(0, 500)}`);
    return { accepted: false, status: r.status, message };
  }

  function checkVerdict(manifest: string | Manifest): PolicyResult {
    const text = typeof manifest === 'string' ? manifest : JSON.stringify(manifest);
    const report = checkSources([{ name: 'diff.yaml', text }], CHECK_OPTIONS);
    assert.equal(report.results.length, 1, `check saw ${report.results.length} policies`);
    return report.results[0]!;
  }

  it(`agrees on the corpus and ${GENERATED_COUNT} generated manifests`, async () => {
    const { parse } = await import('yaml');
    const cases = [...CORPUS, ...generatedCases()];
    const violations: string[] = [];
    const tolerated = new Map<string, string[]>();
    let accepted = 0;
    let rejected = 0;
    // Allowed by the contract (denied is enough), but each is a gap in the structural check: none remain.
    const onlyDenied: string[] = [];
    for (const c of cases) {
      const manifest = typeof c.manifest === 'string' ? (parse(c.manifest) as Manifest) : c.manifest;
      const api = await apiVerdict(manifest);
      const check = checkVerdict(c.manifest);
      const invalid = check.errors.length > 0;
      if (api.accepted) accepted += 1;
      else rejected += 1;
      const agrees = api.accepted ? !invalid : invalid || check.verdict === 'denied';
      if (!api.accepted && !invalid && check.verdict === 'denied') onlyDenied.push(`${c.name}: ${api.message.slice(0, 200)}`);
      if (agrees) continue;
      const tolerance = TOLERATED.find((t) => t.applies(api, check));
      const line = `${c.name}: API ${api.accepted ? 'accepts' : `rejects (${api.message})`}; check ${invalid ? `invalid: ${check.errors.map((e) => `${e.path} ${e.message}`).join('; ')}` : check.verdict} — ${JSON.stringify(manifest).slice(0, 400)}`;
      if (tolerance) tolerated.set(tolerance.why, [...(tolerated.get(tolerance.why) ?? []), c.name]);
      else violations.push(line);
    }
    console.log(`[differential] ${cases.length} manifests (${CORPUS.length} corpus, ${GENERATED_COUNT} generated): API accepted ${accepted}, rejected ${rejected}; rejected ones check only denied (not called invalid): ${onlyDenied.length}`);
    for (const line of onlyDenied) console.log(`[differential] only denied: ${line}`);
    for (const [why, names] of tolerated) console.log(`[differential] tolerated ${names.length}: ${why} (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''})`);
    assert.ok(accepted > 50 && rejected > 50, `the corpus must exercise both sides (accepted ${accepted}, rejected ${rejected})`);
    assert.deepEqual(violations, []);
    // Every manifest the API server refuses is called invalid, not merely denied: check's
    // structural check is as strict as the API server's validation of a new object.
    assert.deepEqual(onlyDenied, []);
  });
});
