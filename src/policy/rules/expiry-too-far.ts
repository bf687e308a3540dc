import { formatDuration } from '../../lifecycle/duration.js';
import { formatTimestamp } from '../../lifecycle/timestamp.js';
import { expiryPath } from './paths.js';
import { defineRule } from './types.js';

export const expiryTooFar = defineRule({
  id: 'expiry-too-far',
  family: 'lifecycle',
  summary: 'expiry is beyond the maximum TTL',
  firesWhen: 'the expiry is more than `limits.maxTTL` (24h) from now',
  explanation: 'The grant would live longer than the configured maximum TTL (by default 24h).',
  fix: 'Request at most the maximum TTL and extend the grant later if the work takes longer.',
  grant: ['for'],
  needs: 'lifecycle',
  defaultAction: 'deny',
  check: {
    lifecycle(ctx, { expiry }) {
      if (!('at' in expiry)) return;
      const at = expiry.at.getTime();
      const now = ctx.now.getTime();
      // A past expiry is expiry-in-past's finding alone, even under a zero maxTTL.
      if (at <= now || at <= now + ctx.config.limits.maxTTLms) return;
      const maxTTL = formatDuration(ctx.config.limits.maxTTLms);
      ctx.report(
        expiryPath(expiry, ctx.config.keys),
        `expiry ${formatTimestamp(expiry.at)} is more than the allowed ${maxTTL} from now`,
        `request at most ${maxTTL}; extend later if the work takes longer`,
      );
    },
  },
});
