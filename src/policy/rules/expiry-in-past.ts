import { formatTimestamp } from '../../lifecycle/timestamp.js';
import { expiryPath } from './paths.js';
import { defineRule } from './types.js';

export const expiryInPast = defineRule({
  id: 'expiry-in-past',
  family: 'lifecycle',
  summary: 'expiry is not in the future',
  firesWhen: 'the expiry is not in the future',
  explanation: 'The grant would expire at or before the time it is admitted.',
  fix: 'Set a ttl for the time still needed, e.g. "1h".',
  grant: ['for'],
  needs: 'lifecycle',
  defaultAction: 'deny',
  check: {
    lifecycle(ctx, { expiry }) {
      if (!('at' in expiry) || expiry.at.getTime() > ctx.now.getTime()) return;
      ctx.report(
        expiryPath(expiry, ctx.config.keys),
        `expiry ${formatTimestamp(expiry.at)} is not in the future`,
        `set ${ctx.config.keys.ttl} to the time still needed, e.g. "1h"`,
      );
    },
  },
});
