import path from 'node:path';
import { pino, type Logger } from 'pino';
import { createKubeApprovalApi, type ApprovalApi } from '../admission/approvalApi.js';
import { loadKubeContext } from '../kube/kubeConfig.js';
import { CLUSTER_VIEW_MODES, type ClusterViewMode, startWebhookView } from '../cluster/webhookView.js';
import { defaultConfig } from '../config/load.js';
import { ConfigStore, DEFAULT_CONFIG_POLL_INTERVAL_MS } from '../config/store.js';
import { parseDuration } from '../lifecycle/duration.js';
import { buildServer, DEFAULT_BODY_LIMIT_BYTES } from '../server/app.js';
import { DEFAULT_SERVER_BOUNDS, serverBoundsProblems, type ServerBounds } from '../server/bounds.js';
import { shutdownServer } from '../server/shutdown.js';
import { DEFAULT_NAMESPACE, DEFAULT_SERVICE, ensureCertificates, servingNames } from '../tls/certs.js';
import { TlsFileSource } from '../tls/source.js';
import { COMPONENT_OPTIONS, defineCommand, KUBECONFIG_OPTION, type FlagValues, logLevelProblem, parseCommandArgs, resolveConfigPath } from './command.js';

function usage(prog: string): string {
  return `usage: ${prog} serve [options]

Runs the admission webhook over HTTPS: POST /validate, POST /mutate, GET /healthz, /readyz, /metrics.

options:
  --port N                 listen port (env PORT; default 8443)
  --host ADDR              listen address (env HOST; default 0.0.0.0)
  --tls-cert FILE          serving certificate, PEM (env TLS_CERT_FILE)
  --tls-key FILE           its private key, PEM (env TLS_KEY_FILE)
  --tls-ca FILE            the CA certificate in the caBundle, PEM (env TLS_CA_FILE): read for its
                           expiry only (metric netpol_guard_tls_not_after_timestamp_seconds)
                           Both files are re-read when they change; a usable new pair is served to
                           new connections without a restart.
  --certs-dir DIR          without --tls-cert/--tls-key: where a CA and serving certificate are
                           generated on first run and reused later (default ./certs)
  --service NAME           Service name in a generated certificate (default ${DEFAULT_SERVICE})
  --namespace NAME         its namespace (default ${DEFAULT_NAMESPACE})
  --config FILE            platform config, YAML (env NETPOL_GUARD_CONFIG; default: embedded
                           defaults). Re-read when it changes; an invalid edit keeps the last good one.
  --cluster-view MODE      the read-only cluster view (namespaces, live grants, closed GrantRecords)
                           that quotas, grant-recreated and label-matched profiles read: auto (default:
                           when a kubeconfig or in-cluster ServiceAccount is found), required (exit 2
                           without one), off (rules that need it are skipped)
  --kubeconfig FILE        kubeconfig for the view (default: $KUBECONFIG, ~/.kube/config, in-cluster)
  --reload-interval DUR    how often the config and certificate files are checked (default 2s)
  --body-limit SIZE        largest request body, bytes or with Ki/Mi suffix (default 4Mi)
  --headers-timeout DUR    request headers must arrive within this (default 10s)
  --request-timeout DUR    the whole request must arrive within this (default 10s)
  --keep-alive-timeout DUR close a keep-alive connection idle this long (default 95s, longer
                           than the API server's 90 s idle timeout so it always closes first)
  --tls-handshake-timeout DUR  a TLS handshake must finish within this (default 10s)
  --max-connections N      connections held at once; more are closed on arrival (default 256)
  --shutdown-timeout DUR   bound on graceful shutdown before connections are closed (default 10s)
  --drain-delay DUR        on SIGTERM, keep serving this long with /readyz failing before the
                           listener closes, so the pod leaves the Service first (default 2s)
  --log-level LEVEL        fatal, error, warn, info, debug, trace or silent (env LOG_LEVEL; default info)
  -h, --help               show this help

Durations: 500ms, 0, 10s, 1m, or a number of seconds. SIGHUP re-reads the config and certificate now.
Exit codes: 0 after a shutdown, 2 for invalid options, config or certificates, 1 if it cannot listen.
`;
}

