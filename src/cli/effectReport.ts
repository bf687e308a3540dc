/**
 * The one code path behind `explain` and `grant --dry-run`: read the cluster once with the user's
 * kubeconfig (namespaces and pods as metadata, the namespace's NetworkPolicies), judge the policy
 * as the webhook would (the profile chosen from the live namespace's labels), and print the
 * report. Sends nothing but GETs.
 */
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { MemoryClusterView } from '../cluster/memoryView.js';
import { loadClusterSnapshot } from '../cluster/snapshotLoader.js';
import { chooseProfile } from '../config/profiles.js';
import type { GuardConfig } from '../config/types.js';
import { describeApiError } from '../kube/apiErrors.js';
import type { MetadataClient } from '../kube/metadataClient.js';
import { evaluatePolicy, type RequestUser } from '../policy/evaluate.js';
import { effectDot, effectJson, formatEffectText } from '../policy/effect/report.js';

export const EFFECT_OUTPUTS = ['text', 'json', 'dot'] as const;
export type EffectOutput = (typeof EFFECT_OUTPUTS)[number];

export function isEffectOutput(text: string): text is EffectOutput {
  return (EFFECT_OUTPUTS as readonly string[]).includes(text);
}

export interface EffectReportInput {
  client: MetadataClient;
  /** The API server's URL, for messages. */
  server: string;
  policy: V1NetworkPolicy;
  namespace: string;
  /** The top-level config; the profile is chosen here from the live namespace, as the webhook does. */
  config: GuardConfig;
  user: RequestUser;
  now: Date;
  output: EffectOutput;
}

export interface ReportSink {
  stdout(text: string): void;
  /** One line (or several) on stderr, prefixed with the command. */
  say(text: string): void;
}

/** Exit status: 0 the webhook would admit it, 1 it would deny it, 2 the cluster could not be read. */
export async function printEffectReport(input: EffectReportInput, sink: ReportSink): Promise<0 | 1 | 2> {
  const { namespace } = input;
  let view: MemoryClusterView;
  try {
    view = new MemoryClusterView(await loadClusterSnapshot(input.client, namespace));
  } catch (err) {
    sink.say(`cannot read the cluster at ${input.server}: ${describeApiError(err)}`);
    return 2;
  }
  // The API server refuses a policy in a namespace that does not exist; so does the report,
  // rather than judging it by a profile chosen without the namespace's labels.
  if (view.namespaceLabels(namespace) === undefined) {
    sink.say(`namespace "${namespace}" not found in the cluster at ${input.server}`);
    return 2;
  }
  // The namespace's labels are known (just read), so the choice is the webhook's own.
  const profile = chooseProfile(input.config, namespace, view).config;
  const evaluation = evaluatePolicy({
    operation: 'CREATE',
    policy: input.policy,
    namespace,
    user: input.user,
    config: profile,
    now: input.now,
    cluster: view,
  });
  const effect = evaluation.effect;
  if (effect === undefined) {
    // Exempt namespace, or a policy that grants nothing: the webhook does not judge it.
    sink.say(`the webhook does not judge this policy (${evaluation.disposition}); nothing to explain`);
    return evaluation.allowed ? 0 : 1;
  }
  if (input.output === 'json') sink.stdout(`${JSON.stringify(effectJson(effect, evaluation), null, 2)}\n`);
  else if (input.output === 'dot') sink.stdout(effectDot(effect));
  else sink.stdout(formatEffectText(effect, evaluation));
  return evaluation.allowed ? 0 : 1;
}
