import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { GuardConfig } from '../config/types.js';
import { readGrantAnnotations, type Parsed } from '../lifecycle/annotations.js';
import { formatTimestamp } from '../lifecycle/timestamp.js';
import { describeApiError } from '../kube/apiErrors.js';
import { sweepDecisionFor, type SweepDecision } from './decide.js';
import { buildExpiredEvent, buildInvalidExpiryEvent, type PolicyRef } from './events.js';
import type { PolicyApi } from './kubeApi.js';
import type { SweeperMetrics } from './metrics.js';

export type ReapOutcome =
  | { kind: 'already-gone' | 'dry-run' | 'invalid' }
  /** Deleted by this process: `policy` is the version deleted, `lagSeconds` its deletion minus expires-at. */
  | { kind: 'deleted'; policy: V1NetworkPolicy; expiresAt: Date; deletedAt: Date; lagSeconds: number }
  /** Leadership ended (or was never held) before the delete could be sent: nothing was done. */
  | { kind: 'stood-down' }
  /** Not (or no longer) due: `policy` is the copy the decision was made on. */
  | { kind: 'kept'; decision: SweepDecision; policy: V1NetworkPolicy }
  | { kind: 'failed'; error: string };

export interface ReaperOptions {
  api: PolicyApi;
  config: Pick<GuardConfig, 'keys'>;
  /** The time expiry is judged by: the API server's, as estimated (see ServerClock). */
  clock: { now(): Date };
  logger: Logger;
  metrics: SweeperMetrics;
  dryRun: boolean;
  /** reportingInstance of Events: the pod name, so replicas can be told apart. */
  instance: string;
  /**
   * Whether this process may delete and write Events right now (leader election); asked right
   * before each delete and each invalid-grant Event. Absent: always.
   */
  mayAct?: () => boolean;
}

/**
 * How often a 409 (the policy changed between our read and our delete) is followed by a re-read
 * and a new decision before giving up until the next pass. Each round needs a fresh change by
 * someone else, so hitting the limit means a policy is being rewritten continuously.
 */
const MAX_CONFLICT_ROUNDS = 3;

/**
 * Deletes one expired grant safely: decides on the copy it has, deletes with uid+resourceVersion
 * preconditions so only that exact version can go, and on conflict re-reads and decides again, so
 * a grant extended in the meantime survives. Writes the audit line, the Event and the metrics.
 */
export class GrantReaper {
  private readonly opts: ReaperOptions;
  /** uid → resourceVersion (and the pass that saw it) already reported as invalid. */
  private readonly reportedInvalid = new Map<string, { resourceVersion: string; pass: number }>();

  constructor(options: ReaperOptions) {
    this.opts = options;
  }

  /** Re-read the named policy, then reap it. Used when a scheduled grant falls due. */
  async reapByRef(ref: { namespace: string; name: string }): Promise<ReapOutcome> {
    let fresh: V1NetworkPolicy | undefined;
    try {
      fresh = await this.opts.api.read(ref.namespace, ref.name);
    } catch (err) {
      return this.failed('read', ref, err);
    }
    if (fresh === undefined) {
      this.opts.metrics.deletions.inc({ outcome: 'already-gone' });
      this.opts.logger.info({ namespace: ref.namespace, name: ref.name }, 'grant already gone');
      return { kind: 'already-gone' };
    }
    return this.reap(fresh);
  }

