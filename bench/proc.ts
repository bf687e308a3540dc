/**
 * Child processes for the benchmarks: spawning pinned to a core, reading their memory and CPU time
 * from /proc, and waiting for a server to answer. Every benchmark party runs in its own process so
 * that RSS and CPU can be attributed to it.
 */
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { createServer } from 'node:net';

let tasksetAvailable: boolean | undefined;

/** Whether `taskset` exists; without it children run unpinned (and the report says so). */
export function canPin(): boolean {
  tasksetAvailable ??= spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0;
  return tasksetAvailable;
}

let devNull: number | undefined;
function devNullFd(): number {
  devNull ??= openSync('/dev/null', 'w');
  return devNull;
}

export interface SpawnOptions {
  /** CPU core to pin to (ignored when taskset is missing). */
  core?: number;
  /** 'null': /dev/null (log output is measured but not kept); default 'inherit'. */
  stdout?: 'null' | 'pipe' | 'inherit';
  /** An IPC channel for process.send / 'message'. */
  ipc?: boolean;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Starts `node <script> <args>`; with `core` and taskset, taskset execs node, so the child's pid
 * is node's own and /proc/<pid> describes the measured process.
 */
export function spawnNode(script: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const nodeArgv = [process.execPath, ...(options.nodeFlags ?? []), script, ...args];
  const pinned = options.core !== undefined && canPin();
  const [command, ...argv] = pinned ? ['taskset', '-c', String(options.core), ...nodeArgv] : nodeArgv;
  const stdout = options.stdout === 'null' ? devNullFd() : (options.stdout ?? 'inherit');
  const stdio: StdioOptions = ['ignore', stdout, 'pipe'];
  if (options.ipc) stdio.push('ipc');
  const child = spawn(command!, argv, { stdio, env: options.env ?? process.env, cwd: options.cwd });
  // stderr is kept (bounded) so a child that dies can say why.
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8_000);
  });
  (child as ChildProcess & { stderrTail: () => string }).stderrTail = () => stderr;
  return child;
}

export function stderrTail(child: ChildProcess): string {
  return (child as ChildProcess & { stderrTail?: () => string }).stderrTail?.() ?? '';
}

export interface MemoryStatus {
  /** Resident set size now, KiB. */
  rssKiB: number;
  /** Peak resident set size over the process's life ("high water mark"), KiB. */
  hwmKiB: number;
}

export function readMemory(pid: number): MemoryStatus | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return clockTicks;
}

/** User+system CPU seconds the process has used so far (all its threads). */
export function readCpuSeconds(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces; fields after it are counted from its ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return (utime + stime) / ticksPerSecond();
}

/** Samples a process's VmRSS on an interval; the maximum seen is the peak under the load. */
export class RssSampler {
  #timer: NodeJS.Timeout | undefined;
  #peakKiB = 0;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 50,
  ) {}

  start(): void {
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.intervalMs);
  }

  /** Stops sampling; returns the highest VmRSS seen (KiB). */
  stop(): number {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.sample();
    return this.#peakKiB;
  }

  private sample(): void {
    const memory = readMemory(this.pid);
    if (memory && memory.rssKiB > this.#peakKiB) this.#peakKiB = memory.rssKiB;
  }
}

/** An unused TCP port on 127.0.0.1 (closed again, so a child can bind it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not obtain a free port');
  return address.port;
}

export interface HttpsResult {
  status: number;
  body: string;
}

/** One HTTPS request on a fresh connection, verifying the server against `ca`. */
export function httpsRequest(
  url: string,
  options: { ca: string; method?: string; body?: string; headers?: Record<string, string>; timeoutMs?: number },
): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      {
        method: options.method ?? 'GET',
        ca: options.ca,
        agent: false,
        headers: options.headers,
        timeout: options.timeoutMs ?? 5_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${url}: no answer within ${options.timeoutMs ?? 5_000} ms`)));
    request.on('error', reject);
    request.end(options.body);
  });
}

/** Polls `url` until it answers 200; fails early if `child` exits first. */
export async function waitUntilServing(url: string, ca: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`server exited (code ${child.exitCode}, signal ${child.signalCode}) before serving ${url}\n${stderrTail(child)}`);
    }
    try {
      const answer = await httpsRequest(url, { ca, timeoutMs: 1_000 });
      if (answer.status === 200) return;
      lastError = `HTTP ${answer.status}`;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${lastError})\n${stderrTail(child)}`);
}

/** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGINT', graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Resolves with the exit code once the child ends. */
export function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** The first IPC message of a child (its report), or an error with its stderr if it exits first. */
export function firstMessage<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`${what} exited (${code}) before reporting: ${stderrTail(child)}`));
    child.once('exit', onExit);
    child.once('message', (message: T) => {
      child.off('exit', onExit);
      resolve(message);
    });
  });
}
