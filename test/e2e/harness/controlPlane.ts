// Starts a real Kubernetes control plane (etcd + kube-apiserver, built from Go
// modules by test/e2e/kube/build.sh) on 127.0.0.1 for the end-to-end tests.
//
// There is no kube-controller-manager, scheduler or kubelet: objects are stored
// and served, admission/authn/authz run, but nothing reconciles. In particular
// namespaces never finish terminating and no "default" ServiceAccount is
// created in new namespaces (createServiceAccountToken creates the SA itself).
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import {
  registerEmergencyCleanup,
  killGroupSync,
  startManaged,
  stopManaged,
  runToCompletion,
  Watchdog,
  type CommandResult,
  type ManagedProcess,
} from './processes.js';

export interface UserSpec {
  /** User name as the apiserver sees it (also the kubeconfig user name). */
  name: string;
  groups: string[];
  /** Bearer token; random if omitted. */
  token?: string;
}

export interface ControlPlaneOptions {
  /** Directory holding kube-apiserver, kubectl, etcd. Default: $NETPOL_GUARD_KUBE_BIN, else build.sh. */
  binDir?: string;
  /** Extra static-token users (admin in system:masters and alice in developers always exist). */
  users?: UserSpec[];
  /** Extra kube-apiserver flags, appended last (so they override defaults). */
  apiserverArgs?: string[];
  /** Extra etcd flags. */
  etcdArgs?: string[];
  /** How long to wait for /readyz. Default 120 s. */
  readyTimeoutMs?: number;
  /** Keep the temp dir after stop() (also: NETPOL_GUARD_E2E_KEEP=1). */
  keepTempDir?: boolean;
  /** Progress sink. Default: stderr. */
  log?: (line: string) => void;
}

export interface KubectlOptions {
  /** Static-token user to act as (default "admin"). Ignored if `token` is set. */
  asUser?: string;
  /** Act with this bearer token instead (e.g. a ServiceAccount token). */
  token?: string;
  /** Written to kubectl's stdin (e.g. a manifest for `apply -f -`). */
  stdin?: string;
  /** Kill kubectl after this long. Default 60 s. */
  timeoutMs?: number;
}

export type KubectlResult = CommandResult;

export interface RequestOptions {
  asUser?: string;
  token?: string;
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface HttpResult {
  status: number;
  body: string;
  /** Parsed JSON body, or undefined if it is not JSON. */
  json: unknown;
}

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** CA bundle that verifies the apiserver's serving certificate. */
  readonly caFile: string;
  readonly adminToken: string;
  readonly kubeconfigAdmin: string;
  /** Static-token users: name → token and groups (includes admin and alice). */
  readonly users: Readonly<Record<string, { token: string; groups: string[] }>>;
  readonly binDir: string;
  readonly tmpDir: string;
  /** http://127.0.0.1:<port> */
  readonly etcdEndpoint: string;
  readonly logs: { readonly etcd: string; readonly apiserver: string };
  /** Path of a kubeconfig authenticating as the named static-token user. */
  kubeconfigFor(user: string): string;
  /** Path of a kubeconfig authenticating with `token` (written on first use). */
  kubeconfigForToken(token: string): string;
  /** Runs kubectl against this cluster. Never throws for a non-zero exit. */
  kubectl(args: string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** Like kubectl() but throws (with stderr) on a non-zero exit; returns stdout. */
  kubectlOk(args: string[], opts?: KubectlOptions): Promise<string>;
  /** Raw HTTPS request to the apiserver, as admin by default. */
  request(pathAndQuery: string, opts?: RequestOptions): Promise<HttpResult>;
  /**
   * Creates ServiceAccount `name` in `namespace` if missing (the namespace too),
   * then returns a token for it from the TokenRequest API (`kubectl create token`).
   */
  createServiceAccountToken(
    namespace: string,
    name: string,
    opts?: { duration?: string; audiences?: string[] },
  ): Promise<string>;
  /**
   * Stops kube-apiserver (every watch breaks), waits `downMs`, starts it again on the same port,
   * certificates and etcd, and resolves once it is ready.
   */
  restartApiServer(downMs: number): Promise<void>;
  /** Kills etcd and kube-apiserver (SIGTERM, then SIGKILL) and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_READY_TIMEOUT_MS = 120_000;
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/24';

function defaultLog(line: string): void {
  process.stderr.write(`[e2e control-plane] ${line}\n`);
}

/** Walks up from this file to the repo root (the dir containing test/e2e/kube/build.sh). */
export function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'test', 'e2e', 'kube', 'build.sh'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot locate repo root (test/e2e/kube/build.sh) from harness');
    dir = parent;
  }
}

