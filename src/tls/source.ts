import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import type { FileRead } from '../files/filePoller.js';
import { WatchedFiles, type ParseResult, type ReloadEvent } from '../files/watchedFiles.js';
import { checkKeyPair, NOT_BEFORE_TOLERANCE_MS, type CertificateInfo, type KeyPairPem, type ValidityProblem } from './keypair.js';

/** A serving pair that passed checkKeyPair, with the public facts about its certificate. */
export interface TlsMaterial extends KeyPairPem {
  info: CertificateInfo;
}

export type TlsReloadEvent = ReloadEvent<TlsMaterial>;

/** The public facts about a pair on disk that was refused only because of its validity window. */
export interface RejectedCertificate {
  problem: ValidityProblem;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  /** For a not-yet-valid pair: when the files are read again, so it is served once it is valid. */
  retryAt?: string;
}

export interface TlsStatus {
  loaded: boolean;
  certFile: string;
  keyFile: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  loadedAt: string;
  /** True when the files on disk changed to something unusable and the previous pair is still served. */
  stale: boolean;
  lastReloadError?: { at: string; errors: string[]; rejectedCertificate?: RejectedCertificate };
}

/** Where the server gets its certificate and hears about rotations. */
export interface TlsSource {
  current(): TlsMaterial;
  status(): TlsStatus;
  /** Listener runs after every reload attempt; returns an unsubscribe function. */
  onReload(listener: (event: TlsReloadEvent) => void): () => void;
  /** Expiry of the CA that signs the serving certificate (the caBundle), when a CA file is known. */
  caNotAfter?(): Date | undefined;
}

export interface TlsFileSourceOptions {
  certFile: string;
  keyFile: string;
  /**
   * The CA certificate (ca.crt of the Secret): read at open and after every reload of the pair,
   * for its expiry only (the CA is not used to serve). Absent or unreadable: no CA expiry.
   */
  caFile?: string;
  /** How often to re-read the files; default 2 s. */
  pollIntervalMs?: number;
  logger?: Logger;
  now?: () => Date;
}

export const DEFAULT_TLS_POLL_INTERVAL_MS = 2_000;
/** setTimeout's ceiling (about 24.8 days); a later notBefore is re-checked at this distance. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface ClockRefusal {
  problem: ValidityProblem;
  info: CertificateInfo;
}

/** What the last parse of the files refused on the clock alone, if anything (see openWatched). */
interface ParseNotes {
  refusal: ClockRefusal | undefined;
}

type ResolvedOptions = Required<Omit<TlsFileSourceOptions, 'logger' | 'caFile'>> & { caFile: string | undefined };

/**
 * A certificate and key read from files and re-read when they change on disk (cert-manager
 * renewals, Secret remounts). A changed pair replaces the current one only if it is usable (see
 * checkKeyPair); until then the previous pair keeps serving and the failure is reported in
 * status(), the log and (through the server) the netpol_guard_tls_stale metric.
 *
 * A pair refused only because it is not valid yet is sound and will become servable by itself:
 * the files are read again when its notBefore arrives (or on check()), since a poll alone would
 * never notice, as the bytes on disk do not change.
 */
export class TlsFileSource implements TlsSource {
  readonly #options: ResolvedOptions;
  readonly #logger: Logger;
  readonly #listeners = new Set<(event: TlsReloadEvent) => void>();
  #watched: WatchedFiles<TlsMaterial>;
  #notes: ParseNotes;
  /** Why the files on disk are refused, when the clock alone refuses them. */
  #refusal: ClockRefusal | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryAt: Date | undefined;
  #started = false;
  /** The certificate served before the latest reload, for the log line naming both. */
  #serving: CertificateInfo;
  #caNotAfter: Date | undefined;

  /** Loads the initial pair; fails (naming the files and the problem) when it is not usable. */
  static open(options: TlsFileSourceOptions): { ok: true; source: TlsFileSource } | { ok: false; errors: string[] } {
    const logger = options.logger ?? pino({ level: 'silent' });
    const resolved: ResolvedOptions = {
      certFile: options.certFile,
      keyFile: options.keyFile,
      caFile: options.caFile,
      pollIntervalMs: options.pollIntervalMs ?? DEFAULT_TLS_POLL_INTERVAL_MS,
      now: options.now ?? (() => new Date()),
    };
    const opened = openWatched(resolved, logger);
    if (!opened.ok) return opened;
    return { ok: true, source: new TlsFileSource(resolved, logger, opened.watched, opened.notes) };
  }

