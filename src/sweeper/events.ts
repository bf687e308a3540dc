import { createHash } from 'node:crypto';
import type { CoreV1Event } from '@kubernetes/client-node';
import { formatTimestamp } from '../lifecycle/timestamp.js';

/** `source.component` / `reportingComponent` of every Event the sweeper writes. */
export const SWEEPER_COMPONENT = 'netpol-guard-sweeper';

export const EVENT_REASON_EXPIRED = 'Expired';
export const EVENT_REASON_INVALID_EXPIRY = 'InvalidExpiry';
export const EVENT_REASON_EXPIRING_SOON = 'ExpiringSoon';

/** The policy an Event is about: exactly what involvedObject needs, nothing more. */
export interface PolicyRef {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
}

export interface ExpiredEventDetails {
  expiresAt: Date;
  deletedAt: Date;
  ticket: string | undefined;
  lagSeconds: number;
}

/**
 * Event names are derived from what the Event is about, not from the clock: the uid for
 * `Expired`, uid plus resourceVersion for `InvalidExpiry`. A second sweeper replica, or the next
 * CronJob run, that tries to record the same fact gets 409 AlreadyExists instead of a duplicate,
 * which is how "warn once per uid+resourceVersion" holds across processes with only `create` RBAC.
 */
export function eventName(policyName: string, ...identity: string[]): string {
  const digest = createHash('sha256').update(identity.join('\u0000')).digest('hex').slice(0, 16);
  // Event names are DNS subdomains (253 chars); policy names may already use all of them.
  const head = policyName.slice(0, 253 - digest.length - 1).replace(/[.-]+$/, '');
  return `${head === '' ? 'networkpolicy' : head}.${digest}`;
}

export function buildExpiredEvent(policy: PolicyRef, details: ExpiredEventDetails, instance: string): CoreV1Event {
  const ticket = details.ticket === undefined ? '' : ` (ticket ${clip(details.ticket, 100)})`;
  const message =
    `Temporary grant expired at ${formatTimestamp(details.expiresAt)}${ticket}; ` +
    `deleted by ${SWEEPER_COMPONENT} ${details.lagSeconds.toFixed(1)}s after expiry.`;
  return buildEvent(policy, eventName(policy.name, policy.uid, EVENT_REASON_EXPIRED), {
    type: 'Normal',
    reason: EVENT_REASON_EXPIRED,
    action: 'Delete',
    message,
    at: details.deletedAt,
    instance,
  });
}

export function buildInvalidExpiryEvent(policy: PolicyRef, problem: string, now: Date, instance: string): CoreV1Event {
  const message =
    `${clip(problem, 400)}. This policy is labelled temporary but the sweeper cannot tell when it ` +
    'expires, so it will never be deleted automatically: fix the expires-at annotation or remove the label.';
  return buildEvent(policy, eventName(policy.name, policy.uid, policy.resourceVersion, EVENT_REASON_INVALID_EXPIRY), {
    type: 'Warning',
    reason: EVENT_REASON_INVALID_EXPIRY,
    action: 'Skip',
    message,
    at: now,
    instance,
  });
}

/**
 * The warning that a grant expires soon. Named from uid and expiry, so it is written once per
 * expiry across restarts and takeovers (a second create gets 409), and an extension that moves
 * the expiry gets a fresh one.
 */
export function buildExpiringSoonEvent(policy: PolicyRef, details: { expiresAt: Date; ticket: string | undefined }, now: Date, instance: string): CoreV1Event {
  const ticket = details.ticket === undefined ? '' : ` (ticket ${clip(details.ticket, 100)})`;
  const inSeconds = Math.max(0, Math.round((details.expiresAt.getTime() - now.getTime()) / 1_000));
  const message =
    `Temporary grant expires at ${formatTimestamp(details.expiresAt)}, in ${inSeconds}s${ticket}; ` +
    `${SWEEPER_COMPONENT} deletes it then unless it is extended.`;
  return buildEvent(policy, eventName(policy.name, policy.uid, String(details.expiresAt.getTime()), EVENT_REASON_EXPIRING_SOON), {
    type: 'Warning',
    reason: EVENT_REASON_EXPIRING_SOON,
    action: 'Warn',
    message,
    at: now,
    instance,
  });
}

function buildEvent(
  policy: PolicyRef,
  name: string,
  fields: { type: 'Normal' | 'Warning'; reason: string; action: string; message: string; at: Date; instance: string },
): CoreV1Event {
  // Whole seconds, like every other timestamp the API server stores in these fields.
  const at = new Date(Math.floor(fields.at.getTime() / 1_000) * 1_000);
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: policy.namespace },
    involvedObject: {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      namespace: policy.namespace,
      name: policy.name,
      uid: policy.uid,
      resourceVersion: policy.resourceVersion,
    },
    type: fields.type,
    reason: fields.reason,
    action: fields.action,
    message: fields.message,
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
    source: { component: SWEEPER_COMPONENT },
    reportingComponent: SWEEPER_COMPONENT,
    reportingInstance: clip(fields.instance, 128),
  };
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