export interface ServeOptions {
  port: number;
  host: string;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  tlsCa: string | undefined;
  certsDir: string;
  service: string;
  namespace: string;
  configFile: string | undefined;
  reloadIntervalMs: number;
  bodyLimit: number;
  shutdownTimeoutMs: number;
  drainDelayMs: number;
  logLevel: string;
  bounds: ServerBounds;
  clusterView: ClusterViewMode;
  kubeconfig: string | undefined;
}

type Parsed = { ok: true; options: ServeOptions } | { ok: false; errors: string[] } | { ok: 'help' };

const SERVE_OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  'certs-dir': { type: 'string' },
  service: { type: 'string' },
  ...COMPONENT_OPTIONS,
  ...KUBECONFIG_OPTION,
  'cluster-view': { type: 'string' },
  'reload-interval': { type: 'string' },
  'body-limit': { type: 'string' },
  'shutdown-timeout': { type: 'string' },
  'drain-delay': { type: 'string' },
  'headers-timeout': { type: 'string' },
  'request-timeout': { type: 'string' },
  'keep-alive-timeout': { type: 'string' },
  'tls-handshake-timeout': { type: 'string' },
  'max-connections': { type: 'string' },
} as const;

/** Flags win over environment variables, which win over defaults. */
export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Parsed {
  const parsed = parseCommandArgs({ options: SERVE_OPTIONS }, argv);
  if (!parsed.ok) return parsed.help ? { ok: 'help' } : { ok: false, errors: [parsed.error] };
  const validated = serveOptionsFrom(parsed.values, env);
  return validated.ok ? { ok: true, options: validated.flags } : validated;
}

/** Pure: the parsed flags and the environment → validated options, or every problem found. */
function serveOptionsFrom(values: FlagValues<typeof SERVE_OPTIONS>, env: NodeJS.ProcessEnv): { ok: true; flags: ServeOptions } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const pick = (flag: string | undefined, envName: string | undefined): string | undefined =>
    flag ?? (envName !== undefined && env[envName] !== '' ? env[envName] : undefined);

  const portText = pick(values.port, 'PORT') ?? '8443';
  const port = /^[0-9]+$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 0 && port <= 65535)) errors.push(`--port: "${portText}" is not a port number (0-65535)`);

  const tlsCert = pick(values['tls-cert'], 'TLS_CERT_FILE');
  const tlsKey = pick(values['tls-key'], 'TLS_KEY_FILE');
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    errors.push('--tls-cert and --tls-key (TLS_CERT_FILE, TLS_KEY_FILE) must be given together');
  }

  const duration = (flag: string, text: string | undefined, fallbackMs: number, allowZero: boolean): number => {
    if (text === undefined) return fallbackMs;
    const ms = parseFlagDuration(text);
    if (ms === undefined || (!allowZero && ms === 0)) {
      errors.push(`--${flag}: "${text}" is not a ${allowZero ? '' : 'positive '}duration (e.g. 500ms, 10s, 1m)`);
      return fallbackMs;
    }
    return ms;
  };
  const bodyLimitText = values['body-limit'];
  const bodyLimit = bodyLimitText === undefined ? DEFAULT_BODY_LIMIT_BYTES : parseByteSize(bodyLimitText);
  if (bodyLimit === undefined || bodyLimit <= 0) errors.push(`--body-limit: "${bodyLimitText}" is not a size (e.g. 4194304, 512Ki, 4Mi)`);

  const maxConnectionsText = values['max-connections'];
  const maxConnections = maxConnectionsText === undefined ? DEFAULT_SERVER_BOUNDS.maxConnections : /^[0-9]+$/.test(maxConnectionsText) ? Number(maxConnectionsText) : NaN;
  if (!(maxConnections >= 1)) errors.push(`--max-connections: "${maxConnectionsText}" is not a positive whole number`);
  const bounds: ServerBounds = {
    headersTimeoutMs: duration('headers-timeout', values['headers-timeout'], DEFAULT_SERVER_BOUNDS.headersTimeoutMs, false),
    requestTimeoutMs: duration('request-timeout', values['request-timeout'], DEFAULT_SERVER_BOUNDS.requestTimeoutMs, false),
    keepAliveTimeoutMs: duration('keep-alive-timeout', values['keep-alive-timeout'], DEFAULT_SERVER_BOUNDS.keepAliveTimeoutMs, false),
    tlsHandshakeTimeoutMs: duration('tls-handshake-timeout', values['tls-handshake-timeout'], DEFAULT_SERVER_BOUNDS.tlsHandshakeTimeoutMs, false),
    maxConnections,
    // Not flags: internal to the parse scheduling (see src/server/largeBodies.ts).
    largeBodyBytes: DEFAULT_SERVER_BOUNDS.largeBodyBytes,
    largeBodySlots: DEFAULT_SERVER_BOUNDS.largeBodySlots,
  };
  if (errors.length === 0) {
    const flagNames: Record<string, string> = {
      headersTimeoutMs: '--headers-timeout',
      requestTimeoutMs: '--request-timeout',
      keepAliveTimeoutMs: '--keep-alive-timeout',
      tlsHandshakeTimeoutMs: '--tls-handshake-timeout',
      maxConnections: '--max-connections',
    };
    for (const problem of serverBoundsProblems(bounds)) errors.push(problem.replace(/\b[a-zA-Z]+(Ms|Connections)\b/g, (k) => flagNames[k] ?? k));
  }

  const logLevel = pick(values['log-level'], 'LOG_LEVEL') ?? 'info';
  const logLevelError = logLevelProblem(logLevel);
  if (logLevelError !== undefined) errors.push(`--log-level: ${logLevelError}`);

  const clusterView = (values['cluster-view'] ?? 'auto') as ClusterViewMode;
  if (!CLUSTER_VIEW_MODES.includes(clusterView)) errors.push(`--cluster-view: "${clusterView}" is not one of ${CLUSTER_VIEW_MODES.join(', ')}`);

  const options: ServeOptions = {
    port,
    host: pick(values.host, 'HOST') ?? '0.0.0.0',
    tlsCert,
    tlsKey,
    tlsCa: pick(values['tls-ca'], 'TLS_CA_FILE'),
    certsDir: path.resolve(values['certs-dir'] ?? 'certs'),
    service: values.service ?? DEFAULT_SERVICE,
    namespace: values.namespace ?? DEFAULT_NAMESPACE,
    configFile: resolveConfigPath(values.config, env),
    reloadIntervalMs: duration('reload-interval', values['reload-interval'], DEFAULT_CONFIG_POLL_INTERVAL_MS, false),
    bodyLimit: bodyLimit ?? DEFAULT_BODY_LIMIT_BYTES,
    shutdownTimeoutMs: duration('shutdown-timeout', values['shutdown-timeout'], 10_000, false),
    drainDelayMs: duration('drain-delay', values['drain-delay'], 2_000, true),
    logLevel,
    bounds,
    clusterView,
    kubeconfig: values.kubeconfig,
  };
  if (errors.length === 0 && options.drainDelayMs >= options.shutdownTimeoutMs) {
    errors.push(`--drain-delay (${options.drainDelayMs} ms) must be shorter than --shutdown-timeout (${options.shutdownTimeoutMs} ms), or in-flight requests get no time to finish`);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, flags: options };
}

