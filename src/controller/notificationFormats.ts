import type { GrantNotification } from './notification.js';

/** The body of one webhook request: JSON text in either format. */
export type WebhookFormat = 'json' | 'slack';

/** The request body for `format`. json: the GrantNotification itself; slack: an incoming-webhook message. */
export function formatNotification(notification: GrantNotification, format: WebhookFormat): string {
  return format === 'json' ? JSON.stringify(notification) : JSON.stringify(slackMessage(notification));
}

const HEADLINES: Record<GrantNotification['event'], string> = {
  opened: 'Temporary network access granted',
  changed: 'Temporary network access changed',
  expiring: 'Temporary network access expires soon',
  expired: 'Temporary network access expired',
  revoked: 'Temporary network access revoked',
  deleted: 'Temporary network access deleted',
  'break-glass': 'Break-glass grant admitted (findings bypassed)',
  requested: 'Temporary network access requested: approval needed',
  approved: 'Temporary network access request approved',
  denied: 'Temporary network access request denied',
  lapsed: 'Temporary network access request lapsed unapproved',
};

const REQUEST_EVENTS: ReadonlySet<GrantNotification['event']> = new Set(['requested', 'approved', 'denied', 'lapsed']);

/**
 * A Slack incoming-webhook message: `text` (what notifications and clients without blocks show)
 * and one section block with the same lines. Every value from the policy is escaped: annotation
 * text is user-written and must not turn into a mention (`<!channel>`) or a disguised link.
 */
export function slackMessage(n: GrantNotification): { text: string; blocks: unknown[] } {
  const what = REQUEST_EVENTS.has(n.event) ? `grantrequest \`${escape(n.namespace)}/${escape(n.request ?? n.policy)}\`` : `networkpolicy \`${escape(n.namespace)}/${escape(n.policy)}\``;
  const lines = [`*${HEADLINES[n.event]}*: ${what}`];
  if (n.ticket !== undefined) lines.push(`Ticket: ${escape(n.ticket)}${n.ticketUrl !== undefined ? ` (${escape(n.ticketUrl)})` : ''}`);
  if (n.requester !== undefined) lines.push(`Requested by: ${escape(n.requester)}`);
  if (n.by !== undefined) lines.push(`${BY_WORD[n.event] ?? 'Changed'} by: ${escape(n.by)}`);
  if (n.reason !== undefined) lines.push(`${n.event === 'denied' ? 'Reason' : n.event === 'lapsed' ? 'Why' : 'Reason given'}: ${escape(n.reason)}`);
  if (n.duration !== undefined) lines.push(`For: ${escape(n.duration)} from approval`);
  if (n.approvals !== undefined && n.approvals.length > 0) lines.push(`Approved by: ${n.approvals.map((a) => `${escape(a.by)} (${escape(a.at)})`).join(', ')}`);
  if (n.required !== undefined && n.event === 'requested') lines.push(`Needs: ${n.required} approval${n.required === 1 ? '' : 's'}`);
  if (n.approveCommand !== undefined) lines.push(`Approve: \`${escape(n.approveCommand)}\``);
  for (const change of n.changes ?? []) lines.push(`${change.field === 'expiry' ? 'Expiry' : 'Access'}: ${escape(change.from)} → ${escape(change.to)}`);
  if (n.expiresAt !== undefined && n.event !== 'deleted' && n.event !== 'revoked') lines.push(`${n.event === 'expired' ? 'Expired' : 'Expires'} at: ${escape(n.expiresAt)}`);
  if (n.lagSeconds !== undefined) lines.push(`Deleted ${n.lagSeconds}s after expiry`);
  if (n.deletion === 'observed') lines.push('Deleted outside netpol-guard; see the API server audit log for who');
  if (n.deletion === 'not-observed') lines.push('Found gone while no controller watched; see the API server audit log');
  if (n.late === true) lines.push('Found already live without a record');
  lines.push(`Access: ${escape(n.access)}`);
  const text = lines.join('\n');
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

const BY_WORD: Partial<Record<GrantNotification['event'], string>> = { revoked: 'Revoked', denied: 'Denied', 'break-glass': 'Break glass' };

/** Slack's three control characters, as its message formatting guide asks. */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
