import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** One file as read by a poll: its bytes, or why it could not be read. */
export interface FileRead {
  path: string;
  content: Buffer | undefined;
  error: string | undefined;
}

export interface FilePollerOptions {
  intervalMs: number;
  /** Called from the timer when the files differ from the previous poll. */
  onChange: (files: FileRead[]) => void;
  /** Called when onChange throws, so a bug in a reload cannot crash the process from a timer. */
  onError: (err: unknown) => void;
}

/**
 * Notices when a set of files changes by re-reading them on an interval and comparing contents.
 *
 * Deliberately not fs.watch: Kubernetes Secret and ConfigMap volumes update by swapping a `..data`
 * symlink, so the inode an fs.watch handle follows never changes and the event never comes.
 * Reading through the path follows the current symlink target every time. The files this watches
 * (a config, a certificate and key) are a few kilobytes, so a read per interval costs nothing.
 */
export class FilePoller {
  readonly #paths: readonly string[];
  readonly #options: FilePollerOptions;
  #lastDigest: string | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(paths: readonly string[], options: FilePollerOptions) {
    if (!(options.intervalMs > 0)) throw new Error(`poll interval must be positive, got ${options.intervalMs}`);
    this.#paths = paths;
    this.#options = options;
  }

  /** Reads the files now; returns them if they differ from the previous poll, else undefined. */
  poll(): FileRead[] | undefined {
    const files = this.#paths.map(readOne);
    const digest = digestOf(files);
    if (digest === this.#lastDigest) return undefined;
    this.#lastDigest = digest;
    return files;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), this.#options.intervalMs);
    // Polling must never be what keeps a finished process alive.
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    try {
      const files = this.poll();
      if (files !== undefined) this.#options.onChange(files);
    } catch (err) {
      this.#options.onError(err);
    }
  }
}

function readOne(path: string): FileRead {
  try {
    return { path, content: readFileSync(path), error: undefined };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { path, content: undefined, error: code ?? (err instanceof Error ? err.message : String(err)) };
  }
}

function digestOf(files: FileRead[]): string {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(file.path).update('\0');
    if (file.content !== undefined) hash.update('ok\0').update(file.content);
    else hash.update('error\0').update(file.error ?? '');
    hash.update('\0');
  }
  return hash.digest('hex');
}
