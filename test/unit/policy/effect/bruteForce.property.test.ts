/**
 * The effect analysis against a brute-force evaluator of NetworkPolicy semantics written here
 * from the Kubernetes API reference, independently of src/: for random small clusters, every
 * (target pod, peer pod or address, protocol/port) is asked directly "does the namespace allow it
 * on the target's side, before and after the new policy?". The connections newly allowed, the
 * targets, the newly isolated pods and the peers must equal what the analysis reports.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MemoryClusterView } from '../../../../src/cluster/memoryView.js';
import { analyzeEffect, type DirectionEffect } from '../../../../src/policy/effect/analyze.js';
import { type PortAllow, portsAdmit, type Protocol } from '../../../../src/policy/effect/portAllow.js';

type Labels = Record<string, string>;
interface Expr {
  key: string;
  operator: string;
  values?: string[];
}
interface Selector {
  matchLabels?: Labels;
  matchExpressions?: Expr[];
}
interface CPort {
  name: string;
  containerPort: number;
  protocol?: string;
}
interface Pod {
  namespace: string;
  name: string;
  labels: Labels;
  phase?: string;
  containerPorts?: CPort[];
}
interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface PortEntry {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: PortEntry[];
}
interface Policy {
  metadata: { name: string; namespace: string };
  spec: { podSelector: Selector; policyTypes?: string[]; ingress?: Rule[]; egress?: Rule[] };
}
type Direction = 'ingress' | 'egress';
/**
 * A numbered port, or a named port that stays a name (destination's container ports unknown). An
 * unresolved name is modelled as a port of its own: an entry without a port admits it, a numbered
 * entry does not (its number is unknown), an entry naming it does.
 */
type Probe = { protocol: string; port: number } | { protocol: string; name: string };

// ---- brute force, from the API reference --------------------------------------------------

