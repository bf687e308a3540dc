import { pino } from 'pino';
import { Registry } from 'prom-client';
import { formatDuration, parseDuration } from '../lifecycle/duration.js';
import { DEFAULT_LEASE_NAME, resolveTiming } from '../controller/electionSettings.js';
import { Sweeper } from '../sweeper/sweeper.js';
import { loadComponentSetup } from './componentSetup.js';
import { COMPONENT_OPTIONS, defineCommand, type FlagValues, KUBECONFIG_OPTION, logLevelProblem, parseCommandArgs, resolveConfigPath } from './command.js';

function usage(prog: string): string {
  return `usage: ${prog} sweep --once|--watch [options]

Delete temporary NetworkPolicy grants (label <prefix>/temporary=true) whose expires-at has passed.

modes (exactly one):
  --once                 one pass, then exit: 0 when every expired grant is gone, 1 when a
                         deletion (or the list) failed, 2 on bad usage or configuration
  --watch                an alias of "controller" (without --leader-elect); prefer that

options:
  --dry-run              log what would be deleted; delete nothing
  --kubeconfig FILE      kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, then the
                         pod's service account)
  --namespace NS         only this namespace (default: all namespaces)
  --config FILE          platform config (default: $NETPOL_GUARD_CONFIG, else built-in defaults)
  --concurrency N        deletions in flight at once, 1-64 (default 4)
  --log-level LEVEL      fatal, error, warn, info, debug, trace or silent (default info)
  -h, --help             show this help

watch mode only:
  --resync DURATION      full relist period, e.g. 5m, 90s (default 5m, at least 10s)
  --metrics-port N       port for /healthz and /metrics, plain HTTP (default 9090)
  --metrics-host HOST    address to bind them to (default 0.0.0.0)
`;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const MIN_RESYNC_MS = 10_000;

export interface SweepFlags {
  mode: 'once' | 'watch';
  dryRun: boolean;
  kubeconfig: string | undefined;
  namespace: string | undefined;
  configPath: string | undefined;
  resyncMs: number;
  concurrency: number;
  metricsPort: number;
  metricsHost: string;
  logLevel: string;
}

export type FlagsResult = { ok: true; flags: SweepFlags } | { ok: false; help: true } | { ok: false; help: false; error: string };

export const SWEEP_OPTIONS = {
  once: { type: 'boolean' },
  watch: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  ...KUBECONFIG_OPTION,
  ...COMPONENT_OPTIONS,
  resync: { type: 'string' },
  concurrency: { type: 'string' },
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' },
} as const;

/** Pure: argv (after `sweep`) and the environment → validated flags, or an error naming the flag. */
export function parseSweepFlags(argv: string[], env: NodeJS.ProcessEnv): FlagsResult {
  const parsed = parseCommandArgs({ options: SWEEP_OPTIONS }, argv);
  return parsed.ok ? sweepFlagsFrom(parsed.values, env) : parsed;
}

type SweepFlagsResult = Exclude<FlagsResult, { help: true }>;

/** Pure: the parsed flags and the environment → validated flags, or an error naming the flag. */
export function sweepFlagsFrom(values: FlagValues<typeof SWEEP_OPTIONS>, env: NodeJS.ProcessEnv): SweepFlagsResult {
  if (Boolean(values.once) === Boolean(values.watch)) {
    return { ok: false, help: false, error: 'choose exactly one of --once (CronJob) or --watch (long-running sidecar)' };
  }
  const mode = values.once ? 'once' : 'watch';
  if (mode === 'once') {
    for (const flag of ['resync', 'metrics-port', 'metrics-host'] as const) {
      if (values[flag] !== undefined) return { ok: false, help: false, error: `--${flag} applies to --watch only` };
    }
  }

  const namespace = values.namespace;
  if (namespace !== undefined && !DNS_LABEL.test(namespace)) {
    return { ok: false, help: false, error: `--namespace "${namespace}" is not a valid namespace name` };
  }
  let resyncMs = 5 * 60_000;
  if (values.resync !== undefined) {
    const parsed = parseDuration(values.resync);
    if (!parsed.ok) return { ok: false, help: false, error: `--resync: ${parsed.error}` };
    if (parsed.ms < MIN_RESYNC_MS) {
      return { ok: false, help: false, error: `--resync ${values.resync} is shorter than ${formatDuration(MIN_RESYNC_MS)}; relisting that often only loads the API server` };
    }
    resyncMs = parsed.ms;
  }
  const concurrency = parseIntFlag('concurrency', values.concurrency, 4, 1, 64);
  if (typeof concurrency === 'string') return { ok: false, help: false, error: concurrency };
  const metricsPort = parseIntFlag('metrics-port', values['metrics-port'], 9090, 0, 65535);
  if (typeof metricsPort === 'string') return { ok: false, help: false, error: metricsPort };
  const metricsHost = values['metrics-host'] ?? '0.0.0.0';
  if (metricsHost === '') return { ok: false, help: false, error: '--metrics-host must not be empty' };
  const logLevel = values['log-level'] ?? 'info';
  const logLevelError = logLevelProblem(logLevel);
  if (logLevelError !== undefined) return { ok: false, help: false, error: `--log-level ${logLevelError}` };
  if (values.kubeconfig === '') return { ok: false, help: false, error: '--kubeconfig must not be empty' };
  if (values.config === '') return { ok: false, help: false, error: '--config must not be empty' };
  return {
    ok: true,
    flags: {
      mode,
      dryRun: values['dry-run'] ?? false,
      kubeconfig: values.kubeconfig,
      namespace,
      configPath: resolveConfigPath(values.config, env),
      resyncMs,
      concurrency,
      metricsPort,
      metricsHost,
      logLevel,
    },
  };
}

function parseIntFlag(name: string, text: string | undefined, fallback: number, min: number, max: number): number | string {
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text)) return `--${name} "${text}" is not a whole number`;
  const n = Number(text);
  if (n < min || n > max) return `--${name} ${n} is out of range ${min}-${max}`;
  return n;
}