  private constructor(options: ResolvedOptions, logger: Logger, watched: WatchedFiles<TlsMaterial>, notes: ParseNotes) {
    this.#options = options;
    this.#logger = logger;
    this.#watched = watched;
    this.#notes = notes;
    this.#serving = watched.value.info;
    watched.onReload((event) => this.#heard(event));
    this.#readCa();
  }

  caNotAfter(): Date | undefined {
    return this.#caNotAfter;
  }

  /** cert-manager and `netpol-guard certs` rewrite ca.crt with the pair, so a reload re-reads it. */
  #readCa(): void {
    const file = this.#options.caFile;
    if (file === undefined) return;
    const read = readCaNotAfter(file);
    if (read.ok) {
      this.#caNotAfter = read.notAfter;
      return;
    }
    this.#caNotAfter = undefined;
    this.#logger.warn({ caFile: file, error: read.error }, 'cannot read the CA certificate; its expiry is not exported');
  }

  current(): TlsMaterial {
    return this.#watched.value;
  }

  status(): TlsStatus {
    const info = this.#watched.value.info;
    const error = this.#watched.lastReloadError;
    const status: TlsStatus = {
      loaded: true,
      certFile: this.#options.certFile,
      keyFile: this.#options.keyFile,
      serialNumber: info.serialNumber,
      notBefore: info.notBefore.toISOString(),
      notAfter: info.notAfter.toISOString(),
      loadedAt: this.#watched.loadedAt.toISOString(),
      stale: error !== undefined,
    };
    if (error) {
      status.lastReloadError = { at: error.at.toISOString(), errors: [...error.errors] };
      const refusal = this.#refusal;
      if (refusal) {
        status.lastReloadError.rejectedCertificate = {
          problem: refusal.problem,
          serialNumber: refusal.info.serialNumber,
          notBefore: refusal.info.notBefore.toISOString(),
          notAfter: refusal.info.notAfter.toISOString(),
        };
        if (this.#retryAt) status.lastReloadError.rejectedCertificate.retryAt = this.#retryAt.toISOString();
      }
    }
    return status;
  }

  onReload(listener: (event: TlsReloadEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts watching the files. */
  start(): void {
    this.#started = true;
    this.#watched.start();
    this.#scheduleRetry();
  }

  /**
   * Re-reads the files now (e.g. on SIGHUP); returns what happened, or undefined if unchanged. A
   * pair refused as not yet valid is checked again even though its bytes did not change.
   */
  check(): TlsReloadEvent | undefined {
    const event = this.#watched.check();
    if (event === undefined && this.#refusal?.problem === 'not-yet-valid') return this.#retry();
    return event;
  }

  close(): void {
    this.#clearRetry();
    this.#watched.close();
    this.#listeners.clear();
  }

  #heard(event: TlsReloadEvent): void {
    this.#readCa();
    const serving = this.#serving;
    if (event.ok) {
      this.#serving = event.value.info;
      this.#refusal = undefined;
      this.#clearRetry();
    } else {
      this.#refusal = this.#notes.refusal;
      this.#scheduleRetry();
    }
    this.#log(event, serving);
    for (const listener of this.#listeners) {
      // One failing listener (a bug) must not keep the others from hearing about the reload.
      try {
        listener(event);
      } catch (err) {
        this.#logger.error({ err }, 'TLS reload listener failed');
      }
    }
  }

  #log(event: TlsReloadEvent, serving: CertificateInfo): void {
    const files = { certFile: this.#options.certFile, keyFile: this.#options.keyFile };
    if (event.ok) {
      const fresh = event.value.info;
      this.#logger.info({ ...files, previousSerial: serving.serialNumber, serial: fresh.serialNumber, ...windowFields(fresh) }, 'TLS certificate reloaded');
      return;
    }
    const refusal = this.#refusal;
    this.#logger.warn(
      {
        ...files,
        errors: event.errors,
        problem: refusal?.problem ?? 'unusable',
        rejected: refusal ? { serial: refusal.info.serialNumber, ...windowFields(refusal.info) } : undefined,
        serving: { serial: serving.serialNumber, ...windowFields(serving) },
        retryAt: this.#retryAt?.toISOString(),
      },
      refusal?.problem === 'not-yet-valid'
        ? `TLS files changed to a certificate that is not valid yet (valid from ${refusal.info.notBefore.toISOString()} to ${refusal.info.notAfter.toISOString()}); still serving certificate ${serving.serialNumber} (valid from ${serving.notBefore.toISOString()} to ${serving.notAfter.toISOString()})`
        : 'TLS files changed but are not usable; still serving the previous certificate',
    );
  }

  /**
   * Reads the files afresh (their bytes are unchanged, so the watcher would not): when the pair
   * is servable now, a new watcher holding it replaces the old one and listeners hear a success.
   */
  #retry(): TlsReloadEvent | undefined {
    this.#clearRetry();
    const reopened = openWatched(this.#options, this.#logger);
    if (!reopened.ok) {
      // Still refused: the old watcher keeps its stale state; wait for notBefore again.
      this.#refusal = reopened.notes.refusal ?? this.#refusal;
      this.#scheduleRetry();
      return undefined;
    }
    const previous = this.#serving;
    this.#watched.close();
    this.#watched = reopened.watched;
    this.#notes = reopened.notes;
    reopened.watched.onReload((event) => this.#heard(event));
    if (this.#started) reopened.watched.start();
    const event: TlsReloadEvent = { ok: true, value: reopened.watched.value };
    this.#logger.info(
      { certFile: this.#options.certFile, previousSerial: previous.serialNumber, serial: event.value.info.serialNumber, ...windowFields(event.value.info) },
      'TLS certificate reloaded: the pair on disk has become valid',
    );
    this.#refusal = undefined;
    this.#serving = event.value.info;
    this.#readCa();
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        this.#logger.error({ err }, 'TLS reload listener failed');
      }
    }
    return event;
  }

  #scheduleRetry(): void {
    this.#clearRetry();
    const refusal = this.#refusal;
    if (refusal?.problem !== 'not-yet-valid') return;
    const due = refusal.info.notBefore.getTime() - NOT_BEFORE_TOLERANCE_MS;
    this.#retryAt = new Date(due);
    if (!this.#started) return;
    const delay = Math.min(Math.max(due - this.#options.now().getTime(), 0), MAX_TIMER_MS);
    this.#retryTimer = setTimeout(() => this.#retry(), delay);
    // A pending retry must never be what keeps a finished process alive.
    this.#retryTimer.unref();
  }

  #clearRetry(): void {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#retryAt = undefined;
  }
}

function windowFields(info: CertificateInfo): { notBefore: string; notAfter: string } {
  return { notBefore: info.notBefore.toISOString(), notAfter: info.notAfter.toISOString() };
}

function openWatched(
  options: ResolvedOptions,
  logger: Logger,
): { ok: true; watched: WatchedFiles<TlsMaterial>; notes: ParseNotes } | { ok: false; errors: string[]; notes: ParseNotes } {
  const notes: ParseNotes = { refusal: undefined };
  const opened = WatchedFiles.open({
    paths: [options.certFile, options.keyFile],
    parse: (files, now) => parseKeyPairFiles(files, now, notes),
    pollIntervalMs: options.pollIntervalMs,
    now: options.now,
    onInternalError: (err) => logger.error({ err }, 'TLS reload failed unexpectedly'),
  });
  return opened.ok ? { ok: true, watched: opened.watched, notes } : { ok: false, errors: opened.errors, notes };
}

/** Parses the pair; records in `notes` whether a refusal was the clock's alone. */
function parseKeyPairFiles(files: FileRead[], now: Date, notes: ParseNotes): ParseResult<TlsMaterial> {
  notes.refusal = undefined;
  const [certFile, keyFile] = files;
  if (certFile?.content === undefined || keyFile?.content === undefined) {
    const unread = [certFile, keyFile].filter((f) => f?.content === undefined);
    return { ok: false, errors: unread.map((f) => (f ? `cannot read ${f.path}: ${f.error ?? 'unknown error'}` : 'file was not read')) };
  }
  const pair = { cert: certFile.content.toString('utf8'), key: keyFile.content.toString('utf8') };
  const check = checkKeyPair(pair, now);
  if (!check.ok) {
    notes.refusal = check.validity;
    return { ok: false, errors: [`${certFile.path} / ${keyFile.path}: ${check.error}`] };
  }
  return { ok: true, value: { ...pair, info: check.info } };
}

/** The notAfter of the first certificate in a PEM file (the current CA; a bundle may append the previous one). */
export function readCaNotAfter(file: string): { ok: true; notAfter: Date } | { ok: false; error: string } {
  try {
    const cert = new X509Certificate(readFileSync(file));
    return { ok: true, notAfter: new Date(cert.validTo) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
