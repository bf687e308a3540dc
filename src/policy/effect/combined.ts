/**
 * A policy together with the other live grants of its namespace that share its requester or its
 * ticket. The blast radius limits apply to this whole: otherwise 200 target pods are reached as
 * four grants of 50, and 400 peer pods as two grants of 200. Counted from the same live pods as
 * the policy's own analysis, under the same work meter.
 *
 * Why these grants: the requester is the mutator's requested-by stamp (taken from the
 * authenticated user, never from the request), so one person's grants add up whatever tickets
 * they name; a ticket is one piece of work, so grants filed under it by several people add up
 * too. Only live grants (labelled temporary) count: permanent policies are baselines, not
 * access someone asked for. Other namespaces are not combined: the limits are per namespace, and
 * the quotas cap how many grants anyone holds across them.
 */
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { ClusterView, PodMeta } from '../../cluster/view.js';
import { type AnnotationKeys, readGrantAnnotations, stringEntry, TEMPORARY_LABEL_VALUE } from '../../lifecycle/annotations.js';
import { normalizeTicket } from '../../lifecycle/ticket.js';
import type { Direction } from '../rules/types.js';
import type { PolicyEffect } from './analyze.js';
import { compileRules, livePods } from './compiledRule.js';
import type { WorkMeter } from './workMeter.js';

/** Who asked for the policy being judged, and under which ticket (normalized). */
export interface GrantIdentity {
  requestedBy: string | undefined;
  ticket: string | undefined;
  keys: AnnotationKeys;
}

/** One other live grant counted with the policy, and what it shares with it. */
export interface RelatedGrant {
  name: string;
  requestedBy: string | undefined;
  ticket: string | undefined;
  shares: 'requester' | 'ticket' | 'requester and ticket';
}

export interface CombinedDirection {
  direction: Direction;
  /** Distinct live peer pods this policy and the related grants admit in this direction. */
  peerPods: number;
  /** Distinct namespaces whose pods they admit in this direction. */
  peerNamespaces: number;
}

export interface CombinedEffect {
  /** Sorted by name. */
  grants: RelatedGrant[];
  /** Distinct live pods this policy and the related grants select. */
  targets: number;
  /** Per direction of this policy (a related grant counts in the directions it has in effect). */
  directions: CombinedDirection[];
}

/** The identity of `policy` as a grant: its requested-by stamp and normalized ticket. */
export function grantIdentity(policy: V1NetworkPolicy, keys: AnnotationKeys): GrantIdentity {
  const grant = readGrantAnnotations(policy, keys);
  return { requestedBy: grant.requestedBy, ticket: normalizedTicket(grant.ticket), keys };
}

/**
 * The combined reach of the judged policy (its `effect`) and the related live grants among
 * `others` (the namespace's other policies); undefined when no other live grant is related.
 */
export function combinedEffect(effect: PolicyEffect, others: readonly V1NetworkPolicy[], grant: GrantIdentity, cluster: ClusterView, meter: WorkMeter): CombinedEffect | undefined {
  if (grant.requestedBy === undefined && grant.ticket === undefined) return undefined;
  const related: { policy: V1NetworkPolicy; grant: RelatedGrant }[] = [];
  meter.charge(others.length, 'related grants');
  for (const other of others) {
    if (stringEntry(other.metadata?.labels, grant.keys.temporaryLabel) !== TEMPORARY_LABEL_VALUE) continue;
    const theirs = readGrantAnnotations(other, grant.keys);
    const ticket = normalizedTicket(theirs.ticket);
    const sameRequester = grant.requestedBy !== undefined && theirs.requestedBy === grant.requestedBy;
    const sameTicket = grant.ticket !== undefined && ticket === grant.ticket;
    if (!sameRequester && !sameTicket) continue;
    const shares = sameRequester && sameTicket ? 'requester and ticket' : sameRequester ? 'requester' : 'ticket';
    related.push({ policy: other, grant: { name: other.metadata?.name ?? '<unnamed>', requestedBy: theirs.requestedBy, ticket, shares } });
  }
  if (related.length === 0) return undefined;
  related.sort((a, b) => (a.grant.name < b.grant.name ? -1 : a.grant.name > b.grant.name ? 1 : 0));

  const targets = new Set<string>();
  for (const d of effect.directions) for (const pod of d.targets) targets.add(`${pod.namespace}/${pod.name}`);
  for (const { policy } of related) {
    const selected = cluster.podsMatching(effect.namespace, policy.spec?.podSelector ?? {});
    meter.charge(1 + selected.length, 'related grants');
    for (const pod of livePods(selected)) targets.add(key(pod));
  }

  const directions = effect.directions.map((d): CombinedDirection => {
    const pods = new Set<string>(d.peers.pods.map((pod) => `${pod.namespace}/${pod.name}`));
    const namespaces = new Set<string>(d.peers.namespaces);
    for (const { policy } of related) {
      for (const rule of compileRules(policy, d.direction, cluster, meter)) {
        const peers = rule.peerPods();
        meter.charge(peers.length, 'related grants');
        for (const pod of peers) pods.add(key(pod));
        for (const ns of rule.peerNamespaces()) namespaces.add(ns);
      }
    }
    return { direction: d.direction, peerPods: pods.size, peerNamespaces: namespaces.size };
  });
  return { grants: related.map((r) => r.grant), targets: targets.size, directions };
}

function normalizedTicket(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const ticket = normalizeTicket(raw);
  return ticket === '' ? undefined : ticket;
}

function key(pod: PodMeta): string {
  return `${pod.namespace}/${pod.name}`;
}

/** Related grants named in a message; more are counted, not listed (a denial stays readable). */
const LISTED_GRANTS = 20;

/** "2 other live grant(s) of the same requester or ticket (a: requester alice, b: ticket INC-1)". */
export function describeRelatedGrants(grants: readonly RelatedGrant[]): string {
  const listed = grants.slice(0, LISTED_GRANTS).map((g) => {
    if (g.shares === 'ticket') return `${g.name}: ticket ${g.ticket}`;
    if (g.shares === 'requester') return `${g.name}: requester ${g.requestedBy}`;
    return `${g.name}: requester ${g.requestedBy}, ticket ${g.ticket}`;
  });
  const more = grants.length > LISTED_GRANTS ? ` and ${grants.length - LISTED_GRANTS} more` : '';
  return `${grants.length} other live grant(s) of the same requester or ticket (${listed.join('; ')}${more})`;
}
