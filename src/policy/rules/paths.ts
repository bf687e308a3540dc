import type { AnnotationKeys } from '../../lifecycle/annotations.js';
import type { ExpirySource } from '../../lifecycle/expiry.js';
import type { Direction } from './types.js';

/**
 * JSON paths of the fields rules report on, and the words for the other end of the traffic.
 * Rules call these only when reporting, so the walk itself builds no strings.
 */

/** `spec.ingress[0].from`: where a rule's peers are. */
export function peersPath(direction: Direction, ruleIndex: number): string {
  return `spec.${direction}[${ruleIndex}].${direction === 'ingress' ? 'from' : 'to'}`;
}

/** `spec.ingress[0].from[1]`: one peer. */
export function peerPath(direction: Direction, ruleIndex: number, peerIndex: number): string {
  return `${peersPath(direction, ruleIndex)}[${peerIndex}]`;
}

/** `spec.ingress[0].ports`: where a rule's ports are. */
export function portsPath(direction: Direction, ruleIndex: number): string {
  return `spec.${direction}[${ruleIndex}].ports`;
}

/** `metadata.annotations["netpol-guard.io/ttl"]`: one annotation. */
export function annotationPath(key: string): string {
  return `metadata.annotations["${key}"]`;
}

/** The other end of the traffic: where it comes from (ingress) or goes to (egress). */
export function party(direction: Direction): 'source' | 'destination' {
  return direction === 'ingress' ? 'source' : 'destination';
}

/** The annotation a resolved expiry came from: expires-at when written, else ttl (also for the default TTL). */
export function expiryPath(expiry: ExpirySource, keys: AnnotationKeys): string {
  return annotationPath(expiry.kind === 'expires-at' ? keys.expiresAt : keys.ttl);
}
