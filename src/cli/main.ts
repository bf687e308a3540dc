#!/usr/bin/env node
/**
 * `netpol-guard` entry point: dispatches to one module per subcommand, loaded lazily so `check`
 * does not pay for fastify and `serve` does not pay for the CLI table printers.
 */
type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  serve: { summary: 'run the admission webhook (HTTPS)', load: async () => (await import('./serve.js')).serveCommand },
  check: { summary: 'evaluate NetworkPolicy manifests offline', load: async () => (await import('./check.js')).checkCommand },
  sweep: { summary: 'delete expired temporary grants (--once or --watch)', load: async () => (await import('./sweep.js')).sweepCommand },
  certs: { summary: 'create or rotate the webhook certificates (Secret, caBundle)', load: async () => (await import('./certs.js')).certsCommand },
  grant: { summary: 'create a narrow, ticketed, temporary NetworkPolicy grant', load: async () => (await import('./grant.js')).grantCommand },
  list: { summary: 'show the live temporary grants, soonest expiry first', load: async () => (await import('./list.js')).listCommand },
  extend: { summary: 'give a temporary grant a new expiry', load: async () => (await import('./extend.js')).extendCommand },
  revoke: { summary: 'close a temporary grant now', load: async () => (await import('./revoke.js')).revokeCommand },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  return `usage: netpol-guard <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'netpol-guard <command> --help' for a command's options.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`netpol-guard: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  return (await command.load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`netpol-guard: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