  /** Delete `policy` if it is an expired grant; `policy` should be the freshest copy at hand. */
  async reap(policy: V1NetworkPolicy, pass = 0): Promise<ReapOutcome> {
    const { api, clock, config, metrics, logger } = this.opts;
    let current = policy;
    for (let round = 1; ; round++) {
      const decision = sweepDecisionFor(current, config, clock.now());
      if (decision.action === 'invalid') {
        await this.reportInvalid(current, decision, pass);
        return { kind: 'invalid' };
      }
      if (decision.action === 'keep') return { kind: 'kept', decision, policy: current };

      const ref = policyRef(current);
      if (ref === undefined) {
        // Preconditions are the whole safety story; without uid and resourceVersion, do nothing.
        const where = { namespace: current.metadata?.namespace, name: current.metadata?.name };
        metrics.failures.inc({ operation: 'delete' });
        logger.error(where, 'expired grant has no uid/resourceVersion; refusing to delete without preconditions');
        return { kind: 'failed', error: 'missing uid or resourceVersion' };
      }
      const expiresAt = decision.expiresAt!;
      if (this.opts.dryRun) {
        metrics.deletions.inc({ outcome: 'dry-run' });
        this.audit(current, ref, expiresAt, undefined);
        return { kind: 'dry-run' };
      }

      // The last moment to notice that leadership has ended: nothing is deleted after that.
      if (!this.mayAct()) return { kind: 'stood-down' };
      let result;
      try {
        result = await api.deleteWithPreconditions(ref);
      } catch (err) {
        return this.failed('delete', ref, err);
      }
      if (result === 'deleted') {
        const deletedAt = clock.now();
        const lagSeconds = this.audit(current, ref, expiresAt, deletedAt);
        metrics.deletions.inc({ outcome: 'deleted' });
        metrics.expiryLag.observe(Math.max(0, lagSeconds));
        await this.recordExpiredEvent(current, ref, expiresAt, deletedAt, lagSeconds);
        return { kind: 'deleted', policy: current, expiresAt, deletedAt, lagSeconds };
      }
      if (result === 'gone') {
        metrics.deletions.inc({ outcome: 'already-gone' });
        logger.info({ namespace: ref.namespace, name: ref.name, uid: ref.uid }, 'grant already gone');
        return { kind: 'already-gone' };
      }
      // 409: the object is no longer the version we decided on. Look again before doing anything.
      if (round >= MAX_CONFLICT_ROUNDS) {
        metrics.failures.inc({ operation: 'delete' });
        logger.error(
          { namespace: ref.namespace, name: ref.name, uid: ref.uid, rounds: round },
          'grant keeps changing under the sweeper; leaving it for the next pass',
        );
        return { kind: 'failed', error: 'conflict' };
      }
      logger.info({ namespace: ref.namespace, name: ref.name, uid: ref.uid }, 'grant changed since it was read; re-reading');
      let fresh: V1NetworkPolicy | undefined;
      try {
        fresh = await api.read(ref.namespace, ref.name);
      } catch (err) {
        return this.failed('read', ref, err);
      }
      if (fresh === undefined) {
        metrics.deletions.inc({ outcome: 'already-gone' });
        logger.info({ namespace: ref.namespace, name: ref.name, uid: ref.uid }, 'grant already gone');
        return { kind: 'already-gone' };
      }
      current = fresh;
    }
  }

  /**
   * Log, count and record an Event for a labelled policy whose expiry cannot be read, once per
   * uid+resourceVersion in this process; the Event's deterministic name extends "once" across
   * processes. `pass` lets a full relist forget policies that disappeared (see pruneInvalid).
   */
  async reportInvalid(policy: V1NetworkPolicy, decision: SweepDecision, pass = 0): Promise<void> {
    const { metrics, logger, api, clock } = this.opts;
    const ref = policyRef(policy);
    const where = { namespace: policy.metadata?.namespace, name: policy.metadata?.name, uid: policy.metadata?.uid };
    if (ref === undefined) {
      logger.warn({ ...where, reason: decision.reason }, 'invalid grant: not deleting');
      return;
    }
    // A standby says nothing; the leader reports it (a takeover relists, so it is reported then).
    if (!this.mayAct()) return;
    const seen = this.reportedInvalid.get(ref.uid);
    if (seen !== undefined && seen.resourceVersion === ref.resourceVersion) {
      seen.pass = Math.max(seen.pass, pass);
      return;
    }
    this.reportedInvalid.set(ref.uid, { resourceVersion: ref.resourceVersion, pass });
    metrics.invalidGrants.inc();
    logger.warn({ ...where, resourceVersion: ref.resourceVersion, reason: decision.reason }, 'invalid grant: not deleting');
    try {
      await api.createEvent(buildInvalidExpiryEvent(ref, decision.reason, clock.now(), this.opts.instance));
    } catch (err) {
      metrics.failures.inc({ operation: 'event' });
      logger.warn({ ...where, reason: 'InvalidExpiry', error: describeApiError(err) }, 'could not record Event');
    }
  }

