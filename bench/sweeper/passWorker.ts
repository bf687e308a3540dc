/**
 * One pass over every labelled grant, in a fresh process (like a `sweep --once` CronJob), so its
 * peak RSS belongs to it alone. Modes:
 *   sweeper      the real Sweeper.runOnce() (library API, dry run, logging at info to stdout as the
 *                CLI does; the parent sends stdout to /dev/null)
 *   client-loop  the bare loop: the sweeper's own list client (client-node through createPolicyApi,
 *                same keep-alive agent, same page size and selector) fetching and parsing each page
 *   raw-loop     node:https with a keep-alive agent and JSON.parse: what the pages cost without
 *                client-node's request and model layers
 *
 * usage: node passWorker.js MODE KUBECONFIG   (IPC: sends one PassReport, then exits)
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { PassSummary } from '../../src/sweeper/sweeper.js';
import { readMemory } from '../proc.js';
import { LABEL_SELECTOR, PAGE_SIZE } from './dataset.js';

export type PassMode = 'sweeper' | 'client-loop' | 'raw-loop';

export interface PassReport {
  mode: PassMode;
  seconds: number;
  /** CPU time (user + system, all threads) the process spent during the pass. */
  cpuSeconds: number;
  items: number;
  pages: number;
  /** Response bytes received (raw-loop only; the other clients do not expose them). */
  bytes: number | undefined;
  /** VmRSS once everything is loaded and set up, just before the pass. */
  rssBeforeKiB: number;
  /** VmHWM after the pass: the peak over the process's life. */
  hwmKiB: number;
  summary: PassSummary | undefined;
}

/** A server that never stops handing out continue tokens must not keep a pass running forever. */
const MAX_PAGES = 10_000;

function checkPageBound(pages: number): void {
  if (pages > MAX_PAGES) throw new Error(`more than ${MAX_PAGES} pages: the list never ends`);
}

interface Counted {
  items: number;
  pages: number;
  bytes?: number;
  summary?: PassSummary;
}

const [mode, kubeconfigFile] = process.argv.slice(2) as [PassMode | undefined, string | undefined];
if (kubeconfigFile === undefined || (mode !== 'sweeper' && mode !== 'client-loop' && mode !== 'raw-loop')) {
  process.stderr.write('usage: passWorker.js sweeper|client-loop|raw-loop KUBECONFIG\n');
  process.exit(2);
}

// Each mode imports only what it uses, so a mode's RSS does not include the others' modules.
async function prepareSweeper(): Promise<() => Promise<Counted>> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const { pino } = await import('pino');
  const { Registry } = await import('prom-client');
  const { defaultConfig } = await import('../../src/config/load.js');
  const { Sweeper } = await import('../../src/sweeper/sweeper.js');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigFile!);
  const logger = pino({ level: 'info', base: { component: 'netpol-guard-sweeper' }, timestamp: pino.stdTimeFunctions.isoTime });
  const sweeper = new Sweeper({ kubeConfig, config: defaultConfig(), registry: new Registry(), logger, dryRun: true, pageSize: PAGE_SIZE });
  return async () => {
    const summary = await sweeper.runOnce();
    return { items: summary.listed, pages: Math.ceil(summary.listed / PAGE_SIZE), summary };
  };
}

async function prepareClientLoop(): Promise<() => Promise<Counted>> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const { createPolicyApi } = await import('../../src/sweeper/kubeApi.js');
  const { DEFAULT_RETRY_POLICY } = await import('../../src/kube/retry.js');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigFile!);
  // The sweeper's pool size: concurrency (4) + 2.
  const api = createPolicyApi(kubeConfig, { retry: DEFAULT_RETRY_POLICY, connectionPoolSize: 6 });
  return async () => {
    let items = 0;
    let pages = 0;
    let continueToken: string | undefined;
    do {
      const page = await api.listPage({ namespace: undefined, labelSelector: LABEL_SELECTOR, limit: PAGE_SIZE, continueToken });
      items += page.items.length;
      checkPageBound(++pages);
      continueToken = page.continueToken;
    } while (continueToken !== undefined);
    api.close();
    return { items, pages };
  };
}

function prepareRawLoop(): () => Promise<Counted> {
  // The kubeconfig the fake writes is JSON; read it without client-node so none of it is loaded.
  const config = JSON.parse(readFileSync(kubeconfigFile!, 'utf8')) as {
    clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
    users: Array<{ user: { token?: string } }>;
  };
  const server = config.clusters[0]!.cluster.server;
  const ca = Buffer.from(config.clusters[0]!.cluster['certificate-authority-data'], 'base64').toString('utf8');
  const token = config.users[0]!.user.token;
  const agent = new https.Agent({ keepAlive: true, maxSockets: 6, ca });
  const get = (url: string): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const request = https.get(url, { agent, headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          response.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`list answered HTTP ${response.statusCode}`)),
        );
        response.on('error', reject);
      });
      request.on('error', reject);
    });
  return async () => {
    let items = 0;
    let pages = 0;
    let bytes = 0;
    let continueToken: string | undefined;
    do {
      const query = new URLSearchParams({ labelSelector: LABEL_SELECTOR, limit: String(PAGE_SIZE) });
      if (continueToken !== undefined) query.set('continue', continueToken);
      const body = await get(`${server}/apis/networking.k8s.io/v1/networkpolicies?${query}`);
      bytes += body.length;
      const list = JSON.parse(body.toString('utf8')) as { items?: unknown[]; metadata?: { continue?: string } };
      items += list.items?.length ?? 0;
      checkPageBound(++pages);
      continueToken = list.metadata?.continue || undefined;
    } while (continueToken !== undefined);
    agent.destroy();
    return { items, pages, bytes };
  };
}

const pass = mode === 'sweeper' ? await prepareSweeper() : mode === 'client-loop' ? await prepareClientLoop() : prepareRawLoop();
const rssBeforeKiB = readMemory(process.pid)?.rssKiB ?? NaN;
const started = process.hrtime.bigint();
const cpuBefore = process.cpuUsage();
const counted = await pass();
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuBefore);
const report: PassReport = {
  mode,
  seconds,
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
  items: counted.items,
  pages: counted.pages,
  bytes: counted.bytes,
  rssBeforeKiB,
  hwmKiB: readMemory(process.pid)?.hwmKiB ?? NaN,
  summary: counted.summary,
};
process.send?.(report, () => process.disconnect());
