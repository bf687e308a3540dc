// Runs netpol-guard itself against an e2e control plane: the webhook (`serve`) as a local process
// behind URL-based webhook configurations derived from manifests/webhooks.yaml, and the sweeper
// (`sweep`) as a local process authenticating as the ServiceAccount manifests/rbac.yaml binds, so
// what is tested is the shipped CLI with the shipped admission rules and the shipped RBAC.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';
import { generateCA, generateServingCert } from '../../../src/tls/certs.js';
import { findRepoRoot, freePorts, httpRequest, type ControlPlane } from './controlPlane.js';
import {
  killGroupSync,
  registerEmergencyCleanup,
  runToCompletion,
  startManaged,
  stopManaged,
  Watchdog,
  type CommandResult,
  type ManagedProcess,
} from './processes.js';
import { waitForAccess } from './tenants.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export type JsonObject = Record<string, unknown>;

export type CliResult = CommandResult;

/** dist/cli/main.js, the built CLI (`npm run build`). */
export function cliPath(repoRoot = findRepoRoot()): string {
  const file = path.join(repoRoot, 'dist', 'cli', 'main.js');
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return file;
}

export function manifestsDir(repoRoot = findRepoRoot()): string {
  return path.join(repoRoot, 'manifests');
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Every YAML document in `file` as a plain object (empty documents skipped). */
export function readManifestDocuments(file: string): JsonObject[] {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
  const out: JsonObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isObject(value)) throw new Error(`${file}: a document is not a mapping`);
    out.push(value);
  }
  return out;
}

export const WEBHOOK_CONFIGURATION_KINDS = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'] as const;

/**
 * The webhook configurations of manifests/webhooks.yaml with each clientConfig.service replaced by
 * clientConfig.url = `${baseUrl}${service.path}` and the given caBundle. Everything else (rules,
 * timeouts, failurePolicy, sideEffects, reinvocationPolicy, namespaceSelector, names) is copied,
 * so the cluster under test runs exactly the shipped admission registration.
 */
export function localWebhookConfigurations(webhooksFile: string, baseUrl: string, caBundleBase64: string): JsonObject[] {
  const docs = readManifestDocuments(webhooksFile);
  const out: JsonObject[] = [];
  for (const kind of WEBHOOK_CONFIGURATION_KINDS) {
    const matching = docs.filter((d) => d['kind'] === kind);
    if (matching.length !== 1) throw new Error(`${webhooksFile}: expected exactly one ${kind}, found ${matching.length}`);
    const config = structuredClone(matching[0]!);
    const webhooks = config['webhooks'];
    if (!Array.isArray(webhooks) || webhooks.length === 0) throw new Error(`${webhooksFile}: ${kind} has no webhooks`);
    for (const webhook of webhooks as unknown[]) {
      if (!isObject(webhook)) throw new Error(`${webhooksFile}: ${kind} has a webhook that is not a mapping`);
      const clientConfig = webhook['clientConfig'];
      const service = isObject(clientConfig) ? clientConfig['service'] : undefined;
      if (!isObject(service) || typeof service['path'] !== 'string') {
        throw new Error(`${webhooksFile}: ${kind} webhook ${String(webhook['name'])} has no clientConfig.service.path`);
      }
      webhook['clientConfig'] = { url: `${baseUrl}${service['path']}`, caBundle: caBundleBase64 };
    }
    out.push(config);
  }
  return out;
}

/** The platform config's annotation prefix (default netpol-guard.io), for reading stamps. */
export function annotationPrefixOf(configYaml: string): string {
  const parsed: unknown = YAML.parse(configYaml);
  const prefix = isObject(parsed) ? parsed['annotationPrefix'] : undefined;
  return typeof prefix === 'string' ? prefix : 'netpol-guard.io';
}

function childEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  // Nothing from the caller's shell may point the processes under test elsewhere.
  for (const key of ['KUBECONFIG', 'NETPOL_GUARD_CONFIG', 'TLS_CERT_FILE', 'TLS_KEY_FILE', 'PORT', 'HOST', 'LOG_LEVEL', 'NODE_TEST_CONTEXT']) {
    delete env[key];
  }
  return env;
}

function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch (err) {
    return `(cannot read ${file}: ${(err as Error).message})`;
  }
}

/** JSON log lines (pino) of `file`; other lines are skipped. */
export function readJsonLog(file: string): JsonObject[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: JsonObject[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const value: unknown = JSON.parse(line);
      if (isObject(value)) out.push(value);
    } catch {
      // a line being written right now
    }
  }
  return out;
}

/** Bookkeeping shared by every process of one guard: a temp dir, a watchdog, emergency kill. */
class ProcessGroup {
  private readonly procs = new Set<ManagedProcess>();
  private readonly watchdog: Watchdog | undefined;
  private readonly unregister: () => void;

  constructor(
    readonly dir: string,
    private readonly keep: boolean,
  ) {
    // The watchdog removes the dir when it fires, so a run that keeps its files goes without one.
    this.watchdog = keep ? undefined : new Watchdog(dir);
    this.unregister = registerEmergencyCleanup(() => {
      for (const p of this.procs) killGroupSync(p.pid, 'SIGKILL');
      if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    });
  }

