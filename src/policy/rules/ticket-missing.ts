import { annotationPath } from './paths.js';
import { defineRule } from './types.js';

export const ticketMissing = defineRule({
  id: 'ticket-missing',
  family: 'lifecycle',
  summary: 'grant names no ticket',
  firesWhen: 'no ticket annotation (or a blank one)',
  explanation: 'Every grant must name the change or incident that justifies it in the ticket annotation.',
  fix: 'Add the annotation netpol-guard.io/ticket: "INC-1234".',
  grant: ['ticket'],
  needs: 'lifecycle',
  defaultAction: 'deny',
  check: {
    lifecycle(ctx, { ticket }) {
      if (ticket !== undefined) return;
      const key = ctx.config.keys.ticket;
      ctx.report(
        annotationPath(key),
        'is missing; every grant must name the change or incident that justifies it',
        `add ${key}: "INC-1234"`,
      );
    },
  },
});
