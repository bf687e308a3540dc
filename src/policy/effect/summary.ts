/** The one-line summary of a PolicyEffect: the audit annotation, the audit line and `explain`'s headline. */
import { formatCount } from '../addressSet.js';
import type { DirectionEffect, PolicyEffect } from './analyze.js';
import { describePorts } from './portAllow.js';

/** "opens 3 pods ← 256 addresses on TCP/5432; 0 pods newly isolated". */
export function effectSummary(effect: PolicyEffect): string {
  const parts = effect.directions.map(directionSummary);
  let isolated = 0;
  for (const d of effect.directions) isolated += d.newlyIsolated.length;
  parts.push(`${formatCount(isolated)} ${plural(isolated, 'pod')} newly isolated`);
  return parts.join('; ');
}

function directionSummary(d: DirectionEffect): string {
  const arrow = d.direction === 'ingress' ? '←' : '→';
  return `opens ${formatCount(d.targets.length)} ${plural(d.targets.length, 'pod')} ${arrow} ${peerSummary(d)} on ${describePorts(d.peers.ports)}`;
}

function peerSummary(d: DirectionEffect): string {
  if (d.peers.any) return 'any peer';
  const parts: string[] = [];
  const pods = d.peers.pods.length;
  const namespaces = d.peers.namespaces.length;
  if (namespaces > 0) parts.push(`${formatCount(pods)} ${plural(pods, 'pod')} in ${formatCount(namespaces)} ${plural(namespaces, 'namespace')}`);
  const addresses = d.peers.addresses[4] + d.peers.addresses[6];
  if (addresses > 0n) parts.push(`${formatCount(addresses)} ${addresses === 1n ? 'address' : 'addresses'}`);
  return parts.length === 0 ? 'no peer' : parts.join(' and ');
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}
