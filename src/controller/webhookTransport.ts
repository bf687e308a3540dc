import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import type { WebhookTargetFile } from '../config/types.js';
import { formatNotification } from './notificationFormats.js';
import type { SendNotification, SendOutcome } from './notificationQueue.js';

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/** A receiver's answer is read and discarded; this much of it at most. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface WebhookTransportOptions {
  /** Per request, connection to last byte of the answer. */
  timeoutMs?: number;
  /** Reads urlFile and caFile (tests count the reads). */
  readText?: (path: string) => Promise<string>;
}

/**
 * POSTs a notification over HTTPS. The URL is read from the target's urlFile at every send, so a
 * rotated Secret applies at once with no reload, and it never leaves this function: failures are
 * reported as an error code or an HTTP status only, never a message (Node's messages can quote
 * the host, and a webhook URL is a credential). TLS verification is always on; caFile replaces
 * the public roots with a private CA's bundle. Redirects are not followed.
 */
export function webhookSender(options: WebhookTransportOptions = {}): SendNotification {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  const readText = options.readText ?? ((path: string) => readFile(path, 'utf8'));
  return async (target, notification, signal) => {
    let text: string;
    let url: URL;
    let ca: string | undefined;
    try {
      text = await readText(target.urlFile);
    } catch (err) {
      // Retried: a Secret volume may still be syncing.
      return { ok: false, retry: true, reason: `cannot read urlFile: ${(err as NodeJS.ErrnoException).code ?? 'error'}` };
    }
    try {
      url = new URL(text.trim());
    } catch {
      return { ok: false, retry: false, reason: 'urlFile does not hold a URL' };
    }
    if (url.protocol !== 'https:') return { ok: false, retry: false, reason: 'urlFile does not hold an https URL' };
    if (target.caFile !== undefined) {
      try {
        ca = await readText(target.caFile);
      } catch (err) {
        return { ok: false, retry: true, reason: `cannot read caFile: ${(err as NodeJS.ErrnoException).code ?? 'error'}` };
      }
    }
    return post(url, formatNotification(notification, target.format), { timeoutMs, ca, signal });
  };
}

function post(url: URL, body: string, options: { timeoutMs: number; ca: string | undefined; signal: AbortSignal }): Promise<SendOutcome> {
  return new Promise<SendOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: SendOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const req = request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'netpol-guard-controller' },
      rejectUnauthorized: true,
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
      // One connection per notification: they are rare, and a pooled socket would outlive a CA change.
      agent: false,
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish({ ok: false, retry: true, reason: `timed out after ${options.timeoutMs} ms` });
    }, options.timeoutMs);
    const onAbort = (): void => {
      req.destroy();
      finish({ ok: false, retry: false, reason: 'stopped' });
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err: NodeJS.ErrnoException) => finish(errorOutcome(err)));
    req.on('response', (res) => {
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_RESPONSE_BYTES) res.destroy();
      });
      res.on('error', () => undefined);
      const status = res.statusCode ?? 0;
      const outcome: SendOutcome =
        status >= 200 && status < 300
          ? { ok: true }
          : { ok: false, retry: status === 408 || status === 429 || status >= 500, reason: `HTTP ${status}` };
      res.on('end', () => finish(outcome));
      res.on('close', () => finish(outcome));
    });
    req.end(body);
  });
}

/** A network or TLS error as a code only. A certificate the receiver cannot prove will not prove itself on retry. */
function errorOutcome(err: NodeJS.ErrnoException): SendOutcome {
  const code = typeof err.code === 'string' && /^[A-Z0-9_]+$/.test(err.code) ? err.code : 'network error';
  const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/.test(code);
  return { ok: false, retry: !tls, reason: tls ? `TLS verification failed: ${code}` : code };
}
