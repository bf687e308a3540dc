// The README's "What a grant opens" example, produced by the built CLI against a real
// kube-apiserver (no nodes: the Pods stay Pending, labels intact), never written by hand.
// Run through docs/what-a-grant-opens/render.sh, which also renders grant.svg from grant.dot.
// Writes into the directory given as the only argument:
//   debug-orders-db.yaml   the grant explained
//   explain-isolates.txt   `explain` before any policy selects the database pods (denied)
//   explain.txt            `explain` after the baseline policy orders-db-baseline (admitted)
//   grant.dot              `explain -o dot` of the admitted case
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { startControlPlane } from './harness/controlPlane.js';
import { cliPath } from './harness/guard.js';
import { runToCompletion } from './harness/processes.js';

function pod(namespace: string, name: string, labels: Record<string, string>): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'registry.invalid/none:1' }] },
  };
}

const GRANT = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'debug-orders-db', namespace: 'shop', annotations: { 'netpol-guard.io/ttl': '2h', 'netpol-guard.io/ticket': 'INC-1234' } },
  spec: {
    podSelector: { matchLabels: { app: 'orders-db' } },
    ingress: [
      {
        from: [{ ipBlock: { cidr: '198.51.100.0/24' } }, { namespaceSelector: { matchLabels: { team: 'sre' } }, podSelector: { matchLabels: { app: 'debug-shell' } } }],
        ports: [{ protocol: 'TCP', port: 5432 }],
      },
    ],
  },
};

const BASELINE = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'orders-db-baseline', namespace: 'shop' },
  spec: {
    podSelector: { matchLabels: { app: 'orders-db' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'orders-api' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
  },
};

async function main(outDir: string): Promise<void> {
  fs.mkdirSync(outDir, { recursive: true });
  const cp = await startControlPlane();
  try {
    // A ServiceAccount token request creates the namespace and its default ServiceAccount (Pods need it).
    for (const ns of ['shop', 'sre']) await cp.createServiceAccountToken(ns, 'default');
    await cp.kubectlOk(['label', 'namespace', 'sre', 'team=sre']);
    const pods = [
      pod('shop', 'orders-db-0', { app: 'orders-db' }),
      pod('shop', 'orders-db-1', { app: 'orders-db' }),
      pod('shop', 'orders-db-2', { app: 'orders-db' }),
      pod('shop', 'orders-api-0', { app: 'orders-api' }),
      pod('shop', 'orders-api-1', { app: 'orders-api' }),
      pod('sre', 'debug-shell-0', { app: 'debug-shell' }),
    ];
    await cp.kubectlOk(['apply', '-f', '-'], { stdin: YAML.stringify({ apiVersion: 'v1', kind: 'List', items: pods }) });
    const grantFile = path.join(outDir, 'debug-orders-db.yaml');
    fs.writeFileSync(grantFile, YAML.stringify(GRANT));

    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const key of ['KUBECONFIG', 'NETPOL_GUARD_CONFIG']) delete env[key];
    const explain = async (args: string[]): Promise<string> => {
      // Relative file name, so the command line shown in the README is the one that ran.
      const result = await runToCompletion(process.execPath, [cliPath(), 'explain', '-f', 'debug-orders-db.yaml', '--kubeconfig', cp.kubeconfigAdmin, ...args], { cwd: outDir, env, label: 'netpol-guard' });
      if (result.stderr !== '' || (result.code !== 0 && result.code !== 1)) throw new Error(`explain ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
      return result.stdout;
    };
    fs.writeFileSync(path.join(outDir, 'explain-isolates.txt'), await explain([]));
    await cp.kubectlOk(['apply', '-f', '-'], { stdin: YAML.stringify(BASELINE) });
    fs.writeFileSync(path.join(outDir, 'explain.txt'), await explain([]));
    fs.writeFileSync(path.join(outDir, 'grant.dot'), await explain(['-o', 'dot']));
  } finally {
    await cp.stop();
  }
}

const outDir = process.argv[2];
if (outDir === undefined) {
  process.stderr.write('usage: node build/test/e2e/docsExample.js OUT_DIR\n');
  process.exitCode = 2;
} else {
  await main(path.resolve(outDir));
}
