import { randomBytes } from 'node:crypto';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { KubeContext } from '../kube/kubeConfig.js';
import type { GrantApi } from '../operator/kube.js';
import { getProgramName } from '../operator/programName.js';
import type { CommandIo } from '../operator/runtime.js';

/**
 * The command kit: every `netpol-guard` subcommand is a `defineCommand` spec. The kit parses the
 * flags, answers --help, reports unknown flags and missing operands (exit 2), and hands the
 * command a `CommandIo`, so a command runs in a unit test exactly as it runs from the shell.
 *
 * Only type imports from operator/: operator/kube.js pulls in @kubernetes/client-node (seconds
 * to load), which `check` and `serve` must not pay for.
 */

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

type FullOptions<O extends OptionsConfig> = O & typeof HELP_OPTION;

/** What parseArgs returns for these options (with -h/--help added by the kit). */
export type FlagValues<O extends OptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: FullOptions<O>; strict: true; allowPositionals: true }>
>['values'];

/** Operands after the flags: their name in messages, and how many are required. */
export interface PositionalSpec {
  name: string;
  min: number;
}

/**
 * How a usage error ends: with the whole usage text (`serve`, `check`, `sweep`), or with a line
 * pointing to `--help` that names what it lists (the operator commands and `certs`).
 */
export type UsageErrorStyle = 'usage' | { pointTo: 'flags' | 'options' };

/** What `validate` makes of the flags: what `run` works with, or the problems (each naming its flag). */
export type Validated<F> = { ok: true; flags: F } | { ok: false; error: string } | { ok: false; errors: string[] };

/** `F` is what `run` receives: the parsed flags as they are, or what `validate` made of them. */
export interface CommandSpec<O extends OptionsConfig, F = FlagValues<O>> {
  name: string;
  /** One line for `netpol-guard --help`. */
  summary: string;
  /** The full --help text; `prog` is how we were invoked (`netpol-guard` or `kubectl netpol-guard`). */
  usage(prog: string): string;
  /** node:util parseArgs options; -h/--help is added by the kit. */
  options: O;
  /** Omitted: operands are refused. */
  positionals?: PositionalSpec;
  /** Pure check of the flag values; its problems are usage errors (exit 2). Omitted: `run` gets the values. */
  validate?(values: FlagValues<O>, env: NodeJS.ProcessEnv): Validated<F>;
  onUsageError: UsageErrorStyle;
  /** The production Kubernetes client, for commands that talk to a cluster. */
  connect?: (context: KubeContext) => GrantApi;
  run(context: CommandContext<F>): Promise<number>;
}

export interface CommandContext<F> {
  flags: F;
  positionals: string[];
  io: CommandIo;
  prog: string;
  /** `PROG NAME: text` on stderr. */
  say(text: string): void;
  /** Each problem as a `PROG NAME:` line, then the usage or the pointer to --help; returns 2. */
  usageError(problems: string | string[]): number;
}

export interface Command {
  name: string;
  summary: string;
  /** Exit status. Without `io`, the process's streams, clock, environment and cluster. */
  run(argv: string[], io?: CommandIo): Promise<number>;
}

export type ParsedArgs<O extends OptionsConfig> =
  | { ok: true; values: FlagValues<O>; positionals: string[] }
  | { ok: false; help: true }
  | { ok: false; help: false; error: string };

/** Pure: argv → the flag values, a request for help, or the first problem (naming the flag). */
export function parseCommandArgs<O extends OptionsConfig>(
  spec: { options: O; positionals?: PositionalSpec },
  argv: string[],
): ParsedArgs<O> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...spec.options, ...HELP_OPTION } as FullOptions<O>,
      strict: true,
      allowPositionals: spec.positionals !== undefined,
    });
  } catch (err) {
    return { ok: false, help: false, error: (err as Error).message };
  }
  // The cast only restores the generic: parseArgs's result type cannot follow `O` through the spread.
  const values = parsed.values as FlagValues<O>;
  if ((values as { help?: boolean }).help === true) return { ok: false, help: true };
  const positionals = parsed.positionals;
  if (spec.positionals !== undefined && positionals.length < spec.positionals.min) {
    return { ok: false, help: false, error: `no ${spec.positionals.name} given` };
  }
  return { ok: true, values, positionals };
}