/** The same config resolution as `serve`: --config, then $NETPOL_GUARD_CONFIG, then defaults. */
export const sweepCommand = defineCommand({
  name: 'sweep',
  summary: 'delete expired temporary grants (--once or --watch)',
  usage,
  options: SWEEP_OPTIONS,
  validate: sweepFlagsFrom,
  onUsageError: 'usage',
  run: async ({ flags, say }) => sweep(flags, say),
});

async function sweep(flags: SweepFlags, say: (text: string) => void): Promise<number> {
  if (flags.mode === 'watch') {
    // `sweep --watch` is now `controller` without leader election (one line in its log says so).
    const { runController } = await import('./controller.js');
    return runController({ ...flags, leaderElect: false, leaseName: DEFAULT_LEASE_NAME, leaseNamespace: undefined, timing: resolveTiming() }, say, 'sweep --watch');
  }
  const setup = loadComponentSetup(flags, say);
  if (setup === undefined) return 2;
  const { config, kube } = setup;

  const logger = pino({
    level: flags.logLevel,
    base: { component: 'netpol-guard-sweeper' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
  const sweeper = new Sweeper({
    kubeConfig: kube.kubeConfig,
    config: config,
    registry: new Registry(),
    logger,
    namespace: flags.namespace,
    dryRun: flags.dryRun,
    concurrency: flags.concurrency,
  });
  logger.info(
    {
      mode: flags.mode,
      dryRun: flags.dryRun,
      namespace: flags.namespace ?? null,
      labelSelector: `${config.keys.temporaryLabel}=true`,
      config: flags.configPath ?? 'built-in defaults',
      apiServer: kube.server,
      concurrency: flags.concurrency,
    },
    'sweeper starting',
  );
  const summary = await sweeper.runOnce();
  return summary.complete && summary.failed === 0 ? 0 : 1;
}
