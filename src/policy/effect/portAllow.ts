/**
 * The ports a set of NetworkPolicy rules admits toward one destination, per protocol: all of them,
 * or merged numbered spans plus named ports that could not be resolved (the destination's container
 * ports are unknown). Union and difference are exact on numbers; an unresolved name is its own
 * atom (it may coincide with a number, which cannot be known without the pod's spec).
 */
import type { V1NetworkPolicyPort } from '@kubernetes/client-node';
import type { ContainerPortMeta } from '../../cluster/view.js';
import { mergePortSpans, type PortSpan, portSpansSize } from '../portSet.js';

export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** Highest port number; "every port" of a protocol is 1..65535. */
export const MAX_PORT = 65535;

export interface ProtocolPorts {
  readonly all: boolean;
  /** Disjoint, sorted numbered ports; empty when `all`. */
  readonly spans: readonly PortSpan[];
  /**
   * Named ports that could not be resolved are atoms of their own (a name's number is unknown).
   * `anyName` false: exactly the names in `names`; true: every name except those in `names` (what
   * remains of "every port" once some names are taken away).
   */
  readonly anyName: boolean;
  readonly names: readonly string[];
}

export type PortAllow = Readonly<Record<Protocol, ProtocolPorts>>;

const NONE: ProtocolPorts = { all: false, spans: [], anyName: false, names: [] };
const EVERY: ProtocolPorts = { all: true, spans: [], anyName: true, names: [] };

export const NO_PORTS: PortAllow = { TCP: NONE, UDP: NONE, SCTP: NONE };
export const ALL_PORTS: PortAllow = { TCP: EVERY, UDP: EVERY, SCTP: EVERY };

function protocolOf(text: string | null | undefined): Protocol | undefined {
  if (text === undefined || text === null) return 'TCP';
  return (PROTOCOLS as readonly string[]).includes(text) ? (text as Protocol) : undefined;
}

/**
 * What one rule's `ports` admit toward `destination`: a missing or empty list admits every port
 * of every protocol; an entry without a port every port of its protocol. A named port resolves to
 * the destination's container ports of that name and protocol when they are known (none: it matches
 * nothing there), else it stays a name.
 */
export function rulePorts(ports: readonly V1NetworkPolicyPort[] | null | undefined, destinationPorts: readonly ContainerPortMeta[] | undefined): PortAllow {
  if (!ports || ports.length === 0) return ALL_PORTS;
  const spans: Record<Protocol, PortSpan[]> = { TCP: [], UDP: [], SCTP: [] };
  const names: Record<Protocol, Set<string>> = { TCP: new Set(), UDP: new Set(), SCTP: new Set() };
  const all: Record<Protocol, boolean> = { TCP: false, UDP: false, SCTP: false };
  for (const entry of ports) {
    const protocol = protocolOf(entry?.protocol);
    if (protocol === undefined) continue; // the API server refuses other protocols
    const port = entry?.port;
    if (port === undefined || port === null) {
      all[protocol] = true;
    } else if (typeof port === 'number') {
      const last = typeof entry.endPort === 'number' && entry.endPort >= port ? entry.endPort : port;
      spans[protocol].push([port, last]);
    } else if (destinationPorts === undefined) {
      names[protocol].add(port);
    } else {
      for (const c of destinationPorts) {
        if (c.name === port && (protocolOf(c.protocol) ?? 'TCP') === protocol) spans[protocol].push([c.containerPort, c.containerPort]);
      }
    }
  }
  const out = {} as Record<Protocol, ProtocolPorts>;
  for (const p of PROTOCOLS) out[p] = all[p] ? EVERY : normalize(spans[p], false, names[p]);
  return out;
}

function normalize(spans: readonly PortSpan[], anyName: boolean, names: Iterable<string>): ProtocolPorts {
  const merged = mergePortSpans(spans);
  const nameList = [...new Set(names)].sort();
  const fullNumbers = merged.length === 1 && merged[0]![0] <= 1 && merged[0]![1] >= MAX_PORT;
  if (fullNumbers && anyName && nameList.length === 0) return EVERY;
  if (merged.length === 0 && !anyName && nameList.length === 0) return NONE;
  return { all: false, spans: merged, anyName, names: nameList };
}

const FULL: readonly PortSpan[] = [[1, MAX_PORT]];

function numbers(p: ProtocolPorts): readonly PortSpan[] {
  return p.all ? FULL : p.spans;
}

