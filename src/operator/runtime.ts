import { randomBytes } from 'node:crypto';
import { defaultConfig, loadConfigFile } from '../config/load.js';
import type { GuardConfig } from '../config/types.js';
import { createGrantApi, type GrantApi, type KubeContext } from './kube.js';

/**
 * What an operator command touches outside itself. The real one writes to the process streams
 * and talks to the cluster; tests swap in buffers, a fixed clock and, where the fake API server
 * lacks an endpoint (pods), a recording client.
 */
export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
  now(): Date;
  env: NodeJS.ProcessEnv;
  /** Suffix for generated grant names: lower-case letters and digits. */
  randomSuffix(): string;
  connect(context: KubeContext): GrantApi;
}

export function processIo(): CommandIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    now: () => new Date(),
    env: process.env,
    randomSuffix: () => randomSuffix(5),
    connect: (context) => createGrantApi(context),
  };
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function randomSuffix(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  // 256 is not a multiple of 36; the slight bias is irrelevant for a name suffix.
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}

export type ConfigChoice = { ok: true; config: GuardConfig; label: string } | { ok: false; errors: string[] };

/** Same resolution as `serve` and `sweep`: --config, then $NETPOL_GUARD_CONFIG, then the built-in default. */
export function chooseConfig(path: string | undefined, env: NodeJS.ProcessEnv): ConfigChoice {
  const file = path ?? (env.NETPOL_GUARD_CONFIG !== undefined && env.NETPOL_GUARD_CONFIG !== '' ? env.NETPOL_GUARD_CONFIG : undefined);
  if (file === undefined) return { ok: true, config: defaultConfig(), label: 'the built-in config' };
  const loaded = loadConfigFile(file);
  return loaded.ok ? { ok: true, config: loaded.config, label: `config ${file}` } : loaded;
}
