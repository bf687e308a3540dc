// Process bookkeeping for the e2e harness: every long-running child is started
// in its own process group, registered here, and killed on stop(), on process
// exit, on SIGINT/SIGTERM/SIGHUP, and (via a watchdog whose stdin is a pipe
// from this process) even when this process is SIGKILLed.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** True once the process has exited. */
  hasExited(): boolean;
}

/** Synchronous cleanup actions run from the 'exit' / signal handlers. */
const emergencyCleanups = new Set<() => void>();
let handlersInstalled = false;

function runEmergencyCleanups(): void {
  for (const fn of [...emergencyCleanups]) {
    try {
      fn();
    } catch {
      // best effort: we are exiting
    }
  }
  emergencyCleanups.clear();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', runEmergencyCleanups);
  const signals: Array<[NodeJS.Signals, number]> = [
    ['SIGINT', 2],
    ['SIGTERM', 15],
    ['SIGHUP', 1],
  ];
  for (const [sig, num] of signals) {
    process.on(sig, () => {
      runEmergencyCleanups();
      // Installing a listener disables Node's default "exit on signal".
      process.exit(128 + num);
    });
  }
}

/** Registers a synchronous cleanup to run if the process exits before it is removed. */
export function registerEmergencyCleanup(fn: () => void): () => void {
  installHandlers();
  emergencyCleanups.add(fn);
  return () => {
    emergencyCleanups.delete(fn);
  };
}

export function killGroupSync(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // group already gone
  }
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Starts `command` detached (new process group) with stdout+stderr appended to
 * `logFile`. The child does not keep Node's event loop alive.
 */
export function startManaged(
  name: string,
  command: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
): ManagedProcess {
  const fd = fs.openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    fs.writeSync(fd, `# ${new Date().toISOString()} ${command} ${args.join(' ')}\n`);
    child = spawn(command, args, {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    fs.closeSync(fd);
  }
  if (child.pid === undefined) {
    throw new Error(`failed to start ${name} (${command})`);
  }
  const pid = child.pid;
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (err) => {
      done = true;
      resolve(`spawn error: ${err.message}`);
    });
  });
  child.unref();
  return { name, pid, logFile, child, exited, hasExited: () => done };
}

/** SIGTERM the process group, then SIGKILL after `graceMs`. */
export async function stopManaged(p: ManagedProcess, graceMs = 10_000): Promise<void> {
  if (p.hasExited()) {
    killGroupSync(p.pid, 'SIGKILL'); // stray grandchildren, if any
    return;
  }
  killGroupSync(p.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const r = await Promise.race([p.exited, timedOut]);
  if (timer) clearTimeout(timer);
  if (r === 'timeout') {
    killGroupSync(p.pid, 'SIGKILL');
    await Promise.race([p.exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  }
  killGroupSync(p.pid, 'SIGKILL');
}

/**
 * A `bash` watchdog that blocks reading its stdin (a pipe from this process).
 * If this process dies without cleaning up — even by SIGKILL — the pipe
 * closes and the watchdog kills the given process groups and removes `dir`.
 */
export class Watchdog {
  private readonly child: ChildProcess;
  private readonly pgids = new Set<number>();

  constructor(private readonly dir: string) {
    const script = [
      // Nothing is ever written to stdin: `cat` just waits for EOF, i.e. for
      // this Node process to be gone. The pgids to kill are kept in a file.
      'cat >/dev/null 2>&1',
      'if [ -f "$1/.watchdog-pgids" ]; then',
      '  for g in $(cat "$1/.watchdog-pgids"); do kill -TERM -- "-$g" 2>/dev/null; done',
      '  sleep 2',
      '  for g in $(cat "$1/.watchdog-pgids"); do kill -KILL -- "-$g" 2>/dev/null; done',
      'fi',
      'rm -rf -- "$1"',
    ].join('\n');
    this.child = spawn('bash', ['-c', script, 'netpol-guard-e2e-watchdog', dir], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    this.child.unref();
    const stdin = this.child.stdin as unknown as { unref?: () => void; on?: (e: string, f: () => void) => void } | null;
    stdin?.on?.('error', () => {});
    stdin?.unref?.();
  }

  watch(pgid: number): void {
    this.pgids.add(pgid);
    fs.writeFileSync(`${this.dir}/.watchdog-pgids`, [...this.pgids].join('\n') + '\n');
  }

  /** Disarms the watchdog (call after the watched processes are stopped). */
  disarm(): void {
    if (this.child.pid !== undefined) killGroupSync(this.child.pid, 'SIGKILL');
  }
}

/** What a short-lived command printed, and how it ended. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Written to the command's stdin, which is then closed; without it stdin is ignored. */
  stdin?: string;
  timeoutMs?: number;
  /** Names the command in the note appended to stderr when it is killed for taking too long. */
  label: string;
}

/**
 * Runs a short-lived command (kubectl, the CLI) to completion and collects its output. It never
 * rejects on a non-zero exit; a command still running after `timeoutMs` is killed, and a command
 * ended by a signal reports exit code 128.
 */
export function runToCompletion(program: string, args: string[], opts: RunOptions): Promise<CommandResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (c: string) => (stdout += c));
    child.stderr!.on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      stderr += `\n[harness] ${opts.label} killed after ${timeoutMs}ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    if (child.stdin) {
      child.stdin.on('error', () => {});
      child.stdin.end(opts.stdin);
    }
  });
}
