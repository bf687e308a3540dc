/**
 * Tickets are typed by hand ("inc-1234 ", "Inc-1234"). A Jira-style key is case-insensitive in
 * practice, so it is upper-cased; anything else is only trimmed and left to the configured pattern.
 */
const JIRA_KEY = /^[A-Za-z][A-Za-z0-9_]*-[0-9]+$/;

export function normalizeTicket(raw: string): string {
  const trimmed = raw.trim();
  return JIRA_KEY.test(trimmed) ? trimmed.toUpperCase() : trimmed;
}

/** Fill a ticket URL template (`https://tracker/browse/{ticket}`), URL-encoding the ticket. */
export function ticketUrl(template: string, ticket: string): string {
  return template.split('{ticket}').join(encodeURIComponent(ticket));
}