function matches(selector: Selector, labels: Labels): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(labels[e.key]!))) return false;
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(labels[e.key]!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function types(p: Policy): Direction[] {
  if (p.spec.policyTypes && p.spec.policyTypes.length > 0) return p.spec.policyTypes.map((t) => (t === 'Ingress' ? 'ingress' : 'egress'));
  return p.spec.egress && p.spec.egress.length > 0 ? ['ingress', 'egress'] : ['ingress'];
}

function ipv4(text: string): number {
  return text.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

function inCidr(address: number, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = ipv4(base!) - (ipv4(base!) % size);
  return address >= start && address < start + size;
}

function peersOf(rule: Rule, d: Direction): Peer[] | undefined {
  return d === 'ingress' ? rule.from : rule.to;
}

function peerAdmitsPod(peers: Peer[] | undefined, policyNs: string, q: Pod, nsLabels: Record<string, Labels>): boolean {
  if (peers === undefined || peers.length === 0) return true;
  return peers.some((peer) => {
    if (peer.ipBlock) return false;
    const nsOk = peer.namespaceSelector ? matches(peer.namespaceSelector, nsLabels[q.namespace] ?? {}) : q.namespace === policyNs;
    const podOk = peer.podSelector ? matches(peer.podSelector, q.labels) : true;
    return nsOk && podOk;
  });
}

function peerAdmitsAddress(peers: Peer[] | undefined, address: number): boolean {
  if (peers === undefined || peers.length === 0) return true;
  return peers.some((peer) => peer.ipBlock !== undefined && inCidr(address, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((e) => inCidr(address, e)));
}

function portAdmits(ports: PortEntry[] | undefined, probe: Probe, destination: CPort[] | undefined): boolean {
  if (ports === undefined || ports.length === 0) return true;
  return ports.some((entry) => {
    const protocol = entry.protocol ?? 'TCP';
    if (protocol !== probe.protocol) return false;
    if (entry.port === undefined) return true;
    if (typeof entry.port === 'number') return 'port' in probe && probe.port >= entry.port && probe.port <= (entry.endPort ?? entry.port);
    if (destination === undefined) return 'name' in probe && probe.name === entry.port;
    return 'port' in probe && destination.some((c) => c.name === entry.port && (c.protocol ?? 'TCP') === protocol && c.containerPort === probe.port);
  });
}

/** Is `peer` allowed to/from `target` on `probe`, on the target's side, under `policies`? */
function allowed(policies: Policy[], d: Direction, target: Pod, peer: { pod: Pod } | { address: number }, probe: Probe, nsLabels: Record<string, Labels>): boolean {
  const selecting = policies.filter((p) => p.metadata.namespace === target.namespace && types(p).includes(d) && matches(p.spec.podSelector, target.labels));
  if (selecting.length === 0) return true;
  const destination = d === 'ingress' ? target.containerPorts : 'pod' in peer ? peer.pod.containerPorts : undefined;
  return selecting.some((p) =>
    (p.spec[d] ?? []).some((rule) => {
      const peerOk = 'pod' in peer ? peerAdmitsPod(peersOf(rule, d), p.metadata.namespace, peer.pod, nsLabels) : peerAdmitsAddress(peersOf(rule, d), peer.address);
      return peerOk && portAdmits(rule.ports, probe, destination);
    }),
  );
}

function probes(destinationKnown: boolean): Probe[] {
  const out: Probe[] = [];
  for (const protocol of ['TCP', 'UDP', 'SCTP']) for (let port = 1; port <= 9; port++) out.push({ protocol, port });
  if (!destinationKnown) for (const protocol of ['TCP', 'UDP']) for (const name of ['http', 'db']) out.push({ protocol, name });
  return out;
}

const live = (pod: Pod): boolean => pod.phase !== 'Succeeded' && pod.phase !== 'Failed';

// ---- reading the analysis ------------------------------------------------------------------

function portsHave(ports: PortAllow, probe: Probe): boolean {
  return portsAdmit(ports, probe.protocol as Protocol, 'port' in probe ? probe.port : probe.name);
}

function analysisNewForPod(d: DirectionEffect, target: Pod, peer: Pod, probe: Probe): boolean {
  return d.delta.pods.some(
    (e) => e.peers.some((q) => q.namespace === peer.namespace && q.name === peer.name) && e.targets.some((t) => t.name === target.name) && portsHave(e.ports, probe),
  );
}

function analysisNewForAddress(d: DirectionEffect, target: Pod, address: number, probe: Probe): boolean {
  return d.delta.addresses.some(
    (e) =>
      e.family === 4 &&
      e.targets.some((t) => t.name === target.name) &&
      e.ranges.some(([a, b]) => BigInt(address) >= a && BigInt(address) <= b) &&
      portsHave(e.ports, probe),
  );
}

// ---- random clusters -----------------------------------------------------------------------

const labelsArb = fc.record({ app: fc.constantFrom('p', 'q'), tier: fc.constantFrom('1', '2') }, { requiredKeys: [] });
const exprArb: fc.Arbitrary<Expr> = fc.oneof(
  fc.record({ key: fc.constantFrom('app', 'tier', 'team'), operator: fc.constantFrom('In', 'NotIn'), values: fc.subarray(['p', 'q', '1', '2', 'x'], { minLength: 1 }) }),
  fc.record({ key: fc.constantFrom('app', 'tier', 'team'), operator: fc.constantFrom('Exists', 'DoesNotExist') }),
);
const selectorArb: fc.Arbitrary<Selector> = fc.record(
  { matchLabels: labelsArb, matchExpressions: fc.array(exprArb, { maxLength: 2 }) },
  { requiredKeys: [] },
);
const nsSelectorArb: fc.Arbitrary<Selector> = fc.record({ matchLabels: fc.record({ team: fc.constantFrom('x', 'y') }, { requiredKeys: [] }) }, { requiredKeys: [] });
const CIDRS = ['10.0.0.0/29', '10.0.0.4/30', '10.0.0.2/31', '10.0.0.8/29', '10.0.0.5/32', '10.0.0.0/28'];
const peerArb: fc.Arbitrary<Peer> = fc.oneof(
  fc.record({ podSelector: selectorArb }),
  fc.record({ namespaceSelector: nsSelectorArb }),
  fc.record({ podSelector: selectorArb, namespaceSelector: nsSelectorArb }),
  fc.record({ ipBlock: fc.record({ cidr: fc.constantFrom(...CIDRS), except: fc.subarray(['10.0.0.4/31', '10.0.0.1/32', '10.0.0.12/30']) }, { requiredKeys: ['cidr'] }) }),
);
const portArb: fc.Arbitrary<PortEntry> = fc.oneof(
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP', 'SCTP'), port: fc.integer({ min: 1, max: 8 }) }, { requiredKeys: ['port'] }),
  fc.integer({ min: 1, max: 8 }).chain((port) => fc.record({ protocol: fc.constantFrom('TCP', 'UDP'), port: fc.constant(port), endPort: fc.integer({ min: port, max: 8 }) }, { requiredKeys: ['port', 'endPort'] })),
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP'), port: fc.constantFrom('http', 'db') }, { requiredKeys: ['port'] }),
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP', 'SCTP') }),
);
const ruleArb = (d: Direction): fc.Arbitrary<Rule> =>
  fc.record({ [d === 'ingress' ? 'from' : 'to']: fc.array(peerArb, { maxLength: 2 }), ports: fc.array(portArb, { maxLength: 2 }) }, { requiredKeys: [] }) as fc.Arbitrary<Rule>;
const policySpecArb = fc.record(
  {
    podSelector: selectorArb,
    policyTypes: fc.constantFrom<string[]>(['Ingress'], ['Egress'], ['Ingress', 'Egress']),
    ingress: fc.array(ruleArb('ingress'), { maxLength: 2 }),
    egress: fc.array(ruleArb('egress'), { maxLength: 2 }),
  },
  { requiredKeys: ['podSelector'] },
);
const cportArb: fc.Arbitrary<CPort> = fc.record(
  { name: fc.constantFrom('http', 'db'), containerPort: fc.integer({ min: 1, max: 8 }), protocol: fc.constantFrom('TCP', 'UDP') },
  { requiredKeys: ['name', 'containerPort'] },
);
const podArb = (namespace: string, i: number): fc.Arbitrary<Pod> =>
  fc.record(
    {
      namespace: fc.constant(namespace),
      name: fc.constant(`${namespace}-${i}`),
      labels: labelsArb,
      phase: fc.constantFrom('Pending', 'Running', 'Succeeded', 'Failed'),
      containerPorts: fc.array(cportArb, { maxLength: 2 }),
    },
    { requiredKeys: ['namespace', 'name', 'labels'] },
  );
const podsArb = (namespace: string): fc.Arbitrary<Pod[]> => fc.integer({ min: 0, max: 4 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => podArb(namespace, i))));
const clusterArb = fc.record({
  nsLabels: fc.record({ a: fc.record({ team: fc.constantFrom('x', 'y') }, { requiredKeys: [] }), b: fc.record({ team: fc.constantFrom('x', 'y') }, { requiredKeys: [] }), c: fc.constant({}) }),
  pods: fc.tuple(podsArb('a'), podsArb('b'), podsArb('c')).map(([a, b, c]) => [...a, ...b, ...c]),
  existing: fc.array(policySpecArb, { maxLength: 3 }),
  // Half the time in another namespace: policies elsewhere never select pods of `a`.
  elsewhere: fc.array(policySpecArb, { maxLength: 1 }),
  grant: policySpecArb,
});

describe('effect analysis equals a brute-force evaluation of NetworkPolicy semantics', () => {
  it('targets, newly isolated pods, peers and every newly allowed connection agree', () => {
    fc.assert(
      fc.property(clusterArb, ({ nsLabels, pods, existing, elsewhere, grant }) => {
        const others: Policy[] = [
          ...existing.map((spec, i) => ({ metadata: { name: `e${i}`, namespace: 'a' }, spec })),
          ...elsewhere.map((spec, i) => ({ metadata: { name: `b${i}`, namespace: 'b' }, spec })),
        ];
        const newPolicy: Policy = { metadata: { name: 'grant', namespace: 'a' }, spec: grant };
        const view = new MemoryClusterView({ namespaces: nsLabels, pods, policies: others as never });
        const effect = analyzeEffect({ policy: newPolicy as never, namespace: 'a', cluster: view });
        assert.deepEqual(effect.directions.map((d) => d.direction), types(newPolicy));

        const livePods = pods.filter(live);
        const targets = livePods.filter((p) => p.namespace === 'a' && matches(grant.podSelector, p.labels));
        for (const d of effect.directions) {
          const dir = d.direction;
          assert.deepEqual(d.targets.map((t) => t.name).sort(), targets.map((t) => t.name).sort(), 'targets');
          const isolatedBefore = (t: Pod): boolean => others.some((p) => p.metadata.namespace === 'a' && types(p).includes(dir) && matches(p.spec.podSelector, t.labels));
          assert.deepEqual(d.newlyIsolated.map((t) => t.name).sort(), targets.filter((t) => !isolatedBefore(t)).map((t) => t.name).sort(), `newly isolated (${dir})`);
          const peers = livePods.filter((q) => (grant[dir] ?? []).some((rule) => peerAdmitsPod(peersOf(rule, dir), 'a', q, nsLabels)));
          assert.deepEqual(d.peers.pods.map((q) => q.name).sort(), peers.map((q) => q.name).sort(), `peers (${dir})`);

          const after = [...others, newPolicy];
          for (const t of targets) {
            for (const q of livePods) {
              const destinationKnown = (dir === 'ingress' ? t : q).containerPorts !== undefined;
              for (const probe of probes(destinationKnown)) {
                const expected = allowed(after, dir, t, { pod: q }, probe, nsLabels) && !allowed(others, dir, t, { pod: q }, probe, nsLabels);
                assert.equal(analysisNewForPod(d, t, q, probe), expected, `${dir} ${q.name} ↔ ${t.name} ${JSON.stringify(probe)}`);
              }
            }
            for (let address = ipv4('10.0.0.0'); address <= ipv4('10.0.0.17'); address++) {
              for (const probe of probes(dir === 'ingress' && t.containerPorts !== undefined)) {
                const expected = allowed(after, dir, t, { address }, probe, nsLabels) && !allowed(others, dir, t, { address }, probe, nsLabels);
                assert.equal(analysisNewForAddress(d, t, address, probe), expected, `${dir} address .${address % 256} ↔ ${t.name} ${JSON.stringify(probe)}`);
              }
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
