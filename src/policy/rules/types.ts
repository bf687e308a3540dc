import type {
  V1NetworkPolicy,
  V1NetworkPolicyEgressRule,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
} from '@kubernetes/client-node';
import type { GrantRequestLookup } from '../../approval/approvedPolicy.js';
import type { ClusterView, ClusterViewPart } from '../../cluster/view.js';
import type { GuardConfig } from '../../config/types.js';
import type { GrantAnnotations } from '../../lifecycle/annotations.js';
import type { ExpirySource } from '../../lifecycle/expiry.js';
import type { Cidr } from '../cidr.js';
import type { PolicyEffect } from '../effect/analyze.js';
import type { RuleAction } from '../findings.js';

export type Direction = 'ingress' | 'egress';

/** What a rule is about; README and SARIF group by it. Add a family when a new kind of rule needs one. */
export type RuleFamily = 'breadth' | 'lifecycle' | 'size' | 'cluster';

/**
 * What a rule needs to run. `policy`: the object alone. `lifecycle`: the grant annotations (not
 * run for permanent principals). `cluster`: a ClusterView (skipped, with a note, when none is given).
 */
export type RuleNeeds = 'policy' | 'lifecycle' | 'cluster';

/**
 * The `grant` flag that changes the field a rule complains about. The direction-dependent ones
 * name the side (src/operator's DIRECTION_FLAGS turns `cidr` into --from-cidr or --to-cidr);
 * the others are flags of their own name.
 */
export type GrantFlagRef = 'pods' | 'cidr' | 'peerPods' | 'peerNamespace' | 'port' | 'for' | 'ticket';

/** The who/when/where of one evaluation; every hook of every rule sees the same one. */
export interface RuleContext {
  readonly policy: V1NetworkPolicy;
  readonly operation: 'CREATE' | 'UPDATE';
  /** The stored object on UPDATE. */
  readonly oldPolicy: V1NetworkPolicy | undefined;
  readonly namespace: string;
  readonly config: GuardConfig;
  readonly now: Date;
  /** Present only where cluster state is available; rules with `needs: 'cluster'` run only then. */
  readonly cluster: ClusterView | undefined;
  /** Who writes the policy; undefined where no one does (a `check` of files has no requester). */
  readonly user: { readonly username: string; readonly groups: readonly string[] } | undefined;
  /**
   * The GrantRequest the policy names, read live by the webhook when the controller writes a grant
   * in a profile that requires approval (approval-required); undefined when not read.
   */
  readonly grantRequest: GrantRequestLookup | undefined;
  /**
   * What admitting the policy changes (src/policy/effect), computed on first use and shared by
   * every rule of the evaluation; undefined without a usable (present, not stale) cluster view.
   */
  effect(): PolicyEffect | undefined;
  /**
   * Records a finding of the rule whose hook is running (the engine stamps its id, so a rule can
   * only ever report itself). Build `path`, `reason` and `hint` only when reporting: hooks run
   * for every element of every policy.
   */
  report(path: string, reason: string, hint: string): void;
}

/** The grant annotations as the lifecycle rules read them, read once per evaluation. */
export interface LifecycleFacts {
  grant: GrantAnnotations;
  expiry: ExpirySource;
  /** Normalized; undefined when absent or blank. */
  ticket: string | undefined;
}

export type PolicyRule = V1NetworkPolicyIngressRule | V1NetworkPolicyEgressRule;

/**
 * A rule's check: hooks the engine calls during its one pass over the policy (src/policy/walk.ts).
 * Implement only the hooks you need. At each point of the walk the hooks of all rules run in
 * catalog order, so findings come out in walk order first, catalog order second:
 *
 *   start(ctx)                                   once, before the walk; returns this rule's state
 *   policy(ctx, policy)                          once
 *   for each direction in effect, each rule i:
 *     rule(ctx, direction, i, rule)
 *     peers(ctx, direction, i, peers)            from/to, undefined when missing
 *     for each peer j:
 *       peer(ctx, direction, i, peer, j)
 *       ipBlock(ctx, direction, i, peer, j, cidr)   only when the peer's ipBlock.cidr parses
 *     peersEnd(ctx, direction, i, cidrs)         every parsed cidr of this rule's peers, in order
 *                                                (also when there are no peers: cidrs is empty)
 *     ports(ctx, direction, i, ports)            undefined when missing
 *     for each port k:
 *       port(ctx, direction, i, port, k)
 *   finish(ctx)                                  once, after the walk: report accumulated totals
 *   lifecycle(ctx, facts)                        after finish, unless the requester is permanent
 *
 * Hooks are called as plain functions (no `this`). Every hook gets the rule's own per-evaluation `state` last (what `start` returned; undefined
 * without `start`). Accumulate there, never in module variables: evaluations must not share state.
 */