export function unionPorts(a: PortAllow, b: PortAllow): PortAllow {
  if (a === NO_PORTS || b === ALL_PORTS) return b;
  if (b === NO_PORTS || a === ALL_PORTS) return a;
  const out = {} as Record<Protocol, ProtocolPorts>;
  for (const p of PROTOCOLS) {
    const x = a[p];
    const y = b[p];
    if (x.all || y.all) {
      out[p] = EVERY;
      continue;
    }
    const spans = [...x.spans, ...y.spans];
    // Names through Sets: a policy may carry a couple of thousand named ports (linear, not quadratic).
    if (x.anyName && y.anyName) out[p] = normalize(spans, true, x.names.filter(inSet(y.names)));
    else if (x.anyName) out[p] = normalize(spans, true, x.names.filter(notInSet(y.names)));
    else if (y.anyName) out[p] = normalize(spans, true, y.names.filter(notInSet(x.names)));
    else out[p] = normalize(spans, false, [...x.names, ...y.names]);
  }
  return out;
}

/** Ports in `a` that `b` does not admit (names as atoms: see ProtocolPorts). */
export function subtractPorts(a: PortAllow, b: PortAllow): PortAllow {
  if (a === NO_PORTS || b === ALL_PORTS) return NO_PORTS;
  if (b === NO_PORTS) return a;
  const out = {} as Record<Protocol, ProtocolPorts>;
  for (const p of PROTOCOLS) {
    const x = a[p];
    const y = b[p];
    if (y.all) {
      out[p] = NONE;
      continue;
    }
    const spans = subtractSpans(numbers(x), y.spans);
    // Names of x that y does not admit: x ∩ ¬y, where ¬y flips y's anyName.
    if (x.anyName && !y.anyName) out[p] = normalize(spans, true, [...x.names, ...y.names]);
    else if (x.anyName) out[p] = normalize(spans, false, y.names.filter(notInSet(x.names)));
    else if (!y.anyName) out[p] = normalize(spans, false, x.names.filter(notInSet(y.names)));
    else out[p] = normalize(spans, false, x.names.filter(inSet(y.names)));
  }
  return out;
}

/** Whether `ports` admit port `port` of `protocol`, or the unresolved name `port`. */
export function portsAdmit(ports: PortAllow, protocol: Protocol, port: number | string): boolean {
  const p = ports[protocol];
  if (p.all) return true;
  if (typeof port === 'number') return p.spans.some(([first, last]) => first <= port && port <= last);
  return p.anyName ? !p.names.includes(port) : p.names.includes(port);
}

function inSet(names: readonly string[]): (name: string) => boolean {
  const set = new Set(names);
  return (name) => set.has(name);
}

function notInSet(names: readonly string[]): (name: string) => boolean {
  const set = new Set(names);
  return (name) => !set.has(name);
}

/** Disjoint sorted `a` minus disjoint sorted `b`. */
function subtractSpans(a: readonly PortSpan[], b: readonly PortSpan[]): PortSpan[] {
  const out: PortSpan[] = [];
  let j = 0;
  for (const [first, last] of a) {
    let cursor = first;
    while (j < b.length && b[j]![1] < cursor) j++;
    let k = j;
    while (k < b.length && b[k]![0] <= last) {
      const [holeStart, holeEnd] = b[k]!;
      if (holeStart > cursor) out.push([cursor, holeStart - 1]);
      cursor = Math.max(cursor, holeEnd + 1);
      if (cursor > last) break;
      k++;
    }
    if (cursor <= last) out.push([cursor, last]);
  }
  return out;
}

export function isNoPorts(a: PortAllow): boolean {
  return PROTOCOLS.every((p) => !a[p].all && a[p].spans.length === 0 && !a[p].anyName && a[p].names.length === 0);
}

export function isAllPorts(a: PortAllow): boolean {
  return PROTOCOLS.every((p) => a[p].all);
}

/**
 * Distinct ports admitted, over every protocol. Each unresolved name counts one; "every name but
 * some" counts nothing beyond its numbers (a name is one of the numbers, already counted).
 */
export function portCount(a: PortAllow): number {
  let n = 0;
  for (const p of PROTOCOLS) n += a[p].all ? MAX_PORT : portSpansSize(a[p].spans) + (a[p].anyName ? 0 : a[p].names.length);
  return n;
}

/** "TCP/5432, TCP/8000-8080, UDP/53, TCP/http (named port, not resolved)"; "any port" for all. */
export function describePorts(a: PortAllow): string {
  if (isAllPorts(a)) return 'any port';
  if (isNoPorts(a)) return 'no port';
  const parts: string[] = [];
  for (const p of PROTOCOLS) {
    const ports = a[p];
    if (ports.all) {
      parts.push(`${p}/any`);
      continue;
    }
    for (const [first, last] of ports.spans) parts.push(first === last ? `${p}/${first}` : `${p}/${first}-${last}`);
    if (ports.anyName) parts.push(ports.names.length === 0 ? `${p}/any named port` : `${p}/any named port but ${ports.names.join(', ')}`);
    else for (const name of ports.names) parts.push(`${p}/${name} (named port, not resolved)`);
  }
  return parts.join(', ');
}
