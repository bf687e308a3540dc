/**
 * The rule catalog: every rule netpol-guard knows, in the order its findings are reported and
 * documented. Everything else about rules derives from here: RuleId, the config schema's `rules`
 * keys and their defaults, the SARIF rule descriptions, `grant`'s fix flags, and the README rule
 * table and manifests/config.yaml (tests fail when those drift).
 *
 * Adding a rule:
 *   1. Write `src/policy/rules/<id>.ts` exporting `defineRule({ id, family, summary, firesWhen,
 *      explanation, fix, grant, needs, defaultAction, check })`. `check` implements only the
 *      hooks it needs (see RuleCheck in ./types.ts for the hooks and the order they run in); a
 *      rule that totals over the whole policy returns its accumulator from `start` and reports
 *      in `finish`.
 *   2. Add its id to RULE_IDS and the rule to RULES below, at the same position (the compiler
 *      checks they line up). The position decides where its findings sort among others'.
 *   3. Add its row to README.md "## Rules" and its key to manifests/config.yaml `rules:` (the
 *      drift tests print the expected text), and a test under test/unit/policy/rules/.
 *
 * Ids are a public contract (configs, dashboards and alerts key on them): never rename one.
 */
import { blastRadiusPeers } from './blast-radius-peers.js';
import { blastRadiusTargets } from './blast-radius-targets.js';
import { expiryInPast } from './expiry-in-past.js';
import { expiryInvalid } from './expiry-invalid.js';
import { expiryMissing } from './expiry-missing.js';
import { expiryTooFar } from './expiry-too-far.js';
import { isolatesPods } from './isolates-pods.js';
import { ipblockAllAddresses } from './ipblock-all-addresses.js';
import { ipblockForbidden } from './ipblock-forbidden.js';
import { ipblockTooWide } from './ipblock-too-wide.js';
import { ipblockTotalTooWide } from './ipblock-total-too-wide.js';
import { lifetimeExceeded } from './lifetime-exceeded.js';
import { namespaceSelectorAll } from './namespace-selector-all.js';
import { peerAny } from './peer-any.js';
import { podSelectorAllPeer } from './pod-selector-all-peer.js';
import { policyTooLarge } from './policy-too-large.js';
import { portAny } from './port-any.js';
import { portRangeTooWide } from './port-range-too-wide.js';
import { portsTotalTooWide } from './ports-total-too-wide.js';
import { targetAllPods } from './target-all-pods.js';
import { targetSelectsNothing } from './target-selects-nothing.js';
import { ticketInvalid } from './ticket-invalid.js';
import { ticketMissing } from './ticket-missing.js';
import { grantRecreated } from './grant-recreated.js';
import { quotaNamespaceExceeded } from './quota-namespace-exceeded.js';
import { quotaRequesterExceeded } from './quota-requester-exceeded.js';
import { approvalRequired } from './approval-required.js';
import type { RuleDefinition, RuleFamily } from './types.js';

export const RULE_IDS = [
  'policy-too-large',
  'ipblock-all-addresses',
  'ipblock-too-wide',
  'ipblock-total-too-wide',
  'ipblock-forbidden',
  'namespace-selector-all',
  'pod-selector-all-peer',
  'target-all-pods',
  'peer-any',
  'port-any',
  'port-range-too-wide',
  'ports-total-too-wide',
  'target-selects-nothing',
  'isolates-pods',
  'blast-radius-targets',
  'blast-radius-peers',
  'expiry-missing',
  'expiry-invalid',
  'expiry-in-past',
  'expiry-too-far',
  'lifetime-exceeded',
  'ticket-missing',
  'ticket-invalid',
  'approval-required',
  'quota-namespace-exceeded',
  'quota-requester-exceeded',
  'grant-recreated',
] as const;

export type RuleId = (typeof RULE_IDS)[number];

/** One definition per id, position for position: a rule at the wrong place does not compile. */
type RuleTable<Ids extends readonly string[]> = { readonly [K in keyof Ids]: RuleDefinition<Ids[K]> };

export const RULES: RuleTable<typeof RULE_IDS> = [
  policyTooLarge,
  ipblockAllAddresses,
  ipblockTooWide,
  ipblockTotalTooWide,
  ipblockForbidden,
  namespaceSelectorAll,
  podSelectorAllPeer,
  targetAllPods,
  peerAny,
  portAny,
  portRangeTooWide,
  portsTotalTooWide,
  targetSelectsNothing,
  isolatesPods,
  blastRadiusTargets,
  blastRadiusPeers,
  expiryMissing,
  expiryInvalid,
  expiryInPast,
  expiryTooFar,
  lifetimeExceeded,
  ticketMissing,
  ticketInvalid,
  approvalRequired,
  quotaNamespaceExceeded,
  quotaRequesterExceeded,
  grantRecreated,
];

const BY_ID = new Map<string, RuleDefinition<RuleId>>((RULES as readonly RuleDefinition<RuleId>[]).map((rule) => [rule.id, rule]));

export function isRuleId(value: string): value is RuleId {
  return BY_ID.has(value);
}

export function ruleById(id: RuleId): RuleDefinition<RuleId> {
  return BY_ID.get(id)!;
}

/** The ids of one family, in catalog order. */
export function ruleIdsOf(family: RuleFamily): RuleId[] {
  return (RULES as readonly RuleDefinition<RuleId>[]).filter((rule) => rule.family === family).map((rule) => rule.id);
}
