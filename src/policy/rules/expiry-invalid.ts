import { annotationPath } from './paths.js';
import { defineRule } from './types.js';

export const expiryInvalid = defineRule({
  id: 'expiry-invalid',
  family: 'lifecycle',
  summary: 'expiry annotation cannot be read',
  firesWhen: 'ttl or expires-at does not parse',
  explanation: 'The ttl annotation is not a duration like 90m, 2h or 1h30m, or the expires-at annotation is not an RFC 3339 UTC timestamp.',
  fix: 'Write the ttl as <number><unit> groups (s, m, h, d) or expires-at like 2026-11-23T18:00:00Z.',
  grant: ['for'],
  needs: 'lifecycle',
  defaultAction: 'deny',
  check: {
    lifecycle(ctx, { expiry }) {
      if (expiry.kind !== 'invalid') return;
      const keys = ctx.config.keys;
      ctx.report(
        annotationPath(expiry.field === 'ttl' ? keys.ttl : keys.expiresAt),
        expiry.error,
        expiry.field === 'ttl' ? 'write a duration like 90m, 2h or 1h30m' : 'write an RFC 3339 UTC time like 2026-11-23T18:00:00Z',
      );
    },
  },
});