  start(name: string, args: string[], logFile: string): ManagedProcess {
    const p = startManaged(name, process.execPath, args, logFile, childEnv(this.dir), this.dir);
    this.procs.add(p);
    this.watchdog?.watch(p.pid);
    void p.exited.then(() => this.procs.delete(p));
    return p;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.procs].map((p) => stopManaged(p, 5_000)));
    this.procs.clear();
  }

  dispose(): void {
    this.watchdog?.disarm();
    this.unregister();
    if (!this.keep) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface WebhookServer {
  /** https://127.0.0.1:<port> */
  readonly baseUrl: string;
  readonly port: number;
  /** The CA that signed the serving certificate, base64 PEM as caBundle wants it. */
  readonly caBundle: string;
  readonly caFile: string;
  readonly logFile: string;
  readonly configFile: string;
  isRunning(): boolean;
  /** Starts `serve` (if not running) and waits for /readyz. */
  start(): Promise<void>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL: an outage, not a shutdown. */
  kill(): Promise<void>;
  /** Stops, optionally replaces the config file, starts again on the same port. */
  restart(configYaml?: string): Promise<void>;
  /** Admission decisions logged so far (the webhook's audit lines). */
  decisions(): JsonObject[];
}

export interface SweeperProcess {
  readonly logFile: string;
  readonly process: ManagedProcess;
  /** Log lines so far. */
  logs(): JsonObject[];
  stop(): Promise<void>;
}

export interface SweeperIdentity {
  namespace: string;
  serviceAccount: string;
  /** `system:serviceaccount:<ns>:<name>` */
  username: string;
  token: string;
  kubeconfig: string;
}

export interface NetpolGuardOptions {
  /** Platform config (YAML) for the webhook and the sweeper. */
  configYaml: string;
  /** Where manifests/ is (default: the repo's). */
  manifestsDir?: string;
  /** Webhook log level (default info: one audit line per decision, which the probes read). */
  logLevel?: string;
  log?: (line: string) => void;
  /**
   * Run the webhook's cluster view under the shipped RBAC (the ServiceAccount's token), as the
   * Deployment does: `serve --kubeconfig … --cluster-view required`. Needs the GrantRecord CRD.
   */
  clusterView?: boolean;
  /** Extra `serve` flags. */
  serveArgs?: string[];
}

export interface NetpolGuard {
  readonly dir: string;
  readonly webhook: WebhookServer;
  readonly sweeperIdentity: SweeperIdentity;
  readonly annotationPrefix: string;
  /** The objects registered (from manifests/webhooks.yaml, service → url). */
  readonly webhookConfigurations: JsonObject[];
  /** Starts `sweep --watch` as the sweeper ServiceAccount; resolves once its first list is in. */
  startSweeper(extraArgs?: string[]): Promise<SweeperProcess>;
  /** Starts `controller` (same identity and config); resolves once its first list is in. */
  startController(extraArgs?: string[]): Promise<SweeperProcess>;
  /** The config file both run with. */
  readonly configFile: string;
  /** Runs `sweep --once` as the sweeper ServiceAccount to completion. */
  sweepOnce(extraArgs?: string[]): Promise<CliResult>;
  /** Waits until the API server calls both webhooks (after a registration change). */
  waitUntilWebhooksCalled(timeoutMs?: number): Promise<void>;
  /** Stops every process and removes the registration and the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Namespace where registration probes are sent (never used by tests). */
export const PROBE_NAMESPACE = 'netpol-guard-e2e-probe';

/**
 * Starts netpol-guard against `cp`: certificates, `serve` on 127.0.0.1, the webhook
 * configurations, and the sweeper's RBAC and token. The sweeper itself is started on demand.
 */
export async function startNetpolGuard(cp: ControlPlane, opts: NetpolGuardOptions): Promise<NetpolGuard> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`[e2e netpol-guard] ${line}\n`));
  const repoRoot = findRepoRoot();
  const cli = cliPath(repoRoot);
  const manifests = opts.manifestsDir ?? manifestsDir(repoRoot);
  const keep = process.env['NETPOL_GUARD_E2E_KEEP'] === '1';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netpol-guard-e2e-guard-'));
  const group = new ProcessGroup(dir, keep);
  const annotationPrefix = annotationPrefixOf(opts.configYaml);
  let registered = false;
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (registered) {
      // Unregister first, so a control plane that outlives us is not left failing closed.
      for (const kind of WEBHOOK_CONFIGURATION_KINDS) {
        await cp.kubectl(['delete', kind.toLowerCase(), 'netpol-guard', '--ignore-not-found', '--wait=false']).catch(() => undefined);
      }
    }
    await group.stopAll();
    group.dispose();
    if (keep) log(`kept ${dir}`);
  };

  try {
    // ---- certificates: a private CA and a serving certificate for 127.0.0.1 ----
    const ca = await generateCA({ commonName: 'netpol-guard-e2e-ca' });
    const serving = await generateServingCert({ ca, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const certDir = path.join(dir, 'certs');
    fs.mkdirSync(certDir, { mode: 0o700 });
    const caFile = path.join(certDir, 'ca.crt');
    const certFile = path.join(certDir, 'tls.crt');
    const keyFile = path.join(certDir, 'tls.key');
    fs.writeFileSync(caFile, ca.cert);
    fs.writeFileSync(certFile, serving.cert);
    fs.writeFileSync(keyFile, serving.key, { mode: 0o600 });
    const caBundle = Buffer.from(ca.cert).toString('base64');

    const configFile = path.join(dir, 'config.yaml');
    fs.writeFileSync(configFile, opts.configYaml);

    // ---- the ServiceAccount's identity: manifests/rbac.yaml as shipped, and a token for its subject ----
    // (before the webhook: with clusterView, its view runs under this identity, as in the Deployment)
    const rbacDocs = readManifestDocuments(path.join(manifests, 'rbac.yaml'));
    const rbacKinds = new Set(['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
    const foreign = rbacDocs.filter((d) => !rbacKinds.has(String(d['kind'])));
    if (foreign.length > 0) throw new Error(`manifests/rbac.yaml holds non-RBAC objects: ${foreign.map((d) => d['kind']).join(', ')}`);
    const binding = rbacDocs.find((d) => d['kind'] === 'ClusterRoleBinding');
    const subjects = binding?.['subjects'];
    const subject = Array.isArray(subjects) ? (subjects as unknown[]).find((s) => isObject(s) && s['kind'] === 'ServiceAccount') : undefined;
    if (!isObject(subject) || typeof subject['name'] !== 'string' || typeof subject['namespace'] !== 'string') {
      throw new Error('manifests/rbac.yaml: the ClusterRoleBinding names no ServiceAccount subject');
    }
    const saNamespace = subject['namespace'];
    const saName = subject['name'];
    const token = await cp.createServiceAccountToken(saNamespace, saName, { duration: '24h' });
    await cp.kubectlOk(['apply', '-f', '-'], { stdin: YAML.stringify({ apiVersion: 'v1', kind: 'List', items: rbacDocs }) });
    await waitForAccess(cp, { token }, { verb: 'watch', resource: 'networkpolicies', group: 'networking.k8s.io' });
    const sweeperIdentity: SweeperIdentity = {
      namespace: saNamespace,
      serviceAccount: saName,
      username: `system:serviceaccount:${saNamespace}:${saName}`,
      token,
      kubeconfig: cp.kubeconfigForToken(token),
    };
    log(`sweeper identity ${sweeperIdentity.username} bound by manifests/rbac.yaml`);

    // ---- the webhook process ----
    const [port] = (await freePorts(1)) as [number];
    const baseUrl = `https://127.0.0.1:${port}`;
    const webhookLog = path.join(dir, 'webhook.log');
    let webhookProc: ManagedProcess | undefined;
    const serveArgs = [
      cli,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--tls-cert',
      certFile,
      '--tls-key',
      keyFile,
      '--config',
      configFile,
      '--log-level',
      opts.logLevel ?? 'info',
      // No endpoints controller to wait for here: stop at once.
      '--drain-delay',
      '0',
      ...(opts.clusterView === true ? ['--kubeconfig', sweeperIdentity.kubeconfig, '--cluster-view', 'required'] : []),
      ...(opts.serveArgs ?? []),
    ];
    const running = (): boolean => webhookProc !== undefined && !webhookProc.hasExited();
    const startWebhook = async (): Promise<void> => {
      if (running()) return;
      const proc = group.start('netpol-guard serve', serveArgs, webhookLog);
      webhookProc = proc;
      const started = Date.now();
      for (;;) {
        if (proc.hasExited()) throw new Error(`netpol-guard serve exited (${await proc.exited}):\n${tail(webhookLog)}`);
        try {
          const r = await httpRequest(`${baseUrl}/readyz`, { ca: ca.cert, timeoutMs: 2_000 });
          if (r.status === 200) break;
        } catch {
          // not listening yet
        }
        if (Date.now() - started > 30_000) throw new Error(`netpol-guard serve not ready after 30 s:\n${tail(webhookLog)}`);
        await sleep(100);
      }
      log(`webhook pid ${proc.pid} ready at ${baseUrl}`);
    };
    const stopWebhook = async (): Promise<void> => {
      if (webhookProc) await stopManaged(webhookProc, 10_000);
    };
    const webhook: WebhookServer = {
      baseUrl,
      port,
      caBundle,
      caFile,
      logFile: webhookLog,
      configFile,
      isRunning: running,
      start: startWebhook,
      stop: stopWebhook,
      kill: async () => {
        if (!webhookProc || webhookProc.hasExited()) return;
        killGroupSync(webhookProc.pid, 'SIGKILL');
        // Managed children are unref'd: a pending timer keeps the event loop alive meanwhile.
        let timer: NodeJS.Timeout | undefined;
        const exited = await Promise.race([
          webhookProc.exited.then(() => true),
          new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 10_000))),
        ]);
        clearTimeout(timer);
        if (!exited) throw new Error(`netpol-guard serve (pid ${webhookProc.pid}) survived SIGKILL for 10 s`);
      },
      restart: async (configYaml?: string) => {
        await stopWebhook();
        if (configYaml !== undefined) fs.writeFileSync(configFile, configYaml);
        await startWebhook();
      },
      decisions: () => readJsonLog(webhookLog).filter((l) => l['msg'] === 'admission decision'),
    };
    await startWebhook();

    // ---- registration: the shipped webhook configurations, service → url ----
    const webhookConfigurations = localWebhookConfigurations(path.join(manifests, 'webhooks.yaml'), baseUrl, caBundle);
    await cp.kubectlOk(['apply', '-f', '-'], { stdin: YAML.stringify({ apiVersion: 'v1', kind: 'List', items: webhookConfigurations }) });
    registered = true;
    await cp.kubectlOk(['apply', '-f', '-'], {
      stdin: YAML.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: PROBE_NAMESPACE } }),
    });

    let probeCount = 0;
    const waitUntilWebhooksCalled = async (timeoutMs = 30_000): Promise<void> => {
      // The API server picks up webhook configurations from informers (mutating and validating
      // separately); send dry-run probes until both webhooks have seen one.
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const name = `probe-${++probeCount}-${Date.now()}`;
        await cp.request(`/apis/networking.k8s.io/v1/namespaces/${PROBE_NAMESPACE}/networkpolicies?dryRun=All`, {
          method: 'POST',
          body: {
            apiVersion: 'networking.k8s.io/v1',
            kind: 'NetworkPolicy',
            metadata: { name, namespace: PROBE_NAMESPACE },
            spec: { podSelector: { matchLabels: { app: 'probe' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'probe' } } }] }] },
          },
        });
        const seen = new Set(webhook.decisions().filter((d) => d['name'] === name).map((d) => d['endpoint']));
        if (seen.has('mutate') && seen.has('validate')) return;
        if (Date.now() > deadline) throw new Error(`the API server did not call both webhooks within ${timeoutMs} ms (saw: ${[...seen].join(', ') || 'none'})`);
        await sleep(250);
      }
    };
    await waitUntilWebhooksCalled();
    log('webhook configurations in effect');


    let sweeperCount = 0;
    const startWatching = async (command: string[], extraArgs: string[]): Promise<SweeperProcess> => {
      const logFile = path.join(dir, `${command[0]}-${++sweeperCount}.log`);
      const proc = group.start(
        `netpol-guard ${command[0]}`,
        [
          cli,
          ...command,
          '--kubeconfig',
          sweeperIdentity.kubeconfig,
          '--config',
          configFile,
          '--metrics-host',
          '127.0.0.1',
          '--metrics-port',
          '0',
          ...extraArgs,
        ],
        logFile,
      );
      const logs = () => readJsonLog(logFile);
      const started = Date.now();
      while (!logs().some((l) => l['msg'] === 'temporary grants listed')) {
        if (proc.hasExited()) throw new Error(`netpol-guard ${command[0]} exited (${await proc.exited}):\n${tail(logFile)}`);
        if (Date.now() - started > 30_000) throw new Error(`netpol-guard ${command[0]} did not list grants within 30 s:\n${tail(logFile)}`);
        await sleep(100);
      }
      log(`${command[0]} pid ${proc.pid} watching`);
      return { logFile, process: proc, logs, stop: () => stopManaged(proc, 10_000) };
    };
    const startSweeper = (extraArgs: string[] = []): Promise<SweeperProcess> => startWatching(['sweep', '--watch'], extraArgs);
    const startController = (extraArgs: string[] = []): Promise<SweeperProcess> => startWatching(['controller'], extraArgs);

    const sweepOnce = (extraArgs: string[] = []): Promise<CliResult> =>
      runToCompletion(
        process.execPath,
        [cli, 'sweep', '--once', '--kubeconfig', sweeperIdentity.kubeconfig, '--config', configFile, ...extraArgs],
        { cwd: dir, env: childEnv(dir), label: 'sweep --once' },
      );

    return {
      dir,
      webhook,
      sweeperIdentity,
      annotationPrefix,
      webhookConfigurations,
      startSweeper,
      startController,
      configFile,
      sweepOnce,
      waitUntilWebhooksCalled,
      stop,
    };
  } catch (err) {
    log(`start failed: ${(err as Error).message}`);
    await stop();
    throw err;
  }
}
