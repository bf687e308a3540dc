import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CommandIo } from '../../../src/operator/runtime.js';
import { checkCommand } from '../../../src/cli/check.js';
import { certsCommand } from '../../../src/cli/certs.js';
import { defineCommand, logLevelProblem, parseCommandArgs, processIo, resolveConfigPath } from '../../../src/cli/command.js';
import { COMMANDS, mainUsage, runMain } from '../../../src/cli/dispatch.js';
import { serveCommand } from '../../../src/cli/serve.js';
import { sweepCommand } from '../../../src/cli/sweep.js';
import { REPO_ROOT } from '../../fixtures/paths.js';
import { captureIo } from '../operator/support.js';

const DEMO_USAGE = (prog: string) => `usage: ${prog} demo [--level N] PATH...\n`;

/** A command that records what it was run with, so the tests see exactly what the kit hands over. */
function demoCommand(overrides: { onUsageError?: 'usage' | { pointTo: 'flags' | 'options' } } = {}) {
  const runs: Array<{ flags: unknown; positionals: string[] }> = [];
  const command = defineCommand({
    name: 'demo',
    summary: 'a command for testing the kit',
    usage: DEMO_USAGE,
    options: { level: { type: 'string' }, loud: { type: 'boolean', short: 'l' } },
    positionals: { name: 'PATH', min: 1 },
    validate: (values) => {
      const level = values.level === undefined ? 1 : Number(values.level);
      if (!Number.isInteger(level)) return { ok: false, errors: [`--level "${values.level}" is not a whole number`, 'and a second problem'] };
      return { ok: true, flags: { level, loud: values.loud === true } };
    },
    onUsageError: overrides.onUsageError ?? 'usage',
    run: async ({ flags, positionals, io, say }) => {
      runs.push({ flags, positionals });
      say(`ran with ${positionals.length} operand(s)`);
      io.stdout('done\n');
      return flags.loud ? 1 : 0;
    },
  });
  return { command, runs };
}

describe('defineCommand', () => {
  it('--help and -h print the usage on stdout and exit 0 without running the command', async () => {
    for (const flag of ['--help', '-h']) {
      const { command, runs } = demoCommand();
      const io = captureIo();
      assert.equal(await command.run([flag], io), 0);
      assert.equal(io.out, 'usage: netpol-guard demo [--level N] PATH...\n');
      assert.equal(io.err, '');
      assert.equal(runs.length, 0);
    }
  });

  it('an unknown flag is exit 2, a message naming the flag, then the usage; nothing runs', async () => {
    const { command, runs } = demoCommand();
    const io = captureIo();
    assert.equal(await command.run(['--colour', 'red', 'a.yaml'], io), 2);
    assert.match(io.err, /^netpol-guard demo: Unknown option '--colour'/);
    assert.ok(io.err.endsWith(`\n\n${DEMO_USAGE('netpol-guard')}`), io.err);
    assert.equal(io.out, '');
    assert.equal(runs.length, 0);
  });

  it('with a pointer style, a usage error ends with the line naming --help instead of the usage', async () => {
    const { command } = demoCommand({ onUsageError: { pointTo: 'flags' } });
    const io = captureIo();
    assert.equal(await command.run(['-x', 'a.yaml'], io), 2);
    assert.match(io.err, /^netpol-guard demo: Unknown option '-x'/);
    assert.ok(io.err.endsWith("\nRun 'netpol-guard demo --help' for the flags.\n"), io.err);
  });

  it('a missing operand is exit 2 naming it', async () => {
    const { command, runs } = demoCommand();
    const io = captureIo();
    assert.equal(await command.run(['--level', '2'], io), 2);
    assert.ok(io.err.startsWith('netpol-guard demo: no PATH given\n\n'), io.err);
    assert.equal(runs.length, 0);
  });

  it('operands are refused when the spec declares none', async () => {
    const noOperands = defineCommand({ name: 'bare', summary: 's', usage: () => 'usage\n', options: {}, onUsageError: 'usage', run: async () => 0 });
    const io = captureIo();
    assert.equal(await noOperands.run(['stray'], io), 2);
    assert.match(io.err, /^netpol-guard bare: Unexpected argument 'stray'/);
  });

  it('every problem validate reports gets its own line, and the exit is 2', async () => {
    const { command, runs } = demoCommand();
    const io = captureIo();
    assert.equal(await command.run(['--level', 'high', 'a.yaml'], io), 2);
    assert.ok(io.err.startsWith('netpol-guard demo: --level "high" is not a whole number\nnetpol-guard demo: and a second problem\n\n'), io.err);
    assert.equal(runs.length, 0);
  });

  it('run gets the validated flags and operands, and its exit status is the command\'s', async () => {
    const { command, runs } = demoCommand();
    const io = captureIo();
    assert.equal(await command.run(['--level', '3', 'a.yaml', 'b.yaml'], io), 0);
    assert.deepEqual(runs, [{ flags: { level: 3, loud: false }, positionals: ['a.yaml', 'b.yaml'] }]);
    assert.equal(io.out, 'done\n');
    assert.equal(io.err, 'netpol-guard demo: ran with 2 operand(s)\n');
    assert.equal(await command.run(['-l', 'a.yaml'], captureIo()), 1);
  });

  it('parseCommandArgs is the same parse, pure: help, the first error, or the values', () => {
    const spec = { options: { level: { type: 'string' } }, positionals: { name: 'PATH', min: 1 } } as const;
    assert.deepEqual(parseCommandArgs(spec, ['--bogus', '--help']), { ok: false, help: false, error: parseError(spec, ['--bogus']) });
    assert.deepEqual(parseCommandArgs(spec, ['--help', 'x']), { ok: false, help: true });
    assert.deepEqual(parseCommandArgs(spec, []), { ok: false, help: false, error: 'no PATH given' });
    const parsed = parseCommandArgs(spec, ['--level', '2', 'x']);
    assert.ok(parsed.ok);
    assert.equal(parsed.values.level, '2');
    assert.deepEqual(parsed.positionals, ['x']);
  });

  it('a command without a cluster client says so instead of loading one', () => {
    const io = processIo();
    assert.throws(() => io.connect({} as never), /this command has no Kubernetes client/);
  });
});

