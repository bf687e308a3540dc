import { getProgramName } from '../operator/programName.js';
import type { CommandIo } from '../operator/runtime.js';
import { type Command, processIo } from './command.js';

/**
 * The subcommands, each loaded only when run, so `check` does not pay for fastify and `serve`
 * does not pay for the Kubernetes client. A command's own spec repeats its summary; a unit test
 * keeps the two equal.
 */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  serve: { summary: 'run the admission webhook (HTTPS)', load: async () => (await import('./serve.js')).serveCommand },
  check: { summary: 'evaluate NetworkPolicy manifests offline', load: async () => (await import('./check.js')).checkCommand },
  sweep: { summary: 'delete expired temporary grants (--once or --watch)', load: async () => (await import('./sweep.js')).sweepCommand },
  controller: { summary: 'expire grants at their expiry, one leader among replicas (--leader-elect)', load: async () => (await import('./controller.js')).controllerCommand },
  explain: { summary: 'show what a NetworkPolicy opens and isolates in the live cluster', load: async () => (await import('./explain.js')).explainCommand },
  history: { summary: 'export the recorded grants: who, ticket, opened, changed, closed, how', load: async () => (await import('./history.js')).historyCommand },
  certs: { summary: 'create or rotate the webhook certificates (Secret, caBundle)', load: async () => (await import('./certs.js')).certsCommand },
  grant: { summary: 'create a narrow, ticketed, temporary NetworkPolicy grant', load: async () => (await import('./grant.js')).grantCommand },
  list: { summary: 'show the live temporary grants, soonest expiry first', load: async () => (await import('./list.js')).listCommand },
  extend: { summary: 'give a temporary grant a new expiry', load: async () => (await import('./extend.js')).extendCommand },
  revoke: { summary: 'close a temporary grant now', load: async () => (await import('./revoke.js')).revokeCommand },
  approve: { summary: 'approve a GrantRequest (two-person rule)', load: async () => (await import('./approve.js')).approveCommand },
  deny: { summary: 'deny a GrantRequest, with a reason', load: async () => (await import('./approve.js')).denyCommand },
  doctor: { summary: 'check an installation: webhooks, certificate, controller lease, config, RBAC', load: async () => (await import('./doctor.js')).doctorCommand },
};

export function mainUsage(prog: string): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)} ${c.summary}`);
  return `usage: ${prog} <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun '${prog} <command> --help' for a command's options.\n`;
}

/**
 * `netpol-guard ARGV…` → exit status. Without `io`, each command gets the real process (and,
 * when it talks to a cluster, the real client).
 */
export async function runMain(argv: string[], io?: CommandIo): Promise<number> {
  const out = io ?? processIo();
  const prog = getProgramName();
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out.stdout(mainUsage(prog));
    return name === undefined ? 2 : 0;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (entry === undefined) {
    out.stderr(`${prog}: unknown command "${name}"\n\n${mainUsage(prog)}`);
    return 2;
  }
  try {
    const command = await entry.load();
    return await command.run(rest, io);
  } catch (err) {
    out.stderr(`${prog}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}