/** `0`, `<n>ms`, a plain number of seconds, or a duration like `10s`, `1m30s`. */
export function parseFlagDuration(text: string): number | undefined {
  const value = text.trim();
  if (/^[0-9]+$/.test(value)) return Number(value) * 1000;
  const ms = /^([0-9]+)ms$/.exec(value);
  if (ms) return Number(ms[1]);
  const parsed = parseDuration(value);
  return parsed.ok ? parsed.ms : undefined;
}

/** Bytes, or a number with a Ki/Mi (or KiB/MiB) suffix. */
export function parseByteSize(text: string): number | undefined {
  const match = /^([0-9]+)\s*(Ki|Mi|KiB|MiB)?$/.exec(text.trim());
  if (!match) return undefined;
  const unit = match[2]?.startsWith('Mi') ? 1024 * 1024 : match[2]?.startsWith('Ki') ? 1024 : 1;
  return Number(match[1]) * unit;
}

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'run the admission webhook (HTTPS)',
  usage,
  options: SERVE_OPTIONS,
  validate: serveOptionsFrom,
  onUsageError: 'usage',
  run: async ({ flags, say }) => serve(flags, pino({ level: flags.logLevel }), say),
});

/**
 * Approvals ask the API server (a SubjectAccessReview per approval, a live GrantRequest read per
 * controller-created grant) with the same credentials as the view; without any they fail closed.
 */