function parseError(spec: Parameters<typeof parseCommandArgs>[0], argv: string[]): string {
  const parsed = parseCommandArgs(spec, argv);
  assert.ok(!parsed.ok && !parsed.help);
  assert.match(parsed.error, /Unknown option '--bogus'/);
  return parsed.error;
}

describe('resolveConfigPath: --config, then NETPOL_GUARD_CONFIG, then the embedded default', () => {
  it('the flag wins over the variable', () => {
    assert.equal(resolveConfigPath('flag.yaml', { NETPOL_GUARD_CONFIG: 'env.yaml' }), 'flag.yaml');
  });
  it('the variable is used without the flag', () => {
    assert.equal(resolveConfigPath(undefined, { NETPOL_GUARD_CONFIG: 'env.yaml' }), 'env.yaml');
  });
  it('neither: undefined, meaning the embedded default; an empty variable counts as unset', () => {
    assert.equal(resolveConfigPath(undefined, {}), undefined);
    assert.equal(resolveConfigPath(undefined, { NETPOL_GUARD_CONFIG: '' }), undefined);
  });
  it('an explicit empty --config is passed on, for the command to refuse, not replaced by the variable', () => {
    assert.equal(resolveConfigPath('', { NETPOL_GUARD_CONFIG: 'env.yaml' }), '');
  });
});

describe('log levels', () => {
  it('accepts pino\'s levels and silent; names the bad value and the choices', () => {
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) assert.equal(logLevelProblem(level), undefined);
    assert.equal(logLevelProblem('loud'), '"loud" is not one of fatal, error, warn, info, debug, trace, silent');
    assert.equal(logLevelProblem('INFO'), '"INFO" is not one of fatal, error, warn, info, debug, trace, silent');
  });
});

