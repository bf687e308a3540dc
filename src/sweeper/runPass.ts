import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { GuardConfig } from '../config/types.js';
import { describeApiError } from '../kube/apiErrors.js';
import { listPages } from '../kube/pagedList.js';
import { hasTemporaryLabel, sweepDecisionFor, type SweepDecision } from './decide.js';
import type { PolicyApi } from './kubeApi.js';
import type { Limiter } from './limiter.js';
import type { SweeperMetrics } from './metrics.js';
import type { GrantReaper } from './reaper.js';

export interface PassSummary {
  /** Policies the list returned (counting a restarted list's repeats). */
  listed: number;
  deleted: number;
  alreadyGone: number;
  dryRun: number;
  /** Valid grants not yet due. */
  kept: number;
  invalid: number;
  /** Returned by the list without the temporary label (the server ignored the selector); untouched. */
  ignored: number;
  failed: number;
  /** Times the list restarted from scratch because a continue token expired. */
  listRestarts: number;
  /** False when the list itself failed: some grants may not have been looked at. */
  complete: boolean;
}

export interface PassContext {
  api: PolicyApi;
  reaper: GrantReaper;
  limiter: Limiter;
  logger: Logger;
  metrics: SweeperMetrics;
  config: Pick<GuardConfig, 'keys'>;
  /** The API server's time as estimated; decisions use it. */
  decisionNow: () => Date;
  namespace: string | undefined;
  labelSelector: string;
  pageSize: number;
}

/**
 * Once mode: one paginated pass over every temporary grant. Holds one page at a time (two while
 * the next is prefetched). Never throws; see PassSummary.complete.
 */
export async function runPass(ctx: PassContext): Promise<PassSummary> {
  const summary: PassSummary = {
    listed: 0, deleted: 0, alreadyGone: 0, dryRun: 0, kept: 0, invalid: 0, ignored: 0, failed: 0, listRestarts: 0, complete: false,
  };
  try {
    const pages = listPages(
      (continueToken) =>
        ctx.api.listPage({ namespace: ctx.namespace, labelSelector: ctx.labelSelector, limit: ctx.pageSize, continueToken }),
      {
        progress: () => summary.deleted + summary.alreadyGone,
        onRestart: (restartsWithoutProgress) => {
          summary.listRestarts++;
          ctx.logger.warn({ restartsWithoutProgress }, 'list continue token expired; restarting the list from the beginning');
        },
      },
    );
    for await (const page of pages) {
      summary.listed += page.items.length;
      await sweepPage(ctx, page.items, summary);
    }
    summary.complete = true;
  } catch (err) {
    ctx.metrics.failures.inc({ operation: 'list' });
    ctx.logger.error({ error: describeApiError(err) }, 'could not list temporary grants; pass incomplete');
  }
  await ctx.limiter.idle();
  return summary;
}

/**
 * Sweep one listed page. Nearly every grant on it is not yet due; those are settled right here
 * from the listed copy (a keep needs no API call, so no limiter job or promise per grant). Every
 * other policy goes to the reaper, which decides again on its own and is the only one to act.
 */
function sweepPage(ctx: PassContext, items: V1NetworkPolicy[], summary: PassSummary): Promise<void> {
  const now = ctx.decisionNow();
  let reaping: Promise<void>[] | undefined;
  for (const policy of items) {
    let decision: SweepDecision | undefined;
    try {
      decision = sweepDecisionFor(policy, ctx.config, now);
    } catch {
      // Left to sweepListed, which reports whatever the reaper throws without ending the pass.
      decision = undefined;
    }
    if (decision?.action === 'keep') {
      countKept(ctx, policy, decision, summary);
      continue;
    }
    (reaping ??= []).push(ctx.limiter.run(() => sweepListed(ctx, policy, summary)));
  }
  return reaping === undefined ? Promise.resolve() : Promise.all(reaping).then(() => undefined);
}

async function sweepListed(ctx: PassContext, policy: V1NetworkPolicy, summary: PassSummary): Promise<void> {
  let outcome;
  try {
    outcome = await ctx.reaper.reap(policy);
  } catch (err) {
    // reap() reports API failures as outcomes; anything thrown is a bug, but must not end the pass.
    summary.failed++;
    ctx.logger.error(
      { namespace: policy.metadata?.namespace, name: policy.metadata?.name, error: err instanceof Error ? err.stack : String(err) },
      'unexpected error while sweeping a grant',
    );
    return;
  }
  switch (outcome.kind) {
    case 'deleted':
      summary.deleted++;
      return;
    case 'already-gone':
      summary.alreadyGone++;
      return;
    case 'dry-run':
      summary.dryRun++;
      return;
    case 'invalid':
      summary.invalid++;
      return;
    case 'failed':
    case 'stood-down':
      summary.failed++;
      return;
    case 'kept':
      countKept(ctx, outcome.policy, outcome.decision, summary);
  }
}

function countKept(ctx: PassContext, policy: V1NetworkPolicy, decision: SweepDecision, summary: PassSummary): void {
  if (decision.expiresAt !== undefined) {
    summary.kept++;
  } else if (!hasTemporaryLabel(policy, ctx.config)) {
    summary.ignored++;
    warnUnselected(ctx.logger, policy, decision.reason);
  }
}

export function warnUnselected(logger: Logger, policy: V1NetworkPolicy, reason: string): void {
  logger.warn(
    { namespace: policy.metadata?.namespace, name: policy.metadata?.name, reason },
    'API server returned a policy the label selector should have excluded; leaving it alone',
  );
}
