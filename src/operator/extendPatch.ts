import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { AnnotationKeys } from '../lifecycle/annotations.js';
import { normalizeTicket } from '../lifecycle/ticket.js';
import { formatTimestamp } from '../lifecycle/timestamp.js';

export interface Extension {
  ttl: string;
  expiresAt: Date;
  ticket?: string;
}

export interface ExtensionPatch extends Record<string, unknown> {
  metadata: { resourceVersion?: string; annotations: Record<string, string> };
}

/**
 * The merge patch for `extend`. Both ttl and expires-at are written: the mutator keeps an
 * unchanged ttl's old expiry (a re-applied manifest must not move it), so a ttl alone would not
 * extend a grant whose ttl text is the same, nor any grant where the mutator is not installed.
 * An explicit expires-at is the contract's way to say "this instant"; the validator still judges
 * it against maxTTL and maxLifetime. The resourceVersion makes the patch fail with 409 rather
 * than overwrite a change made since the read.
 */
export function extensionPatch(current: V1NetworkPolicy, keys: AnnotationKeys, extension: Extension): ExtensionPatch {
  const annotations: Record<string, string> = {
    [keys.ttl]: extension.ttl,
    [keys.expiresAt]: formatTimestamp(extension.expiresAt),
  };
  if (extension.ticket !== undefined) annotations[keys.ticket] = normalizeTicket(extension.ticket);
  const resourceVersion = current.metadata?.resourceVersion;
  return { metadata: { ...(resourceVersion !== undefined && { resourceVersion }), annotations } };
}
