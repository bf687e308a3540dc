// Over 400 lines: the rule tables and the single-pass walk share private types and must stay one hot-path module.
import type { V1NetworkPolicy, V1NetworkPolicyPeer, V1NetworkPolicyPort } from '@kubernetes/client-node';
import type { ClusterView, ClusterViewPart } from '../cluster/view.js';
import type { GuardConfig } from '../config/types.js';
import { type Cidr, parseCidr } from './cidr.js';
import { analyzeEffect, type PolicyEffect } from './effect/analyze.js';
import { directionsInEffect, rulePeers } from './breadth.js';
import { RULES, type RuleId } from './rules/index.js';
import type { Direction, LifecycleFacts, RuleCheck, RuleContext, RuleDefinition } from './rules/types.js';

/** A finding before config decides its action. */
export interface RawFinding {
  ruleId: RuleId;
  path: string;
  reason: string;
  hint: string;
}

/**
 * A rule that did not run, and why: it needs a cluster view and none is usable, or the view it was
 * given lacks a part it reads (pods, every NetworkPolicy). Only the first follows onUnavailable:
 * the second is how the view was built, not a moment's staleness, so "retry" would never help.
 */
export interface SkippedRule {
  ruleId: RuleId;
  reason: 'needs a cluster view' | 'needs pods and every NetworkPolicy in the cluster view, which this one does not hold';
}

type Hooks = Required<RuleCheck<unknown>>;

/**
 * The rules implementing one hook, as parallel arrays: the hook functions, their rule ids and
 * where each rule's state sits (-1: stateless). Plain arrays of one shape keep the per-element
 * dispatch cheap; hooks are called as plain functions (no `this`).
 */
interface HookList<F> {
  fns: F[];
  ids: RuleId[];
  slots: number[];
}

/** The hooks of a set of rules, grouped by hook so the walk calls only rules that implement it. */
interface HookTable {
  slots: number;
  start: HookList<Hooks['start']>;
  policy: HookList<Hooks['policy']>;
  rule: HookList<Hooks['rule']>;
  peers: HookList<Hooks['peers']>;
  peer: HookList<Hooks['peer']>;
  ipBlock: HookList<Hooks['ipBlock']>;
  peersEnd: HookList<Hooks['peersEnd']>;
  ports: HookList<Hooks['ports']>;
  port: HookList<Hooks['port']>;
  finish: HookList<Hooks['finish']>;
  lifecycle: HookList<Hooks['lifecycle']>;
  skipped: SkippedRule[];
}

/**
 * A compiled set of rules, ready to run. Built once (at start-up for the catalog), so an
 * evaluation only walks prepared lists.
 */
export interface RuleSet {
  readonly rules: readonly RuleDefinition<RuleId>[];
  /** Every rule runs: a usable cluster view is present. */
  readonly withCluster: HookTable;
  /** Rules that need a cluster view are left out (and listed as skipped). */
  readonly withoutCluster: HookTable;
  /** A view lacking some optional parts: the table per (usable, missing parts), built on first use. */
  readonly partialCluster: Map<string, HookTable>;
}

export function compileRules(rules: readonly RuleDefinition<RuleId>[]): RuleSet {
  return { rules, withCluster: hookTable(rules, true), withoutCluster: hookTable(rules, false), partialCluster: new Map() };
}

const VIEW_PARTS: readonly ClusterViewPart[] = ['pods', 'policies'];

/**
 * The table for a given view: every rule when it is usable and whole; a rule reading a part the
 * view does not hold is skipped for that (even when the view is stale: retrying would not help).
 */
function clusterTable(rules: RuleSet, cluster: ClusterView, usable: boolean): HookTable {
  const missing = VIEW_PARTS.filter((part) => !cluster.provides(part));
  if (missing.length === 0) return usable ? rules.withCluster : rules.withoutCluster;
  const key = `${usable ? 'usable' : 'stale'}:${missing.join(',')}`;
  let table = rules.partialCluster.get(key);
  if (table === undefined) {
    table = hookTable(rules.rules, usable, new Set(missing));
    rules.partialCluster.set(key, table);
  }
  return table;
}

export const CATALOG_RULES: RuleSet = compileRules(RULES as readonly RuleDefinition<RuleId>[]);

