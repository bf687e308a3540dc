// `npm run cluster`: a local Kubernetes control plane (etcd + kube-apiserver, no nodes) with
// netpol-guard registered exactly as the e2e suite registers it: the webhook from dist/ behind the
// shipped webhook configurations (service → url), the webhook's cluster view (with every Pod's
// labels and every NetworkPolicy, for the effect rules) and `controller --leader-elect` under the
// shipped RBAC with the GrantRecord CRD.
// Prints KUBECONFIG lines for an admin and for a developer, then runs until Ctrl-C.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { startControlPlane } from './harness/controlPlane.js';
import { manifestsDir, startNetpolGuard } from './harness/guard.js';
import { ensureDefaultServiceAccount } from './harness/pods.js';
import { createNamespaceFor, ensureNetworkPolicyEditorRole } from './harness/tenants.js';

const USAGE = `usage: npm run cluster [-- options]

Starts etcd and kube-apiserver on 127.0.0.1 with netpol-guard's webhook and controller registered,
prints how to reach it, and runs until Ctrl-C (which stops and removes everything).

options:
  --config FILE      netpol-guard platform config (default manifests/config.yaml)
  --namespace NAME   namespace where alice may manage NetworkPolicies (default team-a)
  -h, --help         show this help
`;

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: { config: { type: 'string' }, namespace: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    process.stderr.write(`cluster: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const configFile = path.resolve(values.config ?? path.join(manifestsDir(), 'config.yaml'));
  let configYaml: string;
  try {
    configYaml = fs.readFileSync(configFile, 'utf8');
  } catch (err) {
    process.stderr.write(`cluster: cannot read --config ${configFile}: ${(err as Error).message}\n`);
    return 2;
  }
  const namespace = values.namespace ?? 'team-a';
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    process.stderr.write(`cluster: --namespace "${namespace}" is not a valid namespace name\n`);
    return 2;
  }

  // Runs before the harness's own signal handler, which kills every process and removes the
  // temp directories, then exits.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => process.stderr.write(`\n[cluster] ${signal}: stopping netpol-guard and the control plane\n`));
  }

  const cp = await startControlPlane();
  // The GrantRecord CRD, as the manifests install it, so the controller records history.
  await cp.kubectlOk(['apply', '-f', path.join(manifestsDir(), 'crds', 'grantrecords.netpol-guard.io.yaml')]);
  await cp.kubectlOk(['wait', '--for=condition=established', '--timeout=30s', 'crd/grantrecords.netpol-guard.io']);
  // The webhook runs its cluster view under the shipped RBAC, as the Deployment does.
  const guard = await startNetpolGuard(cp, { configYaml, clusterView: true });
  // As the manifests run it: leader election on, under the shipped RBAC (the Lease lives in its namespace).
  const controller = await guard.startController(['--leader-elect', '--lease-namespace', guard.sweeperIdentity.namespace]);
  await ensureNetworkPolicyEditorRole(cp);
  await createNamespaceFor(cp, namespace, 'alice');
  // Pods need the namespace's default ServiceAccount, which nothing creates without a controller-manager.
  await ensureDefaultServiceAccount(cp, namespace);
  const version = (await cp.request('/version')).json as { gitVersion?: string };
  const prefix = guard.annotationPrefix;

  const out = [
    '',
    `netpol-guard is guarding a local Kubernetes ${version.gitVersion ?? ''} control plane at ${cp.server}`,
    `  webhook     ${guard.webhook.baseUrl} (/mutate, /validate), log ${guard.webhook.logFile}`,
    `  controller  controller --leader-elect as ${guard.sweeperIdentity.username}, log ${controller.logFile}`,
    `  config      a copy of ${configFile}: ${guard.webhook.configFile}`,
    '              (the webhook re-reads that copy when it changes; the controller reads it at start)',
    '  There are no nodes: objects are admitted and stored, nothing is scheduled.',
    '',
    'kubectl of the same version:',
    `  export PATH=${shellQuote(cp.binDir)}:"$PATH"`,
    'as admin (system:masters):',
    `  export KUBECONFIG=${shellQuote(cp.kubeconfigFor('admin'))}`,
    `as alice (group developers; may manage NetworkPolicies in namespace ${namespace} only):`,
    `  export KUBECONFIG=${shellQuote(cp.kubeconfigFor('alice'))}`,
    '',
    'Pods: as admin, create a few (no nodes: they stay Pending, labels intact, which is all the webhook reads)',
    `  for i in 0 1 2; do kubectl -n ${namespace} run backend-$i --image=registry.invalid/none:1 --labels=app=backend; done`,
    `  kubectl -n ${namespace} run frontend-0 --image=registry.invalid/none:1 --labels=app=frontend`,
    'then the grant below is denied as isolates-pods (no policy selects the backends yet, so it would cut',
    'all their other traffic). As admin, isolate them on purpose first (a default-deny grants nothing, so',
    'it is not judged):',
    `  kubectl -n ${namespace} create -f - <<'EOF'`,
    '  {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "default-deny"},',
    '   "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}',
    '  EOF',
    'and the same grant is admitted; the webhook log\'s audit line says what it opened ("effect": "opens 3',
    `pods ← 1 pod in 1 namespace on TCP/8080; ..."), and \`netpol-guard explain frontend-to-backend -n ${namespace}\``,
    'prints the whole report.',
    '',
    'Try, as alice: a narrow grant for two minutes (admitted and stamped; the controller deletes it on expiry)',
    `  kubectl -n ${namespace} apply -f - <<'EOF'`,
    '  apiVersion: networking.k8s.io/v1',
    '  kind: NetworkPolicy',
    '  metadata:',
    '    name: frontend-to-backend',
    '    annotations:',
    `      ${prefix}/ttl: 2m`,
    `      ${prefix}/ticket: INC-1234`,
    '  spec:',
    '    podSelector: {matchLabels: {app: backend}}',
    '    policyTypes: [Ingress]',
    '    ingress:',
    '      - from: [{podSelector: {matchLabels: {app: frontend}}}]',
    '        ports: [{protocol: TCP, port: 8080}]',
    '  EOF',
    `  kubectl -n ${namespace} get networkpolicy frontend-to-backend -o yaml   # expires-at, requested-by, granted-at`,
    `  kubectl -n ${namespace} get events --field-selector reason=Expired -w   # after two minutes`,
    '  kubectl get gr                                                  # as admin: the history, one GrantRecord per grant',
    'and an over-broad one (denied, naming each rule):',
    `  kubectl -n ${namespace} create -f - <<'EOF'`,
    '  {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "open"},',
    '   "spec": {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}}',
    '  EOF',
    '',
    'Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(out.join('\n'));

  void controller.process.exited.then((code) => {
    process.stderr.write(`[cluster] the controller exited (${code}); see ${controller.logFile}\n`);
  });
  let webhookReported = false;
  // Also what keeps this process alive: every child is unref'd.
  setInterval(() => {
    if (!webhookReported && !guard.webhook.isRunning()) {
      webhookReported = true;
      process.stderr.write(`[cluster] the webhook exited; NetworkPolicy writes are refused (failurePolicy Fail). See ${guard.webhook.logFile}\n`);
    }
  }, 2_000);
  return await new Promise<number>(() => undefined);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`cluster: ${err instanceof Error ? err.message : String(err)}\n`);
    // The harness's exit hook kills whatever was started.
    process.exit(1);
  },
);