const KUBE_BINARIES = ['kube-apiserver', 'kubectl', 'etcd'] as const;

function checkBinDir(dir: string): string {
  for (const b of KUBE_BINARIES) {
    const p = path.join(dir, b);
    try {
      fs.accessSync(p, fs.constants.X_OK);
    } catch {
      throw new Error(`${p} is missing or not executable`);
    }
  }
  return dir;
}

/**
 * Returns the directory with kube-apiserver, kubectl and etcd: `explicit`, else
 * $NETPOL_GUARD_KUBE_BIN, else the output of test/e2e/kube/build.sh (which
 * builds them on first use; progress is forwarded to stderr).
 */
export async function resolveKubeBinDir(explicit?: string, log: (line: string) => void = defaultLog): Promise<string> {
  const fromEnv = explicit ?? process.env['NETPOL_GUARD_KUBE_BIN'];
  if (fromEnv) return checkBinDir(path.resolve(fromEnv));
  const script = path.join(findRepoRoot(), 'test', 'e2e', 'kube', 'build.sh');
  log(`running ${script} (a cold build takes many minutes)`);
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`build.sh failed (code ${code ?? signal})`));
    });
  });
  const lines = stdout.trim().split('\n');
  const last = lines[lines.length - 1]?.trim();
  if (!last) throw new Error('build.sh printed no bin directory');
  return checkBinDir(last);
}

/** Picks `n` distinct free TCP ports on 127.0.0.1 (all held open at once, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const srv = net.createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve());
      });
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') throw new Error('unexpected server address');
      ports.push(addr.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

function randomToken(): string {
  return crypto.randomBytes(24).toString('base64url');
}

function tailFile(file: string, lines = 40): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines).join('\n');
  } catch (err) {
    return `(cannot read ${file}: ${(err as Error).message})`;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One HTTP(S) request with a timeout, answering status and body; no connection reuse. */
