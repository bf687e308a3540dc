import { resolveConfigPath } from '../cli/command.js';
import { defaultConfig, loadConfigFile } from '../config/load.js';
import type { GuardConfig } from '../config/types.js';
import { loadKubeContext, type KubeContext } from '../kube/kubeConfig.js';
import type { GrantApi } from './kube.js';
import { isDnsLabel, isDnsSubdomain } from './selectors.js';

/**
 * What a command touches outside itself. The real one writes to the process streams
 * and talks to the cluster; tests swap in buffers, a fixed clock and, where the fake API server
 * lacks an endpoint (pods), a recording client.
 */
export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
  now(): Date;
  env: NodeJS.ProcessEnv;
  /** Where relative paths in flags and operands are resolved from. */
  cwd(): string;
  /** All of standard input (for `-` operands). */
  readStdin(): Promise<string>;
  /** Suffix for generated grant names: lower-case letters and digits. */
  randomSuffix(): string;
  connect(context: KubeContext): GrantApi;
}

export type ConfigChoice = { ok: true; config: GuardConfig; label: string } | { ok: false; errors: string[] };

/** Same resolution as `serve` and `sweep`: --config, then $NETPOL_GUARD_CONFIG, then the built-in default. */
export function chooseConfig(path: string | undefined, env: NodeJS.ProcessEnv): ConfigChoice {
  const file = resolveConfigPath(path, env);
  if (file === undefined) return { ok: true, config: defaultConfig(), label: 'the built-in config' };
  const loaded = loadConfigFile(file);
  return loaded.ok ? { ok: true, config: loaded.config, label: `config ${file}` } : loaded;
}

/**
 * NAME and -n of a command that acts on one existing grant (extend, revoke), checked. Problems
 * are reported through `say`; `undefined` means the command exits 2.
 */
export function grantNameFrom(
  positionals: string[],
  namespace: string | undefined,
  verb: string,
  example: string,
  say: (text: string) => void,
): string | undefined {
  if (positionals.length !== 1) {
    say(`${positionals.length === 0 ? `name the grant to ${verb}` : `${verb} one grant at a time`}: ${example}`);
    return undefined;
  }
  const name = positionals[0]!;
  if (!isDnsSubdomain(name)) {
    say(`"${name}" is not a valid NetworkPolicy name`);
    return undefined;
  }
  if (namespace !== undefined && !isDnsLabel(namespace)) {
    say(`-n/--namespace "${namespace}" is not a valid namespace name`);
    return undefined;
  }
  return name;
}

export interface CommandSession {
  config: GuardConfig;
  /** Which config the local check used, for messages ("the built-in config", "config FILE"). */
  configLabel: string;
  /** -n, else the kubeconfig context's namespace. */
  namespace: string;
  api: GrantApi;
  /** The cluster connection itself, for the clients beyond GrantApi (GrantRequests). */
  context: KubeContext;
}

/**
 * The config and cluster connection an operator command works with. Problems are reported
 * through `say`; `undefined` means the command exits 2.
 */
export function openSession(
  flags: { config?: string | undefined; kubeconfig?: string | undefined; namespace?: string | undefined },
  io: CommandIo,
  say: (text: string) => void,
): CommandSession | undefined {
  const chosen = chooseConfig(flags.config, io.env);
  if (!chosen.ok) {
    say(`invalid config:\n${chosen.errors.map((e) => `  ${e}`).join('\n')}`);
    return undefined;
  }
  const loaded = loadKubeContext(flags.kubeconfig);
  if (!loaded.ok) {
    say(loaded.error);
    return undefined;
  }
  return {
    config: chosen.config,
    configLabel: chosen.label,
    namespace: flags.namespace ?? loaded.context.namespace,
    api: io.connect(loaded.context),
    context: loaded.context,
  };
}
