import { annotationPath } from './paths.js';
import { defineRule } from './types.js';

export const ticketInvalid = defineRule({
  id: 'ticket-invalid',
  family: 'lifecycle',
  summary: 'ticket does not match the ticket pattern',
  firesWhen: 'the ticket does not match `ticket.pattern`',
  explanation: 'The ticket annotation does not match the configured ticket pattern (by default a Jira-style key).',
  fix: 'Use the ticket key, e.g. INC-1234.',
  grant: ['ticket'],
  needs: 'lifecycle',
  defaultAction: 'deny',
  check: {
    lifecycle(ctx, { ticket }) {
      const pattern = ctx.config.ticket.pattern;
      if (ticket === undefined || pattern.test(ticket)) return;
      ctx.report(
        annotationPath(ctx.config.keys.ticket),
        `"${ticket.length > 40 ? `${ticket.slice(0, 40)}…` : ticket}" does not match the ticket pattern ${pattern.source}`,
        'use the ticket key, e.g. INC-1234',
      );
    },
  },
});
