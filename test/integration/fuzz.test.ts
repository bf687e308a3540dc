/**
 * Property: whatever arrives at /validate or /mutate — valid reviews, reviews with fields deleted,
 * types swapped, nulls in arrays, huge strings, wrong apiVersions, or random JSON and text — the
 * server (with the real handlers) never answers 5xx and never falls over. It answers either a
 * well-formed AdmissionReview for the uid it was sent, or a 4xx JSON error.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { AdmissionReview } from '../../src/admission/types.js';
import type { TlsFileSource } from '../../src/tls/source.js';
import { admissionReview, networkPolicy } from '../unit/server/support.js';
import { openTls, startServer, testCertificates, type RunningServer, type TestCertificates } from './serverSupport.js';

const BODY_LIMIT = 256 * 1024;
const INJECT_RUNS = 3_000;
const TLS_RUNS = 150;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const GRANT = networkPolicy({
  annotations: { 'netpol-guard.io/ttl': '2h', 'netpol-guard.io/ticket': 'INC-1234' },
  labels: { team: 'shop' },
});
const EGRESS_CIDR = {
  ...networkPolicy({ annotations: { 'netpol-guard.io/expires-at': '2026-11-23T20:00:00Z', 'netpol-guard.io/ticket': 'OPS-9' } }),
  spec: {
    podSelector: { matchLabels: { app: 'api' } },
    policyTypes: ['Egress'],
    egress: [{ to: [{ ipBlock: { cidr: '10.20.0.0/16', except: ['10.20.1.0/24'] } }], ports: [{ protocol: 'TCP', port: 443, endPort: 450 }] }],
  },
};

/** Valid starting points: each kind of request the API server really sends. */
const BASES: Json[] = [
  admissionReview() as Json,
  admissionReview({ object: GRANT }) as Json,
  admissionReview({ object: EGRESS_CIDR, dryRun: true }) as Json,
  admissionReview({ operation: 'UPDATE', object: GRANT, oldObject: networkPolicy() }) as Json,
  admissionReview({ operation: 'DELETE', object: null, oldObject: GRANT }) as Json,
  admissionReview({
    kind: { group: '', version: 'v1', kind: 'ConfigMap' },
    resource: { group: '', version: 'v1', resource: 'configmaps' },
    object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } },
  }) as Json,
];

