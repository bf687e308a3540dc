import { pino, type Logger } from 'pino';
import type { FileRead } from '../files/filePoller.js';
import { WatchedFiles, type ParseResult, type ReloadEvent } from '../files/watchedFiles.js';
import { checkKeyPair, type CertificateInfo, type KeyPairPem } from './keypair.js';

/** A serving pair that passed checkKeyPair, with the public facts about its certificate. */
export interface TlsMaterial extends KeyPairPem {
  info: CertificateInfo;
}

export type TlsReloadEvent = ReloadEvent<TlsMaterial>;

export interface TlsStatus {
  loaded: boolean;
  certFile: string;
  keyFile: string;
  serialNumber: string;
  notAfter: string;
  loadedAt: string;
  /** True when the files on disk changed to something unusable and the previous pair is still served. */
  stale: boolean;
  lastReloadError?: { at: string; errors: string[] };
}

/** Where the server gets its certificate and hears about rotations. */
export interface TlsSource {
  current(): TlsMaterial;
  status(): TlsStatus;
  /** Listener runs after every reload attempt; returns an unsubscribe function. */
  onReload(listener: (event: TlsReloadEvent) => void): () => void;
}

export interface TlsFileSourceOptions {
  certFile: string;
  keyFile: string;
  /** How often to re-read the files; default 2 s. */
  pollIntervalMs?: number;
  logger?: Logger;
  now?: () => Date;
}

export const DEFAULT_TLS_POLL_INTERVAL_MS = 2_000;

/**
 * A certificate and key read from files and re-read when they change on disk (cert-manager
 * renewals, Secret remounts). A changed pair replaces the current one only if it is usable (see
 * checkKeyPair); until then the previous pair keeps serving and the failure is reported in
 * status() and the log.
 */
export class TlsFileSource implements TlsSource {
  readonly #certFile: string;
  readonly #keyFile: string;
  readonly #watched: WatchedFiles<TlsMaterial>;

  /** Loads the initial pair; fails (naming the files and the problem) when it is not usable. */
  static open(options: TlsFileSourceOptions): { ok: true; source: TlsFileSource } | { ok: false; errors: string[] } {
    const logger = options.logger ?? pino({ level: 'silent' });
    const opened = WatchedFiles.open({
      paths: [options.certFile, options.keyFile],
      parse: parseKeyPairFiles,
      pollIntervalMs: options.pollIntervalMs ?? DEFAULT_TLS_POLL_INTERVAL_MS,
      now: options.now ?? (() => new Date()),
      onInternalError: (err) => logger.error({ err }, 'TLS reload failed unexpectedly'),
    });
    if (!opened.ok) return opened;
    const source = new TlsFileSource(options.certFile, options.keyFile, opened.watched);
    let serving = opened.watched.value.info;
    opened.watched.onReload((event) => {
      if (event.ok) {
        const fresh = event.value.info;
        logger.info(
          { certFile: options.certFile, previousSerial: serving.serialNumber, serial: fresh.serialNumber, notAfter: fresh.notAfter.toISOString() },
          'TLS certificate reloaded',
        );
        serving = fresh;
      } else {
        logger.warn(
          { certFile: options.certFile, keyFile: options.keyFile, errors: event.errors, servingSerial: serving.serialNumber },
          'TLS files changed but are not usable; still serving the previous certificate',
        );
      }
    });
    return { ok: true, source };
  }

  private constructor(certFile: string, keyFile: string, watched: WatchedFiles<TlsMaterial>) {
    this.#certFile = certFile;
    this.#keyFile = keyFile;
    this.#watched = watched;
  }

  current(): TlsMaterial {
    return this.#watched.value;
  }

  status(): TlsStatus {
    const info = this.#watched.value.info;
    const error = this.#watched.lastReloadError;
    const status: TlsStatus = {
      loaded: true,
      certFile: this.#certFile,
      keyFile: this.#keyFile,
      serialNumber: info.serialNumber,
      notAfter: info.notAfter.toISOString(),
      loadedAt: this.#watched.loadedAt.toISOString(),
      stale: error !== undefined,
    };
    if (error) status.lastReloadError = { at: error.at.toISOString(), errors: [...error.errors] };
    return status;
  }

  onReload(listener: (event: TlsReloadEvent) => void): () => void {
    return this.#watched.onReload(listener);
  }

  /** Starts watching the files. */
  start(): void {
    this.#watched.start();
  }

  /** Re-reads the files now (e.g. on SIGHUP); returns what happened, or undefined if unchanged. */
  check(): TlsReloadEvent | undefined {
    return this.#watched.check();
  }

  close(): void {
    this.#watched.close();
  }
}

function parseKeyPairFiles(files: FileRead[], now: Date): ParseResult<TlsMaterial> {
  const [certFile, keyFile] = files;
  if (certFile?.content === undefined || keyFile?.content === undefined) {
    const unread = [certFile, keyFile].filter((f) => f?.content === undefined);
    return { ok: false, errors: unread.map((f) => (f ? `cannot read ${f.path}: ${f.error ?? 'unknown error'}` : 'file was not read')) };
  }
  const pair = { cert: certFile.content.toString('utf8'), key: keyFile.content.toString('utf8') };
  const check = checkKeyPair(pair, now);
  if (!check.ok) return { ok: false, errors: [`${certFile.path} / ${keyFile.path}: ${check.error}`] };
  return { ok: true, value: { ...pair, info: check.info } };
}