function approvalApiFor(options: ServeOptions, logger: Logger): ApprovalApi | undefined {
  const kube = options.clusterView === 'off' && options.kubeconfig === undefined ? undefined : loadKubeContext(options.kubeconfig);
  if (kube === undefined || !kube.ok) {
    logger.warn(
      { reason: kube === undefined ? '--cluster-view off and no --kubeconfig' : kube.error },
      'no API credentials for approvals: GrantRequest approvals and denials, and grants the controller creates in profiles that require approval, are refused',
    );
    return undefined;
  }
  return createKubeApprovalApi(kube.context.kubeConfig);
}

async function serve(options: ServeOptions, logger: Logger, say: (text: string) => void): Promise<number> {
  const fail = (what: string, errors: string[]): number => {
    say(`${what}:\n${errors.map((e) => `  ${e}`).join('\n')}`);
    return 2;
  };

  let config: ConfigStore;
  if (options.configFile === undefined) {
    config = ConfigStore.fromConfig(defaultConfig());
  } else {
    const opened = ConfigStore.fromFile(options.configFile, { logger, pollIntervalMs: options.reloadIntervalMs });
    if (!opened.ok) return fail(`invalid config ${options.configFile}`, opened.errors);
    config = opened.store;
  }

  let certFile = options.tlsCert;
  let keyFile = options.tlsKey;
  let caFile = options.tlsCa;
  if (certFile === undefined || keyFile === undefined) {
    const names = servingNames({ service: options.service, namespace: options.namespace });
    try {
      const ensured = await ensureCertificates({ dir: options.certsDir, ...names });
      certFile = ensured.paths.cert;
      keyFile = ensured.paths.key;
      caFile = ensured.paths.caCert;
      logger.info(
        { certsDir: options.certsDir, ca: ensured.ca, serving: ensured.serving, reasons: ensured.reasons, caBundle: ensured.paths.caCert },
        'using a certificate from the certs directory',
      );
      say(`no --tls-cert given; serving a certificate signed by the CA bundle ${ensured.paths.caCert}`);
    } catch (err) {
      config.close();
      return fail(`cannot prepare certificates in ${options.certsDir}`, [(err as Error).message]);
    }
  }
  const opened = TlsFileSource.open({ certFile, keyFile, ...(caFile !== undefined ? { caFile } : {}), logger, pollIntervalMs: options.reloadIntervalMs });
  if (!opened.ok) {
    config.close();
    return fail('unusable TLS certificate or key', opened.errors);
  }
  const tls = opened.source;

  const started = startWebhookView({ mode: options.clusterView, kubeconfig: options.kubeconfig, config: config.current(), logger });
  if (!started.ok) {
    config.close();
    tls.close();
    return fail('no cluster view', [started.error]);
  }
  const webhookView = started.webhookView;
  const approvalApi = approvalApiFor(options, logger);
  const server = await buildServer({
    config,
    tls,
    logger,
    bodyLimit: options.bodyLimit,
    bounds: options.bounds,
    ...(webhookView !== undefined && { clusterView: webhookView.view }),
    ...(approvalApi !== undefined && { approvalApi }),
  });
  let url: string;
  try {
    ({ url } = await server.listen({ port: options.port, host: options.host }));
  } catch (err) {
    logger.error({ err, host: options.host, port: options.port }, 'cannot listen');
    await server.app.close();
    await webhookView?.close();
    config.close();
    tls.close();
    return 1;
  }
  config.start();
  tls.start();
  logger.info(
    { url, endpoints: ['/validate', '/mutate', '/healthz', '/readyz', '/metrics'], config: config.status().source, tlsCert: certFile },
    `netpol-guard serving at ${url}`,
  );

  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (server.lifecycle.shuttingDown) {
        logger.warn({ signal }, 'second signal: closing open connections now');
        server.app.server.closeAllConnections();
        return;
      }
      logger.info({ signal }, 'shutdown requested');
      // An interactive Ctrl-C has no endpoints controller to wait for.
      const drainDelayMs = signal === 'SIGTERM' ? options.drainDelayMs : 0;
      shutdownServer(server, { timeoutMs: options.shutdownTimeoutMs, drainDelayMs, logger })
        .catch((err: unknown) => logger.error({ err }, 'error while shutting down'))
        .finally(() => {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          process.off('SIGHUP', onHangup);
          resolve();
        });
    };
    const onHangup = (): void => {
      logger.info('SIGHUP: re-reading config and certificate');
      config.check();
      tls.check();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', onHangup);
  });
  await webhookView?.close();
  config.close();
  tls.close();
  return 0;
}
