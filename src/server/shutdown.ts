import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { GuardServer } from './app.js';

export interface ShutdownOptions {
  /** Bound on the whole shutdown; connections still open when it passes are destroyed. */
  timeoutMs: number;
  /**
   * How long to keep serving, with /readyz already failing, before the listener closes: the time
   * Kubernetes needs to take the pod out of the Service endpoints, so no new admission call is sent
   * to a closed port. Capped at timeoutMs. Default 0.
   */
  drainDelayMs?: number;
  logger?: Logger;
}

export interface ShutdownResult {
  /** True when the timeout passed and open connections were destroyed. */
  forced: boolean;
}

/** How often idle keep-alive connections are closed while the server drains. */
const IDLE_SWEEP_MS = 50;

const inProgress = new WeakMap<GuardServer, Promise<ShutdownResult>>();

/**
 * Graceful shutdown: readiness fails at once, the server keeps answering for drainDelayMs, then
 * stops accepting connections and waits for in-flight requests to finish, closing connections as
 * they go idle. After timeoutMs everything still open is closed by force. Calling it again returns
 * the shutdown already under way.
 */
export function shutdownServer(server: GuardServer, options: ShutdownOptions): Promise<ShutdownResult> {
  const running = inProgress.get(server);
  if (running) return running;
  const promise = runShutdown(server, options);
  inProgress.set(server, promise);
  return promise;
}

async function runShutdown(server: GuardServer, options: ShutdownOptions): Promise<ShutdownResult> {
  const { app, lifecycle } = server;
  lifecycle.beginShutdown();
  const drainDelayMs = Math.max(0, Math.min(options.drainDelayMs ?? 0, options.timeoutMs));
  options.logger?.info({ drainDelayMs, timeoutMs: options.timeoutMs }, 'shutting down: readiness off, draining');

  let forced = false;
  let onForced: () => void = () => undefined;
  const forcedSignal = new Promise<void>((resolve) => (onForced = resolve));
  const forceTimer = setTimeout(() => {
    forced = true;
    options.logger?.warn({ timeoutMs: options.timeoutMs }, 'shutdown timeout passed; closing open connections');
    app.server.closeAllConnections();
    onForced();
  }, options.timeoutMs);

  const abortDrain = new AbortController();
  await Promise.race([sleep(drainDelayMs, undefined, { signal: abortDrain.signal }).catch(() => undefined), forcedSignal]);
  abortDrain.abort();

  // fastify closes idle connections once when closing starts; connections whose request finishes
  // later would otherwise sit in keep-alive until their timeout and hold the close open.
  const idleSweep = setInterval(() => app.server.closeIdleConnections(), IDLE_SWEEP_MS);
  try {
    const closing = app.close();
    if (forced) app.server.closeAllConnections();
    await closing;
  } finally {
    clearInterval(idleSweep);
    clearTimeout(forceTimer);
  }
  options.logger?.info({ forced }, 'server closed');
  return { forced };
}