function hookTable(rules: readonly RuleDefinition<RuleId>[], clusterUsable: boolean, missingParts: ReadonlySet<ClusterViewPart> = new Set()): HookTable {
  const skipped: SkippedRule[] = [];
  const running: { id: RuleId; check: RuleCheck<unknown>; slot: number }[] = [];
  let slots = 0;
  for (const rule of rules) {
    if ((rule.viewParts ?? []).some((part) => missingParts.has(part))) {
      skipped.push({ ruleId: rule.id, reason: 'needs pods and every NetworkPolicy in the cluster view, which this one does not hold' });
      continue;
    }
    if (rule.needs === 'cluster' && !clusterUsable) {
      skipped.push({ ruleId: rule.id, reason: 'needs a cluster view' });
      continue;
    }
    running.push({ id: rule.id, check: rule.check as RuleCheck<unknown>, slot: rule.check.start ? slots++ : -1 });
  }
  const having = <K extends keyof Hooks>(hook: K): HookList<Hooks[K]> => {
    const list: HookList<Hooks[K]> = { fns: [], ids: [], slots: [] };
    for (const r of running) {
      const fn = r.check[hook];
      if (fn === undefined) continue;
      list.fns.push(fn as Hooks[K]);
      list.ids.push(r.id);
      list.slots.push(r.slot);
    }
    return list;
  };
  return {
    slots,
    start: having('start'),
    policy: having('policy'),
    rule: having('rule'),
    peers: having('peers'),
    peer: having('peer'),
    ipBlock: having('ipBlock'),
    peersEnd: having('peersEnd'),
    ports: having('ports'),
    port: having('port'),
    finish: having('finish'),
    lifecycle: having('lifecycle'),
    skipped,
  };
}

export interface RuleRunInput {
  policy: V1NetworkPolicy;
  operation: 'CREATE' | 'UPDATE';
  oldPolicy?: V1NetworkPolicy | undefined;
  namespace: string;
  config: GuardConfig;
  now: Date;
  cluster?: ClusterView | undefined;
  user?: RuleContext['user'];
  grantRequest?: RuleContext['grantRequest'];
}

/**
 * One evaluation's context: what every hook reads, where findings collect, and the stateful rules'
 * accumulators. A fresh one per evaluation, so nothing is shared between requests.
 */
class RuleRun implements RuleContext {
  readonly policy: V1NetworkPolicy;
  readonly operation: 'CREATE' | 'UPDATE';
  readonly oldPolicy: V1NetworkPolicy | undefined;
  readonly namespace: string;
  readonly config: GuardConfig;
  readonly now: Date;
  readonly cluster: ClusterView | undefined;
  readonly user: RuleContext['user'];
  readonly grantRequest: RuleContext['grantRequest'];
  readonly findings: RawFinding[] = [];
  readonly states: unknown[];
  /** The rule whose hook runs now; report() stamps it. */
  current: RuleId | undefined = undefined;
  /** The effect analysis once computed (null: no usable view). */
  private computedEffect: PolicyEffect | null | undefined = undefined;

  constructor(input: RuleRunInput, slots: number) {
    this.policy = input.policy;
    this.operation = input.operation;
    this.oldPolicy = input.oldPolicy;
    this.namespace = input.namespace;
    this.config = input.config;
    this.now = input.now;
    this.cluster = input.cluster;
    this.user = input.user;
    this.grantRequest = input.grantRequest;
    this.states = slots === 0 ? EMPTY_STATES : new Array<unknown>(slots);
  }

  effect(): PolicyEffect | undefined {
    if (this.computedEffect === undefined) {
      const cluster = this.cluster;
      const partial = cluster === undefined || !cluster.provides('pods') || !cluster.provides('policies');
      this.computedEffect = partial || cluster.stale() ? null : analyzeEffect({ policy: this.policy, namespace: this.namespace, cluster });
    }
    return this.computedEffect ?? undefined;
  }

  report(path: string, reason: string, hint: string): void {
    if (this.current === undefined) throw new Error('report() called outside a rule hook');
    this.findings.push({ ruleId: this.current, path, reason, hint });
  }
}

const EMPTY_STATES: unknown[] = [];

/**
 * What a null list item is to the API server: the empty struct (Go leaves the zero value), so
 * `ingress: [null]` is `ingress: [{}]` (allow all) and `ports: [null]` a port entry without a port.
 * The shape check hands the engine null-free policies; this keeps a caller that skipped it exact.
 */
const NULL_ITEM: Readonly<Record<string, never>> = Object.freeze({});

/**
 * The state of the h-th rule of a hook list. A stateless rule gets undefined without touching the
 * array: reading index -1 sends V8 down its slow generic element path (measured ~100x slower).
 */
