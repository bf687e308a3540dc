import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { GuardConfig } from '../../config/types.js';
import { type GrantAnnotations, readGrantedAt } from '../../lifecycle/annotations.js';
import { formatDuration } from '../../lifecycle/duration.js';
import { formatTimestamp } from '../../lifecycle/timestamp.js';
import { expiryPath } from './paths.js';
import { defineRule } from './types.js';

export const lifetimeExceeded = defineRule({
  id: 'lifetime-exceeded',
  family: 'lifecycle',
  summary: 'extension exceeds the maximum lifetime',
  firesWhen: 'on update, the expiry is more than `limits.maxLifetime` (72h) after granted-at',
  explanation: 'An update moves the expiry further than the configured maximum lifetime (by default 72h) from when the grant was first made.',
  fix: 'Let the grant expire and request a new one under a new ticket.',
  grant: ['for'],
  needs: 'lifecycle',
  defaultAction: 'deny',
  check: {
    lifecycle(ctx, { expiry, grant }) {
      if (ctx.operation !== 'UPDATE' || !('at' in expiry)) return;
      const grantedAt = originalGrantTime(ctx.oldPolicy, grant, ctx.config);
      if (grantedAt === undefined || expiry.at.getTime() <= grantedAt.getTime() + ctx.config.limits.maxLifetimeMs) return;
      ctx.report(
        expiryPath(expiry, ctx.config.keys),
        `expiry ${formatTimestamp(expiry.at)} is more than ${formatDuration(ctx.config.limits.maxLifetimeMs)} after the grant was made (${formatTimestamp(grantedAt)})`,
        'let this grant expire and request a new one under a new ticket',
      );
    },
  },
});

/** granted-at of the stored object (the mutator restores it), else of the new one (already read). */
function originalGrantTime(oldPolicy: V1NetworkPolicy | undefined, grant: GrantAnnotations, config: GuardConfig): Date | undefined {
  const stored = readGrantedAt(oldPolicy, config.keys);
  if (stored.state === 'valid') return stored.value;
  return grant.grantedAt.state === 'valid' ? grant.grantedAt.value : undefined;
}