export function defineCommand<O extends OptionsConfig, F = FlagValues<O>>(spec: CommandSpec<O, F>): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    run: async (argv, io = processIo(spec.connect)) => {
      const prog = getProgramName();
      const prefix = `${prog} ${spec.name}: `;
      const say = (text: string) => io.stderr(`${prefix}${text}\n`);
      const usageError = (problems: string | string[]): number => {
        const lines = (typeof problems === 'string' ? [problems] : problems).map((p) => `${prefix}${p}\n`).join('');
        const tail = spec.onUsageError === 'usage' ? `\n${spec.usage(prog)}` : `Run '${prog} ${spec.name} --help' for the ${spec.onUsageError.pointTo}.\n`;
        io.stderr(lines + tail);
        return 2;
      };
      const parsed = parseCommandArgs(spec, argv);
      if (!parsed.ok) {
        if (!parsed.help) return usageError(parsed.error);
        io.stdout(spec.usage(prog));
        return 0;
      }
      // Without `validate`, F is its default, FlagValues<O>: the values are what `run` expects.
      const validated: Validated<F> = spec.validate ? spec.validate(parsed.values, io.env) : { ok: true, flags: parsed.values as F };
      if (!validated.ok) return usageError('errors' in validated ? validated.errors : validated.error);
      return spec.run({ flags: validated.flags, positionals: parsed.positionals, io, prog, say, usageError });
    },
  };
}

/**
 * The config file a command uses: --config, then $NETPOL_GUARD_CONFIG, then none (the embedded
 * default). An empty variable counts as unset, as it does for a shell's `VAR= cmd`.
 */
export function resolveConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag !== undefined) return flag;
  const fromEnv = env.NETPOL_GUARD_CONFIG;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined;
}

/** Shared option sets, so the same flag is spelled and typed the same way in every command. */
export const CONFIG_OPTION = { config: { type: 'string' } } as const;
export const KUBECONFIG_OPTION = { kubeconfig: { type: 'string' } } as const;
/** The operator commands' -n, as kubectl spells it. */
export const NAMESPACE_OPTION = { namespace: { type: 'string', short: 'n' } } as const;
/** serve, sweep and certs take the namespace as a long flag only. */
export const LONG_NAMESPACE_OPTION = { namespace: { type: 'string' } } as const;
export const LOG_LEVEL_OPTION = { 'log-level': { type: 'string' } } as const;
export const OUTPUT_OPTION = { output: { type: 'string', short: 'o' } } as const;
/** The flags both long-running components (serve, sweep) take. */
export const COMPONENT_OPTIONS = { ...LONG_NAMESPACE_OPTION, ...CONFIG_OPTION, ...LOG_LEVEL_OPTION } as const;

/** pino's level names, plus `silent`. */
export const LOG_LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Why `text` is not a --log-level value, or undefined when it is one. */
export function logLevelProblem(text: string): string | undefined {
  return LOG_LEVELS.includes(text) ? undefined : `"${text}" is not one of ${LOG_LEVELS.join(', ')}`;
}

/**
 * The real process: its streams, clock, environment and working directory. A command without a
 * cluster client gets a `connect` that says so, instead of loading @kubernetes/client-node.
 */
export function processIo(connect?: (context: KubeContext) => GrantApi): CommandIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    now: () => new Date(),
    env: process.env,
    cwd: () => process.cwd(),
    readStdin,
    randomSuffix: () => randomSuffix(5),
    connect:
      connect ??
      (() => {
        throw new Error('this command has no Kubernetes client');
      }),
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function randomSuffix(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  // 256 is not a multiple of 36; the slight bias is irrelevant for a name suffix.
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}