export function httpRequest(
  url: string,
  opts: { ca?: Buffer | string; token?: string; method?: string; body?: string; headers?: Record<string, string>; timeoutMs?: number },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const isHttps = u.protocol === 'https:';
    const headers: Record<string, string> = { Accept: 'application/json', ...(opts.headers ?? {}) };
    if (opts.token) headers['Authorization'] = `Bearer ${opts.token}`;
    if (opts.body !== undefined) {
      headers['Content-Type'] ??= 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    }
    const reqOpts: https.RequestOptions = {
      method: opts.method ?? 'GET',
      hostname: u.hostname,
      port: u.port,
      path: u.pathname + u.search,
      headers,
      timeout: opts.timeoutMs ?? 10_000,
      agent: false,
    };
    if (isHttps) reqOpts.ca = opts.ca;
    const req = (isHttps ? https : http).request(reqOpts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout requesting ${url}`)));
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

function writeKubeconfig(file: string, server: string, caFile: string, userName: string, token: string): void {
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'netpol-guard-e2e', cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name: userName, user: { token } }],
    contexts: [{ name: `${userName}@netpol-guard-e2e`, context: { cluster: 'netpol-guard-e2e', user: userName } }],
    'current-context': `${userName}@netpol-guard-e2e`,
    preferences: {},
  };
  fs.writeFileSync(file, YAML.stringify(doc), { mode: 0o600 });
}

/** CSV line for --token-auth-file: token,user,uid,"group1,group2" */
function tokenCsvLine(u: { name: string; token: string; groups: string[] }): string {
  for (const s of [u.name, u.token, ...u.groups]) {
    if (/[",\n]/.test(s)) throw new Error(`invalid character in token-file field: ${JSON.stringify(s)}`);
  }
  return `${u.token},${u.name},uid-${u.name},"${u.groups.join(',')}"`;
}

async function waitFor(
  what: string,
  timeoutMs: number,
  log: (line: string) => void,
  probe: () => Promise<{ ok: boolean; detail: string }>,
  died: () => string | undefined,
): Promise<void> {
  const start = Date.now();
  let lastLog = start;
  let detail = '';
  for (;;) {
    const dead = died();
    if (dead) throw new Error(`${what}: ${dead}`);
    try {
      const r = await probe();
      if (r.ok) {
        log(`${what}: ready after ${((Date.now() - start) / 1000).toFixed(1)}s`);
        return;
      }
      detail = r.detail;
    } catch (err) {
      detail = (err as Error).message;
    }
    const now = Date.now();
    if (now - start > timeoutMs) {
      throw new Error(`${what}: not ready after ${timeoutMs / 1000}s: ${detail}`);
    }
    if (now - lastLog >= 5_000) {
      lastLog = now;
      log(`${what}: waiting (${Math.round((now - start) / 1000)}s): ${detail.split('\n').slice(0, 6).join(' | ')}`);
    }
    await sleep(250);
  }
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? defaultLog;
  const binDir = await resolveKubeBinDir(opts.binDir, log);
  const keep = opts.keepTempDir ?? process.env['NETPOL_GUARD_E2E_KEEP'] === '1';
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'netpol-guard-e2e-'));
  const procs: ManagedProcess[] = [];
  const watchdog = keep ? undefined : new Watchdog(tmpDir);

  let stopped = false;
  const unregister = registerEmergencyCleanup(() => {
    for (const p of procs) killGroupSync(p.pid, 'SIGKILL');
    if (!keep) fs.rmSync(tmpDir, { recursive: true, force: true });
  });

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    watchdog?.disarm();
    // apiserver first, then etcd.
    for (const p of [...procs].reverse()) {
      await stopManaged(p);
    }
    unregister();
    if (keep) log(`kept ${tmpDir}`);
    else fs.rmSync(tmpDir, { recursive: true, force: true });
  };

  const logs = { etcd: path.join(tmpDir, 'etcd.log'), apiserver: path.join(tmpDir, 'kube-apiserver.log') };
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: tmpDir };
  delete env['KUBECONFIG'];
  for (const k of Object.keys(env)) if (k.startsWith('ETCD_')) delete env[k];

  try {
    const [etcdClientPort, etcdPeerPort, apiPort] = (await freePorts(3)) as [number, number, number];

    // ---- etcd ----
    const etcdDataDir = path.join(tmpDir, 'etcd-data');
    fs.mkdirSync(etcdDataDir, { mode: 0o700 });
    const etcdEndpoint = `http://127.0.0.1:${etcdClientPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = startManaged(
      'etcd',
      path.join(binDir, 'etcd'),
      [
        '--name=e2e',
        `--data-dir=${etcdDataDir}`,
        `--listen-client-urls=${etcdEndpoint}`,
        `--advertise-client-urls=${etcdEndpoint}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=e2e=${peerUrl}`,
        '--initial-cluster-state=new',
        '--unsafe-no-fsync',
        '--log-level=warn',
        ...(opts.etcdArgs ?? []),
      ],
      logs.etcd,
      env,
      tmpDir,
    );
    procs.push(etcd);
    watchdog?.watch(etcd.pid);
    log(`etcd pid ${etcd.pid} on ${etcdEndpoint} (log ${logs.etcd})`);
    await waitFor(
      'etcd',
      30_000,
      log,
      async () => {
        const r = await httpRequest(`${etcdEndpoint}/health`, { timeoutMs: 2_000 });
        return { ok: r.status === 200 && r.body.includes('"true"'), detail: `${r.status} ${r.body}` };
      },
      () => (etcd.hasExited() ? 'etcd exited' : undefined),
    );

    // ---- credentials ----
    const users: Record<string, { token: string; groups: string[] }> = {
      admin: { token: randomToken(), groups: ['system:masters'] },
      alice: { token: randomToken(), groups: ['developers'] },
    };
    for (const u of opts.users ?? []) {
      users[u.name] = { token: u.token ?? randomToken(), groups: u.groups };
    }
    const tokenFile = path.join(tmpDir, 'tokens.csv');
    fs.writeFileSync(
      tokenFile,
      Object.entries(users)
        .map(([name, u]) => tokenCsvLine({ name, ...u }))
        .join('\n') + '\n',
      { mode: 0o600 },
    );
    const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const saPub = path.join(tmpDir, 'sa.pub');
    const saKey = path.join(tmpDir, 'sa.key');
    fs.writeFileSync(saPub, publicKey);
    fs.writeFileSync(saKey, privateKey, { mode: 0o600 });

    // ---- kube-apiserver ----
    const certDir = path.join(tmpDir, 'apiserver-certs');
    fs.mkdirSync(certDir, { mode: 0o700 });
    const server = `https://127.0.0.1:${apiPort}`;
    const startApiserver = (): ManagedProcess => startManaged(
      'kube-apiserver',
      path.join(binDir, 'kube-apiserver'),
      [
        `--etcd-servers=${etcdEndpoint}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${certDir}`,
        '--endpoint-reconciler-type=none',
        '--authorization-mode=Node,RBAC',
        `--token-auth-file=${tokenFile}`,
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
        `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
        '--profiling=false',
        '--v=2',
        ...(opts.apiserverArgs ?? []),
      ],
      logs.apiserver,
      env,
      tmpDir,
    );
    let apiserver = startApiserver();
    procs.push(apiserver);
    watchdog?.watch(apiserver.pid);
    log(`kube-apiserver pid ${apiserver.pid} on ${server} (log ${logs.apiserver})`);

    // --cert-dir makes the apiserver write a self-signed CA + serving cert
    // (apiserver.crt = serving cert followed by its CA).
    const caFile = path.join(certDir, 'apiserver.crt');
    const adminToken = users['admin']!.token;
    const apiserverReady = (): Promise<void> => waitFor(
      'kube-apiserver /readyz',
      opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      log,
      async () => {
        if (!fs.existsSync(caFile)) return { ok: false, detail: 'serving certificate not written yet' };
        const r = await httpRequest(`${server}/readyz?verbose`, {
          ca: fs.readFileSync(caFile),
          token: adminToken,
          timeoutMs: 5_000,
        });
        const failing = r.body
          .split('\n')
          .filter((l) => l.includes('failed'))
          .join('\n');
        return { ok: r.status === 200, detail: `HTTP ${r.status} ${failing || r.body.slice(0, 200)}` };
      },
      () => {
        if (apiserver.hasExited()) return 'kube-apiserver exited';
        if (etcd.hasExited()) return 'etcd exited';
        return undefined;
      },
    );
    await apiserverReady();
    const restartApiServer = async (downMs: number): Promise<void> => {
      const old = apiserver;
      await stopManaged(old);
      procs.splice(procs.indexOf(old), 1);
      log(`kube-apiserver pid ${old.pid} stopped; restarting in ${downMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, downMs));
      apiserver = startApiserver();
      procs.push(apiserver);
      watchdog?.watch(apiserver.pid);
      await apiserverReady();
      log(`kube-apiserver restarted, pid ${apiserver.pid}`);
    };

    // ---- kubeconfigs ----
    const kubeconfigDir = path.join(tmpDir, 'kubeconfigs');
    fs.mkdirSync(kubeconfigDir, { mode: 0o700 });
    const kubeconfigFor = (user: string): string => {
      const u = users[user];
      if (!u) throw new Error(`unknown user ${user}; known: ${Object.keys(users).join(', ')}`);
      const file = path.join(kubeconfigDir, `user-${user.replace(/[^A-Za-z0-9_.-]/g, '_')}.yaml`);
      if (!fs.existsSync(file)) writeKubeconfig(file, server, caFile, user, u.token);
      return file;
    };
    const kubeconfigForToken = (token: string): string => {
      const h = crypto.createHash('sha256').update(token).digest('hex').slice(0, 16);
      const file = path.join(kubeconfigDir, `token-${h}.yaml`);
      if (!fs.existsSync(file)) writeKubeconfig(file, server, caFile, `token-${h}`, token);
      return file;
    };
    for (const name of Object.keys(users)) kubeconfigFor(name);
    const kubeconfigAdmin = kubeconfigFor('admin');

    const kubectlPath = path.join(binDir, 'kubectl');
    const kubectl = (args: string[], kopts: KubectlOptions = {}): Promise<KubectlResult> => {
      if (stopped) return Promise.reject(new Error('control plane stopped'));
      const kubeconfig =
        kopts.token !== undefined ? kubeconfigForToken(kopts.token) : kubeconfigFor(kopts.asUser ?? 'admin');
      return runToCompletion(kubectlPath, [`--kubeconfig=${kubeconfig}`, ...args], {
        cwd: tmpDir,
        env,
        stdin: kopts.stdin ?? '',
        ...(kopts.timeoutMs !== undefined && { timeoutMs: kopts.timeoutMs }),
        label: 'kubectl',
      });
    };
    const kubectlOk = async (args: string[], kopts: KubectlOptions = {}): Promise<string> => {
      const r = await kubectl(args, kopts);
      if (r.code !== 0) {
        throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
      }
      return r.stdout;
    };

    const ca = fs.readFileSync(caFile);
    const request = async (pathAndQuery: string, ropts: RequestOptions = {}): Promise<HttpResult> => {
      const token = ropts.token ?? users[ropts.asUser ?? 'admin']?.token;
      if (token === undefined) throw new Error(`unknown user ${ropts.asUser}`);
      const r = await httpRequest(`${server}${pathAndQuery}`, {
        ca,
        token,
        method: ropts.method ?? 'GET',
        body: ropts.body === undefined ? undefined : JSON.stringify(ropts.body),
        headers: ropts.headers ?? {},
      });
      let json: unknown;
      try {
        json = JSON.parse(r.body);
      } catch {
        json = undefined;
      }
      return { status: r.status, body: r.body, json };
    };

    const createServiceAccountToken = async (
      namespace: string,
      name: string,
      topts: { duration?: string; audiences?: string[] } = {},
    ): Promise<string> => {
      // No kube-controller-manager runs, so nothing creates service accounts for us.
      const manifest = YAML.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
          { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } },
        ],
      });
      await kubectlOk(['apply', '-f', '-'], { stdin: manifest });
      const args = ['create', 'token', name, '-n', namespace];
      if (topts.duration) args.push(`--duration=${topts.duration}`);
      for (const a of topts.audiences ?? []) args.push(`--audience=${a}`);
      const out = (await kubectlOk(args)).trim();
      if (!out) throw new Error(`kubectl create token ${namespace}/${name} returned nothing`);
      return out;
    };

    log(`control plane up: ${server} (tmp ${tmpDir})`);
    return {
      server,
      caFile,
      adminToken,
      kubeconfigAdmin,
      users,
      binDir,
      tmpDir,
      etcdEndpoint,
      logs,
      kubeconfigFor,
      kubeconfigForToken,
      kubectl,
      kubectlOk,
      request,
      createServiceAccountToken,
      restartApiServer,
      stop,
    };
  } catch (err) {
    log(`start failed: ${(err as Error).message}`);
    for (const [name, file] of Object.entries(logs)) {
      if (fs.existsSync(file)) log(`---- last lines of ${name} log ----\n${tailFile(file)}`);
    }
    await stop();
    throw err;
  }
}
