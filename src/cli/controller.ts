// Over 400 lines: the controller process wiring (config reloads, generations, recorder, approval loop, election) reads best in one place.
import { readFileSync } from 'node:fs';
import type { KubeConfig, V1NetworkPolicy } from '@kubernetes/client-node';
import { type Logger, pino } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { defaultConfig } from '../config/load.js';
import { ConfigStore } from '../config/store.js';
import type { GuardConfig } from '../config/types.js';
import { type ControllerEnd, leaderWork, runControllerLoop } from '../controller/controllerLoop.js';
import { createApprovalApi } from '../approval/requestApi.js';
import { approveCommand } from '../approval/commands.js';
import { ApprovalController } from '../controller/approvalController.js';
import { bothObservers } from '../controller/observers.js';
import { expiringNotification, type GrantNotification, requestNotification, transitionNotifications } from '../controller/notification.js';
import { Notifier } from '../controller/notifier.js';
import { loadKubeContext } from '../kube/kubeConfig.js';
import { readGrantAnnotations, stringEntry } from '../lifecycle/annotations.js';
import { summarizeAccess } from '../operator/describe.js';
import { KubeGrantRecordClient } from '../controller/grantRecordClient.js';
import { GrantRecorder } from '../controller/recorder.js';
import { realSleep } from '../kube/clock.js';
import { DEFAULT_LEASE_NAME, defaultIdentity, type ElectionTiming, resolveTiming } from '../controller/electionSettings.js';
import { LeaderElector } from '../controller/leaderElection.js';
import { KubeLeaseClient } from '../controller/leaseClient.js';
import { describeApiError } from '../kube/apiErrors.js';
import { formatDuration, parseDuration } from '../lifecycle/duration.js';
import { startHealthServer } from '../sweeper/healthServer.js';
import { Sweeper } from '../sweeper/sweeper.js';
import { defineCommand, type FlagValues, type Validated } from './command.js';
import { SWEEP_OPTIONS, sweepFlagsFrom, type SweepFlags } from './sweep.js';