export interface RuleCheck<State = undefined> {
  start?(ctx: RuleContext): State;
  policy?(ctx: RuleContext, policy: V1NetworkPolicy, state: State): void;
  rule?(ctx: RuleContext, direction: Direction, ruleIndex: number, rule: PolicyRule, state: State): void;
  peers?(ctx: RuleContext, direction: Direction, ruleIndex: number, peers: readonly V1NetworkPolicyPeer[] | undefined, state: State): void;
  peer?(ctx: RuleContext, direction: Direction, ruleIndex: number, peer: V1NetworkPolicyPeer, peerIndex: number, state: State): void;
  ipBlock?(
    ctx: RuleContext,
    direction: Direction,
    ruleIndex: number,
    peer: V1NetworkPolicyPeer,
    peerIndex: number,
    cidr: Cidr,
    state: State,
  ): void;
  peersEnd?(ctx: RuleContext, direction: Direction, ruleIndex: number, cidrs: readonly Cidr[], state: State): void;
  ports?(ctx: RuleContext, direction: Direction, ruleIndex: number, ports: readonly V1NetworkPolicyPort[] | undefined, state: State): void;
  port?(ctx: RuleContext, direction: Direction, ruleIndex: number, port: V1NetworkPolicyPort, portIndex: number, state: State): void;
  finish?(ctx: RuleContext, state: State): void;
  lifecycle?(ctx: RuleContext, facts: LifecycleFacts, state: State): void;
}

/** Everything about one rule: its documentation, its config default, its grant flag and its check. */
export interface RuleDefinition<Id extends string = string> {
  readonly id: Id;
  readonly family: RuleFamily;
  /** One line: what is wrong (SARIF shortDescription). */
  readonly summary: string;
  /** The condition in the README's rule table; may name config keys and their defaults. */
  readonly firesWhen: string;
  /** A paragraph: why it matters (SARIF fullDescription, `check --explain`). */
  readonly explanation: string;
  /** How to fix it (SARIF help). */
  readonly fix: string;
  /** `grant` flags that change the offending field, joined with `/` when there are several. */
  readonly grant: readonly GrantFlagRef[];
  readonly needs: RuleNeeds;
  /**
   * Optional parts of the cluster view the rule reads (ClusterView.provides); with a view that
   * lacks one, the rule is skipped as without a view (listed, not run on "no pods").
   */
  readonly viewParts?: readonly ClusterViewPart[];
  /** The action when the config does not name the rule. */
  readonly defaultAction: RuleAction;
  /**
   * `warn`: for a permanent principal a deny of this rule is only a warning. For rules whose
   * harm is an accident of an access request (isolates-pods): a platform team laying a baseline
   * policy isolates pods on purpose, and must be told what it cuts, not stopped.
   */
  readonly forPermanentPrincipals?: 'warn';
  /**
   * Whether the rule can fire at all under this config (default: always). A cluster rule that
   * cannot (a quota left unlimited) is not reported as skipped when the view is missing or stale,
   * so an unused feature never makes a stale view deny.
   */
  readonly activeUnder?: (config: GuardConfig) => boolean;
  // State is private to the rule (any here): the engine only hands back what its `start` returned.
  readonly check: RuleCheck<any>;
}

/**
 * Typed constructor for a rule file: keeps the id a literal type (the catalog checks it sits at
 * its place) and ties the hooks' state type to `start`.
 */
export function defineRule<const Id extends string, State = undefined>(
  definition: Omit<RuleDefinition<Id>, 'check'> & { check: RuleCheck<State> },
): RuleDefinition<Id> {
  return definition;
}
