import { FilePoller, type FileRead } from './filePoller.js';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };
export type ReloadEvent<T> = ParseResult<T>;

export interface WatchedFilesOptions<T> {
  paths: readonly string[];
  /** Turns the files' current contents into a value, or says why they are unusable. */
  parse: (files: FileRead[], now: Date) => ParseResult<T>;
  pollIntervalMs: number;
  now: () => Date;
  /** Called when a reload step throws (a bug); polling carries on. */
  onInternalError: (err: unknown) => void;
}

/**
 * A value derived from files that is re-derived when the files change, keeping the last good value
 * whenever the new contents do not parse. Shared by the config store and the TLS source so both
 * follow the same rule: a bad edit on disk never replaces a working value, and is reported.
 */
export class WatchedFiles<T> {
  readonly #poller: FilePoller;
  readonly #parse: (files: FileRead[], now: Date) => ParseResult<T>;
  readonly #now: () => Date;
  readonly #onInternalError: (err: unknown) => void;
  readonly #listeners = new Set<(event: ReloadEvent<T>) => void>();
  #value: T;
  #loadedAt: Date;
  #lastReloadError: { at: Date; errors: string[] } | undefined;

  /** Reads and parses the files once; fails with the parse errors when they are unusable. */
  static open<T>(options: WatchedFilesOptions<T>): { ok: true; watched: WatchedFiles<T> } | { ok: false; errors: string[] } {
    const poller = new FilePoller(options.paths, {
      intervalMs: options.pollIntervalMs,
      onChange: (files) => watched.#apply(files),
      onError: options.onInternalError,
    });
    const at = options.now();
    const first = options.parse(poller.poll() ?? [], at);
    if (!first.ok) return first;
    const watched: WatchedFiles<T> = new WatchedFiles(options, poller, first.value, at);
    return { ok: true, watched };
  }

  private constructor(options: WatchedFilesOptions<T>, poller: FilePoller, value: T, loadedAt: Date) {
    this.#poller = poller;
    this.#parse = options.parse;
    this.#now = options.now;
    this.#onInternalError = options.onInternalError;
    this.#value = value;
    this.#loadedAt = loadedAt;
  }

  get value(): T {
    return this.#value;
  }

  get loadedAt(): Date {
    return this.#loadedAt;
  }

  /** Set while the files on disk are unusable and the previous value is still in force. */
  get lastReloadError(): { at: Date; errors: readonly string[] } | undefined {
    return this.#lastReloadError;
  }

  /** Listener runs after every reload attempt, in subscription order; returns an unsubscribe. */
  onReload(listener: (event: ReloadEvent<T>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    this.#poller.start();
  }

  /** Re-reads the files now; returns the outcome, or undefined when nothing changed. */
  check(): ReloadEvent<T> | undefined {
    const files = this.#poller.poll();
    return files === undefined ? undefined : this.#apply(files);
  }

  close(): void {
    this.#poller.stop();
    this.#listeners.clear();
  }

  #apply(files: FileRead[]): ReloadEvent<T> {
    const now = this.#now();
    const event = this.#parse(files, now);
    if (event.ok) {
      this.#value = event.value;
      this.#loadedAt = now;
      this.#lastReloadError = undefined;
    } else {
      this.#lastReloadError = { at: now, errors: event.errors };
    }
    for (const listener of this.#listeners) {
      // One failing listener (a bug) must not keep the others from hearing about the reload.
      try {
        listener(event);
      } catch (err) {
        this.#onInternalError(err);
      }
    }
    return event;
  }
}