function usage(prog: string): string {
  return `usage: ${prog} controller [options]

Run until SIGTERM: list and watch temporary NetworkPolicy grants and delete each at its expiry.
With --leader-elect, replicas elect one leader on a coordination.k8s.io/v1 Lease; only the
leader deletes and writes Events, standbys keep their cache warm and take over within a second.
A leader that cannot renew in time stops at once and exits 1 (the kubelet restarts it).
The leader also writes an ExpiringSoon Event notify.beforeExpiry ahead of each expiry and sends
notify.webhooks. It opens the access of approved GrantRequests (README: Approvals): the
NetworkPolicy, expiring from the approval; lapses unapproved ones after approval.pendingTTL.
The config file is re-read when it changes; an invalid edit keeps the last good one.

options:
  --leader-elect         elect a leader (the manifests turn this on; off for a local run)
  --lease-name NAME      the Lease (default ${DEFAULT_LEASE_NAME})
  --lease-namespace NS   its namespace (default: $POD_NAMESPACE, else the service account's)
  --lease-duration D     how long standbys wait for a silent leader (default 15s, whole seconds)
  --renew-deadline D     how long a leader keeps acting without a renewal (default 10s)
  --retry-period D       pause between acquire/renew attempts (default 2s)
  --dry-run              log what would be deleted; delete nothing
  --kubeconfig FILE      kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, then the
                         pod's service account)
  --namespace NS         only this namespace (default: all namespaces)
  --config FILE          platform config (default: $NETPOL_GUARD_CONFIG, else built-in defaults)
  --concurrency N        deletions in flight at once, 1-64 (default 4)
  --resync DURATION      full relist period, e.g. 5m, 90s (default 5m, at least 10s)
  --metrics-port N       port for /healthz and /metrics, plain HTTP (default 9090)
  --metrics-host HOST    address to bind them to (default 0.0.0.0)
  --log-level LEVEL      fatal, error, warn, info, debug, trace or silent (default info)
  -h, --help             show this help
`;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** Where the kubelet mounts the pod's namespace next to its service-account token. */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

const { once: _once, watch: _watch, ...WATCH_OPTIONS } = SWEEP_OPTIONS;
const CONTROLLER_OPTIONS = {
  ...WATCH_OPTIONS,
  'leader-elect': { type: 'boolean' },
  'lease-name': { type: 'string' },
  'lease-namespace': { type: 'string' },
  'lease-duration': { type: 'string' },
  'renew-deadline': { type: 'string' },
  'retry-period': { type: 'string' },
} as const;

export interface ControllerFlags extends SweepFlags {
  leaderElect: boolean;
  leaseName: string;
  /** From the flag, $POD_NAMESPACE or the service-account file; undefined without --leader-elect. */
  leaseNamespace: string | undefined;
  timing: ElectionTiming;
}

/** Where the Lease lives when --lease-namespace is not given; undefined when nothing says. */
export function podNamespace(env: NodeJS.ProcessEnv, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): string | undefined {
  const fromEnv = env.POD_NAMESPACE?.trim();
  if (fromEnv) return fromEnv;
  try {
    const fromFile = readFile(SERVICE_ACCOUNT_NAMESPACE_FILE).trim();
    return fromFile === '' ? undefined : fromFile;
  } catch {
    return undefined;
  }
}

/**
 * The flags and environment → validated flags. Reads the service-account namespace file only when
 * --leader-elect is given without --lease-namespace and $POD_NAMESPACE.
 */
export function controllerFlagsFrom(
  values: FlagValues<typeof CONTROLLER_OPTIONS>,
  env: NodeJS.ProcessEnv,
  findPodNamespace: (env: NodeJS.ProcessEnv) => string | undefined = podNamespace,
): Validated<ControllerFlags> {
  const leaderElect = values['leader-elect'] ?? false;
  const electionOnly = ['lease-name', 'lease-namespace', 'lease-duration', 'renew-deadline', 'retry-period'] as const;
  if (!leaderElect) {
    for (const flag of electionOnly) if (values[flag] !== undefined) return { ok: false, error: `--${flag} applies with --leader-elect only` };
  }
  const common = sweepFlagsFrom({ ...values, watch: true }, env);
  if (!common.ok) return { ok: false, error: common.error };

  const leaseName = values['lease-name'] ?? DEFAULT_LEASE_NAME;
  if (!DNS_SUBDOMAIN.test(leaseName)) return { ok: false, error: `--lease-name "${leaseName}" is not a valid object name` };
  let leaseNamespace: string | undefined;
  if (leaderElect) {
    leaseNamespace = values['lease-namespace'] ?? findPodNamespace(env);
    if (leaseNamespace === undefined) {
      return { ok: false, error: '--leader-elect needs --lease-namespace (no $POD_NAMESPACE and no service-account namespace file)' };
    }
    if (!DNS_LABEL.test(leaseNamespace)) return { ok: false, error: `--lease-namespace "${leaseNamespace}" is not a valid namespace name` };
  }
  const durations: Partial<ElectionTiming> = {};
  for (const [flag, key] of [['lease-duration', 'leaseDurationMs'], ['renew-deadline', 'renewDeadlineMs'], ['retry-period', 'retryPeriodMs']] as const) {
    const text = values[flag];
    if (text === undefined) continue;
    const parsed = parseDuration(text);
    if (!parsed.ok) return { ok: false, error: `--${flag}: ${parsed.error}` };
    durations[key] = parsed.ms;
  }
  let timing: ElectionTiming;
  try {
    timing = resolveTiming(durations);
  } catch (err) {
    return { ok: false, error: flagWords((err as Error).message) };
  }
  return { ok: true, flags: { ...common.flags, leaderElect, leaseName, leaseNamespace, timing } };
}

/** resolveTiming speaks of option names; a command-line user knows the flags. */
function flagWords(message: string): string {
  return message
    .replace(/leader election /g, '')
    .replace(/leaseDurationMs/g, '--lease-duration')
    .replace(/renewDeadlineMs/g, '--renew-deadline')
    .replace(/retryPeriodMs/g, '--retry-period');
}

export const controllerCommand = defineCommand({
  name: 'controller',
  summary: 'expire grants at their expiry, one leader among replicas (--leader-elect)',
  usage,
  options: CONTROLLER_OPTIONS,
  validate: (values, env) => controllerFlagsFrom(values, env),
  onUsageError: 'usage',
  run: async ({ flags, say }) => runController(flags, say),
});

/**
 * The controller process: config, kube context, /healthz and /metrics, then runControllerLoop
 * until SIGTERM (exit 0) or a lost leadership (exit 1). `sweep --watch` comes here too.
 *
 * The config file is watched like serve's. A reload applies at once to the notification targets
 * and notify.beforeExpiry; one that changes annotationPrefix or history.retention restarts the
 * work in-process (informer, schedule, recorder, election: the Lease is released and competed
 * for again) with the new config. An invalid edit keeps the last good config and logs its errors.
 */
export async function runController(flags: ControllerFlags, say: (text: string) => void, aliasOf?: string): Promise<number> {
  const logger = pino({
    level: flags.logLevel,
    base: { component: aliasOf === undefined ? 'netpol-guard-controller' : 'netpol-guard-sweeper' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
  const store = openConfigStore(flags.configPath, logger, say);
  if (store === undefined) return 2;
  const kube = loadKubeContext(flags.kubeconfig);
  if (!kube.ok) {
    say(kube.error);
    store.close();
    return 2;
  }
  if (aliasOf !== undefined) logger.warn(`"${aliasOf}" is an alias of "controller" and will be removed; run "controller" instead`);
  // Process-wide metrics live here; each generation's sweeper and election metrics in their own registry.
  const processRegistry = new Registry();
  collectDefaultMetrics({ register: processRegistry });
  const notifier = new Notifier({ targets: () => store.current().notify.webhooks, registry: processRegistry, logger, sleep: realSleep });
  let generation = startGeneration(flags, store.current(), kube.context.kubeConfig, notifier, () => store.current(), logger, aliasOf);
  logGeneration(logger, flags, store.current(), kube.context.server);

  let server;
  try {
    server = await startHealthServer({
      host: flags.metricsHost,
      port: flags.metricsPort,
      registry: () => Registry.merge([processRegistry, generation.registry]),
      health: () => generation.sweeper.health(),
    });
  } catch (err) {
    logger.error({ host: flags.metricsHost, port: flags.metricsPort, error: (err as Error).message }, 'cannot serve /healthz and /metrics');
    store.close();
    return 1;
  }
  logger.info({ host: server.address.address, port: server.address.port }, 'serving /healthz and /metrics');
  const shutdown = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'stopping');
    shutdown.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  let restart = new AbortController();
  store.onReload((event) => {
    if (!event.ok) return;
    const before = generation.config;
    if (needsRestart(before, event.value)) {
      logger.info({ annotationPrefix: event.value.annotationPrefix }, 'config reloaded: annotation keys or history retention changed; restarting the controller work');
      restart.abort();
      return;
    }
    if (event.value.notify.beforeExpiryMs !== before.notify.beforeExpiryMs) generation.sweeper.rescheduleWarnings();
    generation.config = event.value;
    void notifier.reconcileTargets();
  });
  store.start();

  let end: ControllerEnd;
  for (;;) {
    end = await runControllerLoop({
      sweeper: generation.sweeper,
      ...(generation.elector ? { elector: generation.elector } : {}),
      ...(generation.recorder ? { recorder: generation.recorder } : {}),
      ...(generation.approvals ? { approvals: generation.approvals } : {}),
      shutdown: AbortSignal.any([shutdown.signal, restart.signal]),
      logger,
    });
    generation.close();
    if (shutdown.signal.aborted || !restart.signal.aborted || end.reason === 'lost') break;
    restart = new AbortController();
    generation = startGeneration(flags, store.current(), kube.context.kubeConfig, notifier, () => store.current(), logger, aliasOf);
    logGeneration(logger, flags, store.current(), kube.context.server);
  }
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  store.close();
  // What the last moments queued (an `expired`, say) gets a short chance to go out.
  await Promise.race([notifier.idle(), new Promise((resolve) => setTimeout(resolve, NOTIFY_FLUSH_MS).unref())]);
  await notifier.close();
  await server.close();
  return end.exitCode;
}

/** How long a stopping controller waits for queued notifications (well inside the pod's grace period). */
const NOTIFY_FLUSH_MS = 3_000;

/** The config store: the file (watched) or the embedded default; undefined after saying why not. */
function openConfigStore(path: string | undefined, logger: Logger, say: (text: string) => void): ConfigStore | undefined {
  if (path === undefined) return ConfigStore.fromConfig(defaultConfig());
  const opened = ConfigStore.fromFile(path, { logger });
  if (!opened.ok) {
    say(`invalid config:\n${opened.errors.map((e) => `  ${e}`).join('\n')}`);
    return undefined;
  }
  return opened.store;
}

/** A reload that changes what the informer selects or the recorder keeps needs fresh ones. */
export function needsRestart(before: GuardConfig, after: GuardConfig): boolean {
  return before.annotationPrefix !== after.annotationPrefix || before.history.retentionMs !== after.history.retentionMs;
}

/** One run of the controller's work under one config (see runController). */
interface Generation {
  config: GuardConfig;
  registry: Registry;
  sweeper: Sweeper;
  recorder: GrantRecorder | undefined;
  approvals: ApprovalController | undefined;
  elector: LeaderElector | undefined;
  /** Close what the generation holds open beyond the Sweeper (pooled GrantRecord connections). */
  close(): void;
}

function startGeneration(
  flags: ControllerFlags,
  config: GuardConfig,
  kubeConfig: KubeConfig,
  notifier: Notifier,
  currentConfig: () => GuardConfig,
  logger: Logger,
  aliasOf: string | undefined,
): Generation {
  const registry = new Registry();
  // `sweep --watch` keeps its old permissions (no grantrecords), so the alias does not record.
  let serverNow: () => Date = () => new Date();
  const recordClient = aliasOf === undefined ? KubeGrantRecordClient.fromKubeConfig(kubeConfig) : undefined;
  const recorder =
    recordClient !== undefined
      ? new GrantRecorder({
          client: recordClient,
          config,
          now: () => serverNow(),
          logger,
          retentionMs: config.history.retentionMs,
          ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
          sleep: realSleep,
          onWritten: (before, after) => {
            for (const notification of transitionNotifications(before, after, serverNow())) notifier.notify(notification);
          },
          approvalOf: (policy) => approvals?.approvalOf(policy),
          closeNote: (policy) => approvals?.removalNote(policy),
        })
      : undefined;
  // The GrantRequest loop shares the alias's rule: `sweep --watch` keeps its old permissions.
  const approvalApi = aliasOf === undefined ? createApprovalApi(kubeConfig, flags.namespace) : undefined;
  const approvals =
    approvalApi !== undefined
      ? new ApprovalController({
          api: approvalApi,
          config: currentConfig,
          now: () => serverNow(),
          logger,
          ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
          onTransition: (transition, request) => {
            const command = transition === 'requested' ? approveCommand(request) : undefined;
            notifier.notify(requestNotification(transition, request, serverNow(), command));
          },
        })
      : undefined;
  const observer = recorder !== undefined && approvals !== undefined ? bothObservers(approvals, recorder) : recorder;
  const sweeper = new Sweeper({
    ...(observer ? { observer } : {}),
    kubeConfig,
    config,
    registry,
    logger,
    namespace: flags.namespace,
    dryRun: flags.dryRun,
    concurrency: flags.concurrency,
    resyncMs: flags.resyncMs,
    standby: flags.leaderElect,
    expiryWarning: {
      beforeMs: () => currentConfig().notify.beforeExpiryMs,
      onWarned: (policy, expiresAt, at) => {
        const notification = expiringFor(policy, expiresAt, at, config);
        if (notification !== undefined) notifier.notify(notification);
      },
    },
  });
  serverNow = () => sweeper.serverNow();
  const identity = defaultIdentity();
  const elector = flags.leaderElect
    ? new LeaderElector({
        client: KubeLeaseClient.fromKubeConfig(kubeConfig),
        lease: { namespace: flags.leaseNamespace!, name: flags.leaseName },
        identity,
        timing: flags.timing,
        registry,
        onStartedLeading: leaderWork(sweeper, recorder, approvals),
        onNewLeader: (holder) => logger.info({ leader: holder, self: holder === identity }, 'new leader observed'),
        onError: (err, during) => logger.warn({ during, error: describeApiError(err) }, 'leader election call failed'),
      })
    : undefined;
  return {
    config,
    registry,
    sweeper,
    recorder,
    approvals,
    elector,
    close: () => {
      recordClient?.close();
      approvalApi?.close();
    },
  };
}

/** The `expiring` notification for a grant as the informer holds it (labels, annotations, spec). */
function expiringFor(policy: V1NetworkPolicy, expiresAt: Date, at: Date, config: GuardConfig): GrantNotification | undefined {
  const m = policy.metadata;
  if (m?.namespace === undefined || m.name === undefined || m.uid === undefined) return undefined;
  const grant = readGrantAnnotations(policy, config.keys);
  return expiringNotification(
    {
      namespace: m.namespace,
      name: m.name,
      uid: m.uid,
      ticket: grant.ticket,
      ticketUrl: stringEntry(m.annotations, config.keys.ticketUrl),
      requester: grant.requestedBy,
      access: summarizeAccess(policy),
    },
    expiresAt,
    at,
  );
}

function logGeneration(logger: Logger, flags: ControllerFlags, config: GuardConfig, apiServer: string): void {
  logger.info(
    {
      dryRun: flags.dryRun,
      namespace: flags.namespace ?? null,
      labelSelector: `${config.keys.temporaryLabel}=true`,
      config: flags.configPath ?? 'built-in defaults',
      apiServer,
      concurrency: flags.concurrency,
      resync: formatDuration(flags.resyncMs),
      // Names only: a target's URL is a credential and stays in its file.
      notify: { beforeExpiry: formatDuration(config.notify.beforeExpiryMs), webhooks: config.notify.webhooks.map((t) => t.name) },
      leaderElection: flags.leaderElect
        ? { identity: defaultIdentity(), lease: `${flags.leaseNamespace}/${flags.leaseName}`, ...flags.timing }
        : false,
    },
    'controller starting',
  );
}
