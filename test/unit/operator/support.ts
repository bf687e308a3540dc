/** Test doubles for the commands: captured output, a fixed clock, the fake API server. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { KubeContext } from '../../../src/kube/kubeConfig.js';
import { CLI_RETRY_POLICY, createGrantApi, type GrantApi } from '../../../src/operator/kube.js';
import type { CommandIo } from '../../../src/operator/runtime.js';
import type { FakeApiServer } from '../../helpers/fakeApiServer.js';

export const NOW = new Date('2026-03-01T02:14:00Z');

export interface CapturedIo extends CommandIo {
  out: string;
  err: string;
}

/** Output in buffers, a fixed clock and name suffix, and a client that never sleeps between retries. */
export function captureIo(overrides: Partial<CommandIo> = {}): CapturedIo {
  const io: CapturedIo = {
    out: '',
    err: '',
    stdout: (text) => void (io.out += text),
    stderr: (text) => void (io.err += text),
    now: () => NOW,
    env: {},
    cwd: () => process.cwd(),
    readStdin: async () => '',
    randomSuffix: () => 'abcde',
    connect: (context: KubeContext): GrantApi =>
      createGrantApi(context, { retry: { ...CLI_RETRY_POLICY, sleep: async () => undefined }, requestTimeoutMs: 5_000 }),
    ...overrides,
  };
  return io;
}

/** The fake's kubeconfig as a file (removed with the directory when the process exits). */
export function kubeconfigFile(fake: FakeApiServer): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netpol-guard-operator-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'kubeconfig');
  fs.writeFileSync(file, fake.kubeconfigText(), { mode: 0o600 });
  return file;
}

export function statusBody(code: number, reason: string, message: string, details?: unknown): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code, reason, message, ...(details !== undefined && { details }) };
}