type Mutation =
  | { kind: 'delete'; at: number }
  | { kind: 'replace'; at: number; value: Json }
  | { kind: 'null-in-array'; at: number }
  | { kind: 'huge-string'; at: number; length: number }
  | { kind: 'swap-type'; at: number }
  | { kind: 'api-version'; value: Json };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> }),
  fc.record({ kind: fc.constant('null-in-array' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('huge-string' as const), at: fc.nat(), length: fc.constantFrom(64, 254, 5_000, 70_000, 300_000) }),
  fc.record({ kind: fc.constant('swap-type' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('api-version' as const),
    value: fc.constantFrom<Json>('admission.k8s.io/v1beta1', 'admission.k8s.io/v2', 'v1', '', 1, null, ['admission.k8s.io/v1']),
  }),
);

/** Every location in a JSON tree, as key paths (the root is []). */
function paths(value: Json, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function swapped(value: Json): Json {
  if (typeof value === 'string') return value.length;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 0;
  if (value === null) return {};
  if (Array.isArray(value)) return Object.fromEntries(value.map((v, i) => [String(i), v]));
  return JSON.stringify(value);
}

/** Applies a mutation to `root` (a private copy), returning the new root. */
function mutate(root: Json, mutation: Mutation): Json {
  if (mutation.kind === 'api-version') {
    if (root !== null && typeof root === 'object' && !Array.isArray(root)) root.apiVersion = mutation.value;
    return root;
  }
  const all = paths(root);
  const target = all[mutation.at % all.length]!;
  const replace = (current: Json): Json | undefined => {
    switch (mutation.kind) {
      case 'delete':
        return undefined;
      case 'replace':
        return mutation.value;
      case 'null-in-array':
        return Array.isArray(current) ? [...current, null] : [null, current];
      case 'huge-string':
        return 'x'.repeat(mutation.length);
      case 'swap-type':
        return swapped(current);
    }
  };
  if (target.length === 0) return replace(root) ?? null;
  let parent: Json = root;
  for (const key of target.slice(0, -1)) parent = (parent as Record<string | number, Json>)[key]!;
  const last = target.at(-1)!;
  const next = replace((parent as Record<string | number, Json>)[last]!);
  if (Array.isArray(parent)) {
    if (next === undefined) parent.splice(last as number, 1);
    else parent[last as number] = next;
  } else if (parent !== null && typeof parent === 'object') {
    if (next === undefined) delete parent[last as string];
    else parent[last as string] = next;
  }
  return root;
}

interface Probe {
  endpoint: '/validate' | '/mutate';
  body: string;
  contentType: string;
}

const mutatedReviewArb = fc
  .tuple(fc.constantFrom(...BASES), fc.array(mutationArb, { minLength: 0, maxLength: 4 }))
  .map(([base, mutations]) => JSON.stringify(mutations.reduce<Json>((doc, m) => mutate(doc, m), structuredClone(base))));

const probeArb: fc.Arbitrary<Probe> = fc.record({
  endpoint: fc.constantFrom('/validate' as const, '/mutate' as const),
  body: fc.oneof(
    { weight: 8, arbitrary: mutatedReviewArb },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  ),
  contentType: fc.oneof(
    { weight: 12, arbitrary: fc.constant('application/json') },
    { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/yaml') },
  ),
});

/** The uid the body carries, if it is an object with request.uid. */
function sentUid(body: string): unknown {
  try {
    const parsed = JSON.parse(body) as { request?: { uid?: unknown } };
    return parsed?.request?.uid;
  } catch {
    return undefined;
  }
}

function checkAnswer(probe: Probe, status: number, text: string): void {
  assert.ok(status < 500, `5xx (${status}) for ${probe.endpoint} ${probe.contentType} ${probe.body.slice(0, 300)}\n→ ${text}`);
  const parsed = JSON.parse(text) as Record<string, unknown>;
  if (status === 200) {
    const review = parsed as unknown as AdmissionReview;
    assert.equal(review.apiVersion, 'admission.k8s.io/v1');
    assert.equal(review.kind, 'AdmissionReview');
    const response = review.response ?? assert.fail(`no response in ${text}`);
    assert.equal(response.uid, sentUid(probe.body), 'uid echoed');
    assert.equal(typeof response.allowed, 'boolean');
    if (!response.allowed) {
      assert.equal(response.status?.code, 403);
      assert.equal(response.status?.reason, 'Forbidden');
      assert.equal(typeof response.status?.message, 'string');
    }
    if (response.patch !== undefined || response.patchType !== undefined) {
      assert.equal(probe.endpoint, '/mutate', 'only /mutate patches');
      assert.equal(response.patchType, 'JSONPatch');
      const ops = JSON.parse(Buffer.from(response.patch!, 'base64').toString('utf8')) as unknown;
      assert.ok(Array.isArray(ops) && ops.length > 0);
    }
    if (response.warnings !== undefined) assert.ok(response.warnings.length > 0 && response.warnings.every((w) => typeof w === 'string'));
    return;
  }
  assert.ok(status >= 400 && status < 500, `unexpected status ${status}`);
  assert.equal(typeof parsed.error, 'string', text);
  assert.equal(typeof parsed.reason, 'string', text);
  assert.ok(!/\n\s+at /.test(text), 'no stack trace');
}

describe('fuzzing the admission endpoints', () => {
  let certs: TestCertificates;
  let tlsSource: TlsFileSource;
  let running: RunningServer;

  before(async () => {
    certs = await testCertificates();
    tlsSource = openTls(certs);
    running = await startServer({ caCert: certs.caCert, tls: tlsSource, bodyLimit: BODY_LIMIT, now: () => new Date('2026-11-23T18:00:00Z') });
  });
  after(async () => {
    await running.close();
    tlsSource.close();
    certs.remove();
  });

  it('the starting points themselves are answered with 200', async () => {
    for (const base of BASES) {
      for (const endpoint of ['/validate', '/mutate'] as const) {
        const res = await running.server.app.inject({ method: 'POST', url: endpoint, payload: JSON.stringify(base), headers: { 'content-type': 'application/json' } });
        assert.equal(res.statusCode, 200, res.body);
        checkAnswer({ endpoint, body: JSON.stringify(base), contentType: 'application/json' }, res.statusCode, res.body);
      }
    }
  });

  it(`never answers 5xx to ${INJECT_RUNS} random and mutated reviews (inject)`, async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(probeArb, async (probe) => {
        const res = await running.server.app.inject({ method: 'POST', url: probe.endpoint, payload: probe.body, headers: { 'content-type': probe.contentType } });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        checkAnswer(probe, res.statusCode, res.body);
      }),
      { numRuns: INJECT_RUNS },
    );
    // The generators must reach both sides of the property, or it proves little.
    assert.ok((statuses.get(200) ?? 0) > INJECT_RUNS / 20, `enough valid reviews: ${JSON.stringify([...statuses])}`);
    assert.ok((statuses.get(400) ?? 0) > INJECT_RUNS / 10, `enough rejected reviews: ${JSON.stringify([...statuses])}`);
  });

  it(`never answers 5xx to ${TLS_RUNS} probes over the real TLS socket`, async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 4 });
    try {
      await fc.assert(
        fc.asyncProperty(probeArb, async (probe) => {
          const res = await running.request(probe.endpoint, { method: 'POST', body: probe.body, headers: { 'content-type': probe.contentType }, agent });
          checkAnswer(probe, res.status, res.text);
        }),
        { numRuns: TLS_RUNS },
      );
    } finally {
      agent.destroy();
    }
    const health = await running.request('/healthz');
    assert.equal(health.status, 200, 'still alive');
  });
});