describe('netpol-guard dispatch', () => {
  it('each command\'s own summary is the one the main help lists', async () => {
    for (const [name, entry] of Object.entries(COMMANDS)) {
      const command = await entry.load();
      assert.equal(command.name, name);
      assert.equal(command.summary, entry.summary, name);
    }
  });

  it('no command: the list of commands and exit 2; --help, -h and help: the same list and exit 0', async () => {
    const none = captureIo();
    assert.equal(await runMain([], none), 2);
    assert.equal(none.out, mainUsage('netpol-guard'));
    assert.match(none.out, /^ {2}check +evaluate NetworkPolicy manifests offline$/m);
    for (const flag of ['--help', '-h', 'help']) {
      const io = captureIo();
      assert.equal(await runMain([flag], io), 0, flag);
      assert.equal(io.out, mainUsage('netpol-guard'));
    }
  });

  it('an unknown command, including an Object.prototype name, is exit 2 naming it', async () => {
    for (const name of ['frobnicate', 'toString', '__proto__']) {
      const io = captureIo();
      assert.equal(await runMain([name], io), 2, name);
      assert.ok(io.err.startsWith(`netpol-guard: unknown command "${name}"\n\n`), io.err);
    }
  });

  it('every command answers --help on stdout (exit 0) and refuses an unknown flag naming it (exit 2)', async () => {
    for (const name of Object.keys(COMMANDS)) {
      const help = captureIo();
      assert.equal(await runMain([name, '--help'], help), 0, name);
      assert.ok(help.out.startsWith(`usage: netpol-guard ${name}`), `${name}: ${help.out}`);
      assert.equal(help.err, '', name);
      const bad = captureIo();
      assert.equal(await runMain([name, '--no-such-flag'], bad), 2, name);
      assert.ok(bad.err.startsWith(`netpol-guard ${name}: Unknown option '--no-such-flag'`), `${name}: ${bad.err}`);
      assert.equal(bad.out, '', name);
    }
  });
});

