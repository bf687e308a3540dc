import type { Logger } from 'pino';
import type { Sweeper } from '../sweeper/sweeper.js';
import type { ApprovalController } from './approvalController.js';
import type { LeaderElector } from './leaderElection.js';
import type { GrantRecorder } from './recorder.js';

/** How a controller run ended, and the exit status it calls for. */
export type ControllerEnd =
  /** Asked to stop (SIGTERM); `released` when leader election handed the Lease back. */
  | { reason: 'shutdown'; exitCode: 0; released?: boolean }
  /** Leadership ended without being asked to: exit non-zero so the kubelet restarts a fresh candidate. */
  | { reason: 'lost'; exitCode: 1; detail: string };

export interface ControllerLoopOptions {
  /** Built with `standby: true` when `elector` is given, without it otherwise. */
  sweeper: Sweeper;
  /** Absent: a single local run that acts from the start (no Lease). */
  elector?: LeaderElector;
  /** Writes GrantRecords while acting; the Sweeper must have been built with it as `observer`. */
  recorder?: GrantRecorder;
  /** The GrantRequest loop (README: Approvals); it must also be the Sweeper's observer. */
  approvals?: ApprovalController;
  /** Aborts on SIGTERM/SIGINT. */
  shutdown: AbortSignal;
  logger: Logger;
}

/**
 * The controller: the watch-mode Sweeper, acting only while this process leads. Every replica
 * starts its informer at once, so a standby's schedule is full when it takes over and what is due
 * goes within the first timer tick. The elector's leadership signal gates each deletion (see
 * Sweeper.actWhile); losing it ends the run with exitCode 1, as LeaderElector.run's contract asks.
 */
export async function runControllerLoop(options: ControllerLoopOptions): Promise<ControllerEnd> {
  const { sweeper, elector, recorder, approvals, shutdown, logger } = options;
  await sweeper.start();
  approvals?.start();
  if (elector === undefined) {
    const recording = recorder?.actWhile(shutdown, () => sweeper.liveGrants());
    const approving = approvals?.actWhile(shutdown);
    await new Promise<void>((resolve) => {
      if (shutdown.aborted) return resolve();
      shutdown.addEventListener('abort', () => resolve(), { once: true });
    });
    await sweeper.stop();
    await approvals?.stop();
    await recording;
    await approving;
    return { reason: 'shutdown', exitCode: 0 };
  }
  const end = await elector.run(shutdown);
  await sweeper.stop();
  await approvals?.stop();
  if (end.reason === 'lost') {
    logger.error({ detail: end.detail }, 'leadership lost; exiting so a fresh candidate starts');
    return { reason: 'lost', exitCode: 1, detail: end.detail };
  }
  logger.info({ released: end.released }, end.released ? 'lease released' : 'stopped without releasing the lease');
  return { reason: 'shutdown', exitCode: 0, released: end.released };
}

/**
 * What a new leader does until `signal` aborts: the Sweeper acts on its schedule and the recorder
 * (if any) writes history. Give this as the LeaderElector's onStartedLeading; the elector waits
 * for it (up to the renew deadline) before releasing the Lease.
 */
export function leaderWork(sweeper: Sweeper, recorder?: GrantRecorder, approvals?: ApprovalController): (signal: AbortSignal) => Promise<unknown> {
  return (signal) => Promise.all([sweeper.actWhile(signal), recorder?.actWhile(signal, () => sweeper.liveGrants()), approvals?.actWhile(signal)]);
}
