import type { GrantRequest } from './grantRequest.js';

/**
 * The exact commands an approver runs (printed by `grant`, sent in the `requested` notification).
 * Names are DNS labels/subdomains, so nothing here needs shell quoting.
 */
export function approveCommand(request: GrantRequest, prog = 'netpol-guard'): string {
  return `${prog} approve ${request.metadata?.name ?? '<name>'} -n ${request.metadata?.namespace ?? '<namespace>'}`;
}

export function denyCommand(request: GrantRequest, prog = 'netpol-guard'): string {
  return `${prog} deny ${request.metadata?.name ?? '<name>'} -n ${request.metadata?.namespace ?? '<namespace>'} --reason '...'`;
}