describe('commands run through CommandIo, without a process', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'netpol-guard-kit-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const p = path.join(tmp, name);
    writeFileSync(p, text);
    return p;
  };
  const inRepo = (overrides: Partial<CommandIo> = {}) => captureIo({ cwd: () => REPO_ROOT, ...overrides });

  it('check reads NETPOL_GUARD_CONFIG when --config is absent, and --config wins over it', async () => {
    const warn = file('warn.json', '{"mode": "warn"}');
    const enforce = file('enforce.json', '{"mode": "enforce"}');
    const plain = inRepo();
    assert.equal(await checkCommand.run(['test/fixtures/k8s-docs'], plain), 1, plain.err);
    const fromEnv = inRepo({ env: { NETPOL_GUARD_CONFIG: warn } });
    assert.equal(await checkCommand.run(['test/fixtures/k8s-docs'], fromEnv), 0, fromEnv.err);
    const flagWins = inRepo({ env: { NETPOL_GUARD_CONFIG: warn } });
    assert.equal(await checkCommand.run(['--config', enforce, 'test/fixtures/k8s-docs'], flagWins), 1, flagWins.err);
    const broken = inRepo({ env: { NETPOL_GUARD_CONFIG: path.join(tmp, 'absent.yaml') } });
    assert.equal(await checkCommand.run(['test/fixtures/k8s-docs'], broken), 2);
    assert.match(broken.err, /^netpol-guard check: invalid config:\n {2}.*absent\.yaml/);
  });

  it('check --explain explains the rules that fired, and is refused with a machine format', async () => {
    const explained = inRepo();
    assert.equal(await checkCommand.run(['--explain', 'test/fixtures/k8s-docs'], explained), 1, explained.err);
    assert.match(explained.out, /\nwhy these rules fired:\n {2}\[[a-z-]+\] .+\n {4}.+\n {4}fix: /);
    const json = inRepo();
    assert.equal(await checkCommand.run(['--explain', '--format', 'json', 'test/fixtures/k8s-docs'], json), 2);
    assert.match(json.err, /--explain is for the text format/);
  });

  it('check reads - from the io\'s stdin and resolves paths from its working directory', async () => {
    const manifest = readFileSync(path.join(REPO_ROOT, 'test/fixtures/k8s-docs/default-deny-ingress.yaml'), 'utf8');
    const io = captureIo({ cwd: () => tmp, readStdin: async () => manifest });
    const code = await checkCommand.run(['--format', 'json', '-'], io);
    const report = JSON.parse(io.out) as { summary: { policies: number; denied: number } };
    assert.equal(report.summary.policies, 1, io.out);
    assert.equal(code, report.summary.denied > 0 ? 1 : 0);
    const missing = captureIo({ cwd: () => tmp });
    assert.equal(await checkCommand.run(['test/fixtures/k8s-docs'], missing), 2, 'relative to the io cwd (tmp), not the process cwd');
  });

  it('serve refuses an invalid config named by NETPOL_GUARD_CONFIG with exit 2, before listening', async () => {
    const bad = file('bad.yaml', 'mode: loud\n');
    const io = captureIo({ env: { NETPOL_GUARD_CONFIG: bad } });
    assert.equal(await serveCommand.run(['--port', '0', '--log-level', 'silent'], io), 2);
    assert.match(io.err, new RegExp(`^netpol-guard serve: invalid config ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\n {2}`));
  });

  it('serve reports every bad flag on its own line, then the usage', async () => {
    const io = captureIo();
    assert.equal(await serveCommand.run(['--port', '70000', '--log-level', 'loud'], io), 2);
    assert.match(io.err, /^netpol-guard serve: --port: "70000" is not a port number \(0-65535\)\nnetpol-guard serve: --log-level: "loud" is not one of /);
    assert.match(io.err, /\n\nusage: netpol-guard serve \[options\]/);
  });

  it('sweep refuses an invalid config named by NETPOL_GUARD_CONFIG with exit 2, before connecting', async () => {
    const bad = file('bad-sweep.yaml', 'mode: loud\n');
    const io = captureIo({ env: { NETPOL_GUARD_CONFIG: bad } });
    assert.equal(await sweepCommand.run(['--once', '--kubeconfig', path.join(tmp, 'no-kubeconfig')], io), 2);
    assert.match(io.err, /^netpol-guard sweep: invalid config:\n {2}/);
  });

  it('sweep without a mode is a usage error naming both', async () => {
    const io = captureIo();
    assert.equal(await sweepCommand.run([], io), 2);
    assert.match(io.err, /^netpol-guard sweep: choose exactly one of --once \(CronJob\) or --watch/);
  });

  it('certs writes into a directory relative to the io\'s working directory and reports on its stdout', async () => {
    const io = captureIo({ cwd: () => tmp });
    assert.equal(await certsCommand.run(['--out', 'issued', '--days', '2', '--ca-days', '3'], io), 0, io.err);
    for (const name of ['ca.crt', 'ca.key', 'tls.crt', 'tls.key', 'secret.yaml', 'webhook-ca-patch.yaml']) {
      assert.ok(existsSync(path.join(tmp, 'issued', name)), name);
    }
    assert.match(io.out, /^CA: new \(no CA in the output directory\)/);
    assert.match(io.out, /wrote issued\/ca\.crt/);
    const bad = captureIo({ cwd: () => tmp });
    assert.equal(await certsCommand.run(['--ip', 'not-an-ip'], bad), 2);
    assert.equal(bad.err, `netpol-guard certs: --ip "not-an-ip" is not an IPv4 or IPv6 address\nRun 'netpol-guard certs --help' for the options.\n`);
  });
});

describe('the kubectl plugin name', () => {
  it('help and errors say `kubectl netpol-guard` when invoked through the plugin', async () => {
    const { getProgramName, setProgramName } = await import('../../../src/operator/programName.js');
    const before = getProgramName();
    setProgramName('kubectl netpol-guard');
    try {
      const help = captureIo();
      assert.equal(await runMain(['check', '--help'], help), 0);
      assert.ok(help.out.startsWith('usage: kubectl netpol-guard check [options] PATH...'), help.out);
      const bad = captureIo();
      assert.equal(await runMain(['revoke', '--bogus'], bad), 2);
      assert.ok(bad.err.endsWith("Run 'kubectl netpol-guard revoke --help' for the flags.\n"), bad.err);
    } finally {
      setProgramName(before);
    }
  });
});