function stateAt(run: RuleRun, slots: number[], h: number): unknown {
  const slot = slots[h]!;
  return slot < 0 ? undefined : run.states[slot];
}

/*
 * The per-element hooks (peer, ipBlock, port) run for every element of every policy, so their
 * dispatch is written out: the hooks at positions 0-3 of a list each get a call site of their
 * own. V8 inlines a call site that only ever sees one function; one shared site for all rules
 * sees several, is not inlined, and measured ~5-8x slower per element (bench/engine.ts). Rules
 * past the fourth of a hook go through the plain loop.
 */

/** The port hooks over one rule's ports (dispatch written out: see above). */
function walkPorts(run: RuleRun, list: HookList<Hooks['port']>, direction: Direction, i: number, ports: readonly V1NetworkPolicyPort[]): void {
  const { fns, ids, slots } = list;
  const n = fns.length;
  if (n === 0) return;
  const [f0, f1, f2, f3] = fns;
  for (let k = 0; k < ports.length; k++) {
    const port = ports[k] ?? NULL_ITEM;
    run.current = ids[0];
    f0!(run, direction, i, port, k, stateAt(run, slots, 0));
    if (n === 1) continue;
    run.current = ids[1];
    f1!(run, direction, i, port, k, stateAt(run, slots, 1));
    if (n === 2) continue;
    run.current = ids[2];
    f2!(run, direction, i, port, k, stateAt(run, slots, 2));
    if (n === 3) continue;
    run.current = ids[3];
    f3!(run, direction, i, port, k, stateAt(run, slots, 3));
    for (let h = 4; h < n; h++) {
      run.current = ids[h];
      fns[h]!(run, direction, i, port, k, stateAt(run, slots, h));
    }
  }
}

/** The peer hooks on one peer (dispatch written out: see above). */
function visitPeer(run: RuleRun, list: HookList<Hooks['peer']>, direction: Direction, i: number, peer: V1NetworkPolicyPeer, j: number): void {
  const { fns, ids, slots } = list;
  const n = fns.length;
  if (n === 0) return;
  run.current = ids[0];
  fns[0]!(run, direction, i, peer, j, stateAt(run, slots, 0));
  if (n === 1) return;
  run.current = ids[1];
  fns[1]!(run, direction, i, peer, j, stateAt(run, slots, 1));
  if (n === 2) return;
  run.current = ids[2];
  fns[2]!(run, direction, i, peer, j, stateAt(run, slots, 2));
  if (n === 3) return;
  run.current = ids[3];
  fns[3]!(run, direction, i, peer, j, stateAt(run, slots, 3));
  for (let h = 4; h < n; h++) {
    run.current = ids[h];
    fns[h]!(run, direction, i, peer, j, stateAt(run, slots, h));
  }
}

/** The ipBlock hooks on one parsed ipBlock (dispatch written out: see above). */
function visitIpBlock(
  run: RuleRun,
  list: HookList<Hooks['ipBlock']>,
  direction: Direction,
  i: number,
  peer: V1NetworkPolicyPeer,
  j: number,
  cidr: Cidr,
): void {
  const { fns, ids, slots } = list;
  const n = fns.length;
  if (n === 0) return;
  run.current = ids[0];
  fns[0]!(run, direction, i, peer, j, cidr, stateAt(run, slots, 0));
  if (n === 1) return;
  run.current = ids[1];
  fns[1]!(run, direction, i, peer, j, cidr, stateAt(run, slots, 1));
  if (n === 2) return;
  run.current = ids[2];
  fns[2]!(run, direction, i, peer, j, cidr, stateAt(run, slots, 2));
  if (n === 3) return;
  run.current = ids[3];
  fns[3]!(run, direction, i, peer, j, cidr, stateAt(run, slots, 3));
  for (let h = 4; h < n; h++) {
    run.current = ids[h];
    fns[h]!(run, direction, i, peer, j, cidr, stateAt(run, slots, h));
  }
}

/**
 * Runs a set of rules over one policy in a single pass (see RuleCheck for the order of hooks).
 * Pure. The loops below are the engine's hot path: every hook of every rule for every element.
 */
export class PolicyWalk {
  private readonly run: RuleRun;
  private readonly table: HookTable;

  constructor(input: RuleRunInput, rules: RuleSet = CATALOG_RULES) {
    const usable = input.cluster !== undefined && !input.cluster.stale();
    this.table = input.cluster === undefined ? rules.withoutCluster : clusterTable(rules, input.cluster, usable);
    this.run = new RuleRun(input, this.table.slots);
  }

