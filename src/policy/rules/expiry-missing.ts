import { formatDuration } from '../../lifecycle/duration.js';
import { defineRule } from './types.js';

export const expiryMissing = defineRule({
  id: 'expiry-missing',
  family: 'lifecycle',
  summary: 'grant has no expiry',
  firesWhen: 'neither ttl nor expires-at (and no `defaultTTL`)',
  explanation: 'A policy that grants access must carry a ttl or expires-at annotation so the sweeper removes it when the work is done.',
  fix: 'Add the annotation netpol-guard.io/ttl: "2h" (within the configured maximum TTL).',
  grant: ['for'],
  needs: 'lifecycle',
  defaultAction: 'deny',
  check: {
    lifecycle(ctx, { expiry }) {
      if (expiry.kind !== 'none') return;
      const keys = ctx.config.keys;
      ctx.report(
        `metadata.annotations`,
        `has neither "${keys.ttl}" nor "${keys.expiresAt}", so the grant would never expire`,
        `add the annotation ${keys.ttl}: "2h" (at most ${formatDuration(ctx.config.limits.maxTTLms)})`,
      );
    },
  },
});