  private mayAct(): boolean {
    return this.opts.mayAct?.() ?? true;
  }

  /** The policy was deleted or became valid: a later invalid version must be reported afresh. */
  forgetInvalid(uid: string): void {
    this.reportedInvalid.delete(uid);
  }

  /** Forget invalid policies not seen by pass `pass` (they were deleted while no watch ran). */
  pruneInvalid(pass: number): void {
    for (const [uid, seen] of this.reportedInvalid) if (seen.pass < pass) this.reportedInvalid.delete(uid);
  }

  /** The audit line; returns lagSeconds (deletion, or for a dry run now, minus expires-at). */
  private audit(policy: V1NetworkPolicy, ref: PolicyRef, expiresAt: Date, deletedAt: Date | undefined): number {
    const grant = readGrantAnnotations(policy, this.opts.config.keys);
    const at = deletedAt ?? this.opts.clock.now();
    const lagSeconds = Math.round(at.getTime() - expiresAt.getTime()) / 1_000;
    this.opts.logger.info(
      {
        audit: true,
        namespace: ref.namespace,
        name: ref.name,
        uid: ref.uid,
        ticket: clip(grant.ticket),
        requestedBy: clip(grant.requestedBy),
        grantedAt: timestampText(grant.grantedAt),
        expiresAt: formatTimestamp(expiresAt),
        deletedAt: deletedAt === undefined ? null : deletedAt.toISOString(),
        lagSeconds,
        dryRun: this.opts.dryRun,
      },
      'grant expired',
    );
    return lagSeconds;
  }

  private async recordExpiredEvent(
    policy: V1NetworkPolicy,
    ref: PolicyRef,
    expiresAt: Date,
    deletedAt: Date,
    lagSeconds: number,
  ): Promise<void> {
    const ticket = readGrantAnnotations(policy, this.opts.config.keys).ticket;
    const event = buildExpiredEvent(ref, { expiresAt, deletedAt, ticket, lagSeconds }, this.opts.instance);
    try {
      await this.opts.api.createEvent(event);
    } catch (err) {
      // The grant is gone, which is what matters; a missing Event is logged and counted only.
      this.opts.metrics.failures.inc({ operation: 'event' });
      this.opts.logger.warn(
        { namespace: ref.namespace, name: ref.name, uid: ref.uid, reason: 'Expired', error: describeApiError(err) },
        'could not record Event',
      );
    }
  }

  private failed(
    operation: 'read' | 'delete',
    ref: { namespace: string; name: string; uid?: string },
    err: unknown,
  ): ReapOutcome {
    const error = describeApiError(err);
    this.opts.metrics.failures.inc({ operation });
    this.opts.logger.error({ namespace: ref.namespace, name: ref.name, uid: ref.uid, operation, error }, 'could not remove expired grant');
    return { kind: 'failed', error };
  }
}

/** namespace/name/uid/resourceVersion, or undefined when the object lacks any of them. */
export function policyRef(policy: V1NetworkPolicy): PolicyRef | undefined {
  const m = policy.metadata;
  if (!m || !m.namespace || !m.name || !m.uid || !m.resourceVersion) return undefined;
  return { namespace: m.namespace, name: m.name, uid: m.uid, resourceVersion: m.resourceVersion };
}

function timestampText(field: Parsed<Date>): string | undefined {
  if (field.state === 'valid') return formatTimestamp(field.value);
  if (field.state === 'invalid') return clip(field.raw);
  return undefined;
}

/** Annotation values are user-written; keep audit lines bounded. */
function clip(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.length > 256 ? `${value.slice(0, 256)}…` : value;
}