  /** Rules of the set that did not run in this evaluation. */
  get skipped(): readonly SkippedRule[] {
    return this.table.skipped;
  }

  get findings(): RawFinding[] {
    return this.run.findings;
  }

  /** The effect analysis of this evaluation (shared with the rules that read it); undefined without a usable view. */
  effect(): PolicyEffect | undefined {
    return this.run.effect();
  }

  /** start, the policy walk and finish: every hook but lifecycle. */
  walkPolicy(): void {
    const { run, table } = this;
    const policy = run.policy;
    const { start, finish } = table;
    for (let h = 0; h < start.fns.length; h++) {
      run.current = start.ids[h];
      run.states[start.slots[h]!] = start.fns[h]!(run);
    }
    const onPolicy = table.policy;
    for (let h = 0; h < onPolicy.fns.length; h++) {
      run.current = onPolicy.ids[h];
      onPolicy.fns[h]!(run, policy, stateAt(run, onPolicy.slots, h));
    }
    const { rule: onRule, ports: onPorts, port: onPort } = table;
    for (const direction of directionsInEffect(policy)) {
      const rules = policy.spec?.[direction] ?? [];
      for (let i = 0; i < rules.length; i++) {
        const rule = rules[i] ?? NULL_ITEM;
        for (let h = 0; h < onRule.fns.length; h++) {
          run.current = onRule.ids[h];
          onRule.fns[h]!(run, direction, i, rule, stateAt(run, onRule.slots, h));
        }
        this.walkPeers(direction, i, rulePeers(rule, direction));
        const ports = rule.ports;
        for (let h = 0; h < onPorts.fns.length; h++) {
          run.current = onPorts.ids[h];
          onPorts.fns[h]!(run, direction, i, ports, stateAt(run, onPorts.slots, h));
        }
        if (ports) walkPorts(run, onPort, direction, i, ports);
      }
    }
    for (let h = 0; h < finish.fns.length; h++) {
      run.current = finish.ids[h];
      finish.fns[h]!(run, stateAt(run, finish.slots, h));
    }
    run.current = undefined;
  }

  private walkPeers(direction: Direction, i: number, peers: V1NetworkPolicyPeer[] | undefined): void {
    const { run, table } = this;
    const { peers: onPeers, peer: onPeer, ipBlock: onIpBlock, peersEnd: onPeersEnd } = table;
    for (let h = 0; h < onPeers.fns.length; h++) {
      run.current = onPeers.ids[h];
      onPeers.fns[h]!(run, direction, i, peers, stateAt(run, onPeers.slots, h));
    }
    const cidrs: Cidr[] = [];
    const count = peers ? peers.length : 0;
    for (let j = 0; j < count; j++) {
      const peer = peers![j] ?? NULL_ITEM;
      visitPeer(run, onPeer, direction, i, peer, j);
      if (!peer.ipBlock) continue;
      const parsed = parseCidr(String(peer.ipBlock.cidr));
      if (!parsed.ok) continue; // structural validation reports malformed CIDRs
      cidrs.push(parsed.cidr);
      visitIpBlock(run, onIpBlock, direction, i, peer, j, parsed.cidr);
    }
    for (let h = 0; h < onPeersEnd.fns.length; h++) {
      run.current = onPeersEnd.ids[h];
      onPeersEnd.fns[h]!(run, direction, i, cidrs, stateAt(run, onPeersEnd.slots, h));
    }
  }

  /** The lifecycle hooks, after the policy walk. */
  checkLifecycle(facts: LifecycleFacts): void {
    const { run } = this;
    const onLifecycle = this.table.lifecycle;
    for (let h = 0; h < onLifecycle.fns.length; h++) {
      run.current = onLifecycle.ids[h];
      onLifecycle.fns[h]!(run, facts, stateAt(run, onLifecycle.slots, h));
    }
    run.current = undefined;
  }
}

/**
 * The findings of the policy walk alone (no lifecycle hooks), as for a CREATE. For tests and
 * tools that judge breadth without a request; the webhook goes through evaluatePolicy.
 */
export function breadthFindings(policy: V1NetworkPolicy, config: GuardConfig, rules: RuleSet = CATALOG_RULES): RawFinding[] {
  const walk = new PolicyWalk({ policy, operation: 'CREATE', namespace: policy.metadata?.namespace ?? 'default', config, now: NO_TIME }, rules);
  walk.walkPolicy();
  return walk.findings;
}

/** The policy walk's hooks never read the time; this stands in where there is no request. */
const NO_TIME = new Date(0);
