import type { EndedGrant } from '../../cluster/view.js';
import { specSnapshot } from '../../controller/grantRecord.js';
import { formatDuration } from '../../lifecycle/duration.js';
import { formatTimestamp } from '../../lifecycle/timestamp.js';
import { defineRule } from './types.js';

export const grantRecreated = defineRule({
  id: 'grant-recreated',
  family: 'cluster',
  summary: 'grant re-creates one that ended within the cooldown',
  firesWhen: 'a CREATE has the namespace/name, or the ticket and identical spec, of a grant that ended within `limits.recreateCooldown` (default: maxLifetime)',
  explanation: 'When an ended grant is still in Git, Argo CD or Flux re-create it a minute later and the mutator would count a fresh TTL from that CREATE: the temporary hole would be back for good. Ended grants are read from the GrantRecords the controller keeps; every way of ending counts (expired, revoked, deleted), since deleting and re-creating would otherwise reset the lifetime.',
  fix: 'Remove the grant from Git (or your deploy tool), or request a new grant under a new ticket and name; to keep access, extend a grant before it ends.',
  grant: ['ticket'],
  needs: 'cluster',
  defaultAction: 'deny',
  activeUnder: (config) => config.limits.recreateCooldownMs > 0,
  check: {
    lifecycle(ctx, { ticket }) {
      if (ctx.operation !== 'CREATE') return;
      const cooldownMs = ctx.config.limits.recreateCooldownMs;
      if (!(cooldownMs > 0)) return;
      const sinceMs = ctx.now.getTime() - cooldownMs;
      const cluster = ctx.cluster!;
      const name = ctx.policy.metadata?.name;
      let match: { ended: EndedGrant; by: 'name' | 'ticket and spec' } | undefined;
      const consider = (ended: EndedGrant, by: 'name' | 'ticket and spec'): void => {
        if (ended.closedAtMs < sinceMs) return;
        if (match === undefined || ended.closedAtMs > match.ended.closedAtMs) match = { ended, by };
      };
      if (name !== undefined && name !== '') for (const ended of cluster.endedGrantsNamed(ctx.namespace, name)) consider(ended, 'name');
      if (ticket !== undefined) {
        const sameTicket = cluster.endedGrantsWithTicket(ticket);
        // Hash the spec only when some ended grant shares the ticket: most CREATEs never pay for it.
        if (sameTicket.length > 0) {
          const hash = specSnapshot(ctx.policy, 0).sha256;
          for (const ended of sameTicket) if (ended.specSha256s.includes(hash)) consider(ended, 'ticket and spec');
        }
      }
      if (match === undefined) return;
      const { ended, by } = match;
      const how = ended.closedBy === undefined ? ended.how : `${ended.how} by ${ended.closedBy}`;
      const agoMs = Math.max(0, ctx.now.getTime() - ended.closedAtMs);
      ctx.report(
        by === 'name' ? 'metadata.name' : 'spec',
        `re-creates grant ${ended.namespace}/${ended.name} (ticket ${ended.ticket ?? 'none'}), matched by ${by}, which ended ${how} at ${formatTimestamp(new Date(ended.closedAtMs))} (${formatDuration(agoMs)} ago), within limits.recreateCooldown ${formatDuration(cooldownMs)} of profile ${ctx.config.profile}`,
        `remove it from Git (or your deploy tool), or request a new grant under a new ticket and name; not before ${formatTimestamp(new Date(ended.closedAtMs + cooldownMs))} may it be re-created as is`,
      );
    },
  },
});
