import { pino, type Logger } from 'pino';
import type { FileRead } from '../files/filePoller.js';
import { WatchedFiles, type ParseResult, type ReloadEvent } from '../files/watchedFiles.js';
import { EMPTY_CONFIG_FILE, parseConfigText, withStartHint } from './load.js';
import type { GuardConfig } from './types.js';

export type ConfigReloadEvent = ReloadEvent<GuardConfig>;

export interface ConfigStatus {
  loaded: boolean;
  /** The file path, or "embedded default". */
  source: string;
  loadedAt: string;
  /** True when the file changed to something invalid and the last good config is still in force. */
  stale: boolean;
  lastReloadError?: { at: string; errors: string[] };
}

/** Where the server gets the current config and hears about reloads. */
export interface ConfigSource {
  current(): GuardConfig;
  status(): ConfigStatus;
  /** Listener runs after every reload attempt; returns an unsubscribe function. */
  onReload(listener: (event: ConfigReloadEvent) => void): () => void;
}

export interface ConfigStoreOptions {
  /** How often to re-read the file; default 2 s. */
  pollIntervalMs?: number;
  logger?: Logger;
  now?: () => Date;
}

export const DEFAULT_CONFIG_POLL_INTERVAL_MS = 2_000;
export const EMBEDDED_CONFIG_SOURCE = 'embedded default';

/**
 * Holds the current GuardConfig. Built from a file, it re-reads the file when it changes
 * (ConfigMap volumes update by symlink swap; see FilePoller) and swaps in the new config only if it
 * is valid. An invalid edit leaves the last good config in force, marked stale, with the errors
 * kept for /readyz and logged.
 */
export class ConfigStore implements ConfigSource {
  readonly #source: string;
  /** Undefined for a fixed config (no file). */
  readonly #watched: WatchedFiles<GuardConfig> | undefined;
  readonly #fixed: { config: GuardConfig; loadedAt: Date } | undefined;

  /**
   * Loads `path`; fails with every error (each naming the path) when the file is invalid or empty.
   * Later, an empty file (a write in progress) is refused like an invalid one: the last good
   * config stays in force, marked stale, with "config file is empty" as the reason.
   */
  static fromFile(path: string, options: ConfigStoreOptions = {}): { ok: true; store: ConfigStore } | { ok: false; errors: string[] } {
    const logger = options.logger ?? pino({ level: 'silent' });
    let started = false;
    const opened = WatchedFiles.open({
      paths: [path],
      parse: (files) => (started ? parseConfigFile(files) : withStartHint(parseConfigFile(files))),
      pollIntervalMs: options.pollIntervalMs ?? DEFAULT_CONFIG_POLL_INTERVAL_MS,
      now: options.now ?? (() => new Date()),
      onInternalError: (err) => logger.error({ err }, 'config reload failed unexpectedly'),
    });
    if (!opened.ok) return { ok: false, errors: opened.errors };
    started = true;
    opened.watched.onReload((event) => {
      if (event.ok) logger.info({ configFile: path, mode: event.value.mode }, 'config reloaded');
      else if (event.errors.some((e) => e.includes(EMPTY_CONFIG_FILE))) {
        logger.error({ configFile: path, errors: event.errors }, 'config file is empty; keeping the last good config');
      } else logger.error({ configFile: path, errors: event.errors }, 'config file changed but is invalid; keeping the last good config');
    });
    return { ok: true, store: new ConfigStore(path, opened.watched, undefined) };
  }

  /** A store that always holds `config` (the embedded default when no file is given). */
  static fromConfig(config: GuardConfig, options: { source?: string; now?: () => Date } = {}): ConfigStore {
    const loadedAt = (options.now ?? (() => new Date()))();
    return new ConfigStore(options.source ?? EMBEDDED_CONFIG_SOURCE, undefined, { config, loadedAt });
  }

  private constructor(
    source: string,
    watched: WatchedFiles<GuardConfig> | undefined,
    fixed: { config: GuardConfig; loadedAt: Date } | undefined,
  ) {
    this.#source = source;
    this.#watched = watched;
    this.#fixed = fixed;
  }

  current(): GuardConfig {
    return this.#watched?.value ?? this.#fixed!.config;
  }

  status(): ConfigStatus {
    const loadedAt = this.#watched?.loadedAt ?? this.#fixed!.loadedAt;
    const error = this.#watched?.lastReloadError;
    const status: ConfigStatus = { loaded: true, source: this.#source, loadedAt: loadedAt.toISOString(), stale: error !== undefined };
    if (error) status.lastReloadError = { at: error.at.toISOString(), errors: [...error.errors] };
    return status;
  }

  onReload(listener: (event: ConfigReloadEvent) => void): () => void {
    return this.#watched?.onReload(listener) ?? (() => undefined);
  }

  /** Starts watching the file (no-op for a fixed config). */
  start(): void {
    this.#watched?.start();
  }

  /** Re-reads the file now (e.g. on SIGHUP); returns what happened, or undefined if unchanged. */
  check(): ConfigReloadEvent | undefined {
    return this.#watched?.check();
  }

  close(): void {
    this.#watched?.close();
  }
}

function parseConfigFile(files: FileRead[]): ParseResult<GuardConfig> & { empty?: boolean } {
  const file = files[0];
  if (file === undefined) return { ok: false, errors: ['config file was not read'] };
  if (file.content === undefined) {
    return { ok: false, errors: [`${file.path}: cannot read config file: ${file.error ?? 'unknown error'}`] };
  }
  const result = parseConfigText(file.content.toString('utf8'), file.path);
  return result.ok ? { ok: true, value: result.config } : { ok: false, errors: result.errors, empty: result.empty };
}
