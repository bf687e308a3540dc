import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1Container,
  V1CronJob,
  V1Deployment,
  V1MutatingWebhookConfiguration,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
  V1PodDisruptionBudget,
  V1PodSpec,
  V1Service,
  V1ServiceAccount,
  V1ValidatingWebhook,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import {
  MANIFESTS_DIR,
  asKubeObjects,
  baseObjects,
  componentDir,
  findObject,
  ofKind,
  readKustomization,
  readYamlDocuments,
  repoPath,
  resourcesOf,
  type KubeObject,
} from './support.js';

const NAMESPACE = 'netpol-guard';
const PACKAGE_VERSION = (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string }).version;
const TLS_SECRET = 'netpol-guard-tls';
const CONFIG_MAP = 'netpol-guard-config';
const SA_TOKEN_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

const base = baseObjects();
const deployment = findObject<V1Deployment>(base, 'Deployment', 'netpol-guard');
const podSpec = deployment.spec!.template.spec!;
const container = (spec: V1PodSpec, name: string): V1Container => {
  const found = spec.containers.find((c) => c.name === name);
  assert.ok(found, `container ${name} is missing`);
  return found;
};
const webhookContainer = container(podSpec, 'webhook');
const sweeperContainer = container(podSpec, 'sweeper');

const cronjobObjects = resourcesOf(componentDir('sweeper-cronjob'));
const cronJob = findObject<V1CronJob>(cronjobObjects, 'CronJob', 'netpol-guard-sweeper');
const cronPodSpec = cronJob.spec!.jobTemplate.spec!.template.spec!;

const certManagerObjects = resourcesOf(componentDir('cert-manager'));

/** Every pod spec shipped, base and components, labelled for failure messages. */
const podSpecs: [string, V1PodSpec][] = [
  ['Deployment netpol-guard', podSpec],
  ['CronJob netpol-guard-sweeper', cronPodSpec],
];

/** Files a kustomization names: resources, patches and generator inputs. */
function referencedFiles(dir: string): Set<string> {
  const k = readKustomization(dir);
  return new Set([
    ...(k.resources ?? []),
    ...(k.patches ?? []).flatMap((p) => (p.path === undefined ? [] : [p.path])),
    ...(k.configMapGenerator ?? []).flatMap((g) => g.files ?? []),
  ]);
}

/** YAML files in `dir` and its plain subdirectories (crds/), not in components (their own kustomizations). */
function yamlFilesIn(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) {
      return entry.name === 'components' ? [] : yamlFilesIn(path.join(dir, entry.name)).map((f) => `${entry.name}/${f}`);
    }
    return /\.ya?ml$/.test(entry.name) && entry.name !== 'kustomization.yaml' ? [entry.name] : [];
  });
}

describe('kustomization bookkeeping', () => {
  for (const dir of [MANIFESTS_DIR, componentDir('sweeper-cronjob'), componentDir('cert-manager')]) {
    const label = path.relative(MANIFESTS_DIR, dir) || 'manifests';
    it(`${label}: every YAML file is referenced by the kustomization, and every reference exists`, () => {
      const referenced = referencedFiles(dir);
      const present = yamlFilesIn(dir);
      assert.deepEqual(present.filter((f) => !referenced.has(f)), [], 'files the kustomization forgets');
      assert.deepEqual([...referenced].filter((f) => !present.includes(f)), [], 'references to missing files');
    });
  }

  it('the components are kustomize Components, the base a Kustomization', () => {
    assert.equal(readKustomization(MANIFESTS_DIR).kind, 'Kustomization');
    assert.equal(readKustomization(componentDir('sweeper-cronjob')).kind, 'Component');
    assert.equal(readKustomization(componentDir('cert-manager')).kind, 'Component');
  });

  it('the config ConfigMap keeps a stable name (no hash suffix) and is the one the pods mount', () => {
    const generators = readKustomization(MANIFESTS_DIR).configMapGenerator ?? [];
    const generator = generators.find((g) => g.name === CONFIG_MAP);
    assert.ok(generator, `configMapGenerator ${CONFIG_MAP} is missing`);
    assert.equal(generator.namespace, NAMESPACE);
    assert.equal(generator.options?.disableNameSuffixHash, true, 'a hash suffix re-rolls the Deployment on every config edit');
    assert.deepEqual(generator.files, ['config.yaml']);
    for (const [label, spec] of podSpecs) {
      const volume = spec.volumes?.find((v) => v.configMap !== undefined);
      assert.equal(volume?.configMap?.name, CONFIG_MAP, `${label} mounts a different ConfigMap`);
    }
  });

  it('all namespaced objects live in the netpol-guard namespace, which the base creates', () => {
    findObject(base, 'Namespace', NAMESPACE);
    const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'CustomResourceDefinition']);
    for (const obj of [...base, ...cronjobObjects, ...certManagerObjects]) {
      if (clusterScoped.has(obj.kind)) assert.equal(obj.metadata.namespace, undefined, `${obj.kind} ${obj.metadata.name} is cluster-scoped`);
      else assert.equal(obj.metadata.namespace, NAMESPACE, `${obj.kind} ${obj.metadata.name}`);
    }
  });
});

describe('RBAC is least privilege', () => {
  const allObjects = [...base, ...cronjobObjects, ...certManagerObjects];
  const roles = [...ofKind<V1ClusterRole>(allObjects, 'ClusterRole'), ...ofKind<V1ClusterRole>(allObjects, 'Role')];

  it('no wildcard anywhere, no secrets or configmaps, and pods only for the webhook\'s view, list+watch only', () => {
    assert.ok(roles.length > 0, 'no roles found');
    for (const role of roles) {
      for (const rule of role.rules ?? []) {
        for (const field of [rule.apiGroups, rule.resources, rule.verbs, rule.resourceNames, rule.nonResourceURLs]) {
          assert.ok(!(field ?? []).some((v) => v.includes('*')), `wildcard in ${role.metadata?.name}: ${JSON.stringify(rule)}`);
        }
        for (const forbidden of ['secrets', 'configmaps']) {
          assert.ok(!(rule.resources ?? []).includes(forbidden), `${role.metadata?.name} grants ${forbidden}`);
        }
        // Pods: the view's metadata-only informer, never a pod's subresources (exec, log, ...) and no get.
        assert.ok(!(rule.resources ?? []).some((r) => r.startsWith('pods/')), `${role.metadata?.name} grants a pod subresource`);
        if ((rule.resources ?? []).includes('pods')) {
          assert.equal(role.metadata?.name, 'netpol-guard-webhook-view', `${role.metadata?.name} grants pods`);
          assert.deepEqual(rule.resources, ['pods'], 'pods in a rule of their own');
          assert.deepEqual(rule.apiGroups, [''], 'core pods only');
          assert.deepEqual([...rule.verbs].sort(), ['list', 'watch']);
        }
        assert.equal(rule.nonResourceURLs, undefined, 'no non-resource URLs');
      }
    }
  });

  const grantsOf = (role: V1ClusterRole): string[] => {
    const granted = new Set<string>();
    for (const rule of role.rules ?? []) {
      for (const group of rule.apiGroups ?? []) {
        for (const resource of rule.resources ?? []) for (const verb of rule.verbs) granted.add(`${group}/${resource}:${verb}`);
      }
    }
    return [...granted].sort();
  };

  it('exactly six roles: the controller\'s ClusterRole, its leader-election Role, the webhook\'s view and approval checks, and the approver and auditor roles to bind', () => {
    assert.deepEqual(roles.map((r) => `${r.kind}/${r.metadata?.name}`).sort(), [
      'ClusterRole/netpol-guard-approver',
      'ClusterRole/netpol-guard-auditor',
      'ClusterRole/netpol-guard-sweeper',
      'ClusterRole/netpol-guard-webhook-approvals',
      'ClusterRole/netpol-guard-webhook-view',
      'Role/netpol-guard-leader-election',
    ]);
  });

  it('the webhook\'s approval checks: create subjectaccessreviews and get grantrequests, nothing more, each justified', () => {
    const role = findObject<V1ClusterRole>(base, 'ClusterRole', 'netpol-guard-webhook-approvals');
    assert.deepEqual(grantsOf(role), ['authorization.k8s.io/subjectaccessreviews:create', 'netpol-guard.io/grantrequests:get']);
    const binding = findObject<V1ClusterRoleBinding>(base, 'ClusterRoleBinding', 'netpol-guard-webhook-approvals');
    assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'netpol-guard-webhook-approvals' });
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'netpol-guard', namespace: NAMESPACE }]);
    const rbacText = readFileSync(path.join(MANIFESTS_DIR, 'rbac.yaml'), 'utf8');
    for (const resource of ['subjectaccessreviews:', 'grantrequests:']) assert.ok(rbacText.includes(`#   ${resource}`), `${resource} is justified in a comment`);
  });

  it('netpol-guard-auditor: only reads GrantRecords and GrantRequests, bound to nobody', () => {
    const role = findObject<V1ClusterRole>(base, 'ClusterRole', 'netpol-guard-auditor');
    assert.deepEqual(grantsOf(role), [
      'netpol-guard.io/grantrecords:get',
      'netpol-guard.io/grantrecords:list',
      'netpol-guard.io/grantrecords:watch',
      'netpol-guard.io/grantrequests:get',
      'netpol-guard.io/grantrequests:list',
      'netpol-guard.io/grantrequests:watch',
    ]);
    const bound = [...ofKind<V1ClusterRoleBinding>(base, 'ClusterRoleBinding'), ...ofKind<V1ClusterRoleBinding>(base, 'RoleBinding')].filter((b) => b.roleRef.name === 'netpol-guard-auditor');
    assert.deepEqual(bound, [], 'platform teams bind it; the base binds it to nobody');
  });

  it('netpol-guard-approver: approve/get/list grantrequests and get/patch their status, bound to nobody', () => {
    const role = findObject<V1ClusterRole>(base, 'ClusterRole', 'netpol-guard-approver');
    assert.deepEqual(grantsOf(role), [
      'netpol-guard.io/grantrequests/status:get',
      'netpol-guard.io/grantrequests/status:patch',
      'netpol-guard.io/grantrequests:approve',
      'netpol-guard.io/grantrequests:get',
      'netpol-guard.io/grantrequests:list',
    ]);
    const bound = [...ofKind<V1ClusterRoleBinding>(base, 'ClusterRoleBinding'), ...ofKind<V1ClusterRoleBinding>(base, 'RoleBinding')].filter((b) => b.roleRef.name === 'netpol-guard-approver');
    assert.deepEqual(bound, [], 'platform teams bind it; the base binds it to nobody');
  });

  it('the webhook\'s view may get/list/watch exactly namespaces, networkpolicies and grantrecords, list/watch pods, each justified', () => {
    const view = findObject<V1ClusterRole>(base, 'ClusterRole', 'netpol-guard-webhook-view');
    assert.deepEqual(grantsOf(view), [
      '/namespaces:get',
      '/namespaces:list',
      '/namespaces:watch',
      '/pods:list',
      '/pods:watch',
      'netpol-guard.io/grantrecords:get',
      'netpol-guard.io/grantrecords:list',
      'netpol-guard.io/grantrecords:watch',
      'networking.k8s.io/networkpolicies:get',
      'networking.k8s.io/networkpolicies:list',
      'networking.k8s.io/networkpolicies:watch',
    ]);
    const binding = findObject<V1ClusterRoleBinding>(base, 'ClusterRoleBinding', 'netpol-guard-webhook-view');
    assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'netpol-guard-webhook-view' });
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'netpol-guard', namespace: NAMESPACE }]);
    const rbacText = readFileSync(path.join(MANIFESTS_DIR, 'rbac.yaml'), 'utf8');
    for (const resource of ['namespaces:', 'networkpolicies:', 'grantrecords:', 'pods:']) assert.ok(rbacText.includes(`#   ${resource}`), `${resource} is justified in a comment`);
    assert.ok(!rbacText.includes('needs no API access'), 'the manifests no longer claim the webhook has no API access');
  });

  it('the controller may get/list/watch/delete/create networkpolicies, create events, keep grantrecords and move grantrequests\' status, nothing more', () => {
    const clusterRole = findObject<V1ClusterRole>(base, 'ClusterRole', 'netpol-guard-sweeper');
    assert.deepEqual(grantsOf(clusterRole), [
      '/events:create',
      '/namespaces:get',
      'netpol-guard.io/grantrecords:create',
      'netpol-guard.io/grantrecords:delete',
      'netpol-guard.io/grantrecords:get',
      'netpol-guard.io/grantrecords:list',
      'netpol-guard.io/grantrecords:update',
      'netpol-guard.io/grantrecords:watch',
      'netpol-guard.io/grantrequests/status:update',
      'netpol-guard.io/grantrequests:get',
      'netpol-guard.io/grantrequests:list',
      'netpol-guard.io/grantrequests:watch',
      'networking.k8s.io/networkpolicies:create',
      'networking.k8s.io/networkpolicies:delete',
      'networking.k8s.io/networkpolicies:get',
      'networking.k8s.io/networkpolicies:list',
      'networking.k8s.io/networkpolicies:watch',
    ]);
    // A new power: the comment must say why, and that the webhook still judges each such policy.
    const rbacText = readFileSync(path.join(MANIFESTS_DIR, 'rbac.yaml'), 'utf8');
    assert.match(rbacText, /networkpolicies create \(a NEW power/);
    assert.match(rbacText, /sends that CREATE through the admission webhooks/);
    assert.match(rbacText, /#   grantrequests:/);
  });

  it('leases: get, create, update in its own namespace only (no list, watch or delete), bound to the pods\' ServiceAccount', () => {
    const role = findObject<V1ClusterRole>(base, 'Role', 'netpol-guard-leader-election');
    assert.equal(role.metadata?.namespace, NAMESPACE);
    assert.deepEqual(grantsOf(role), ['coordination.k8s.io/leases:create', 'coordination.k8s.io/leases:get', 'coordination.k8s.io/leases:update']);
    const binding = findObject<V1ClusterRoleBinding>(base, 'RoleBinding', 'netpol-guard-leader-election');
    assert.equal(binding.metadata?.namespace, NAMESPACE);
    assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'netpol-guard-leader-election' });
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'netpol-guard', namespace: NAMESPACE }]);
    const rbacText = readFileSync(path.join(MANIFESTS_DIR, 'rbac.yaml'), 'utf8');
    for (const verb of ['get:', 'create:', 'update:']) assert.ok(rbacText.includes(`#   ${verb}`), `the ${verb} verb on leases is justified in a comment`);
  });

  it('the binding gives that role to the pods\' ServiceAccount, which does not automount its token', () => {
    const binding = findObject<V1ClusterRoleBinding>(base, 'ClusterRoleBinding', 'netpol-guard-sweeper');
    assert.equal(binding.roleRef.kind, 'ClusterRole');
    assert.equal(binding.roleRef.name, 'netpol-guard-sweeper');
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'netpol-guard', namespace: NAMESPACE }]);
    const sa = findObject<V1ServiceAccount>(base, 'ServiceAccount', 'netpol-guard');
    assert.equal(sa.automountServiceAccountToken, false);
    assert.equal(podSpec.serviceAccountName, 'netpol-guard');
    assert.equal(cronPodSpec.serviceAccountName, 'netpol-guard');
  });

  it('the GrantRecord CRD ships in the base', () => {
    const crd = findObject<KubeObject>(base, 'CustomResourceDefinition', 'grantrecords.netpol-guard.io');
    assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
  });

  it('the sweeper and the webhook (for its cluster view) mount the projected token, nothing is automounted', () => {
    assert.equal(podSpec.automountServiceAccountToken, false);
    const tokenMount = (sweeperContainer.volumeMounts ?? []).find((m) => m.mountPath === SA_TOKEN_DIR);
    assert.ok(tokenMount, 'the sweeper sidecar needs the projected token');
    assert.deepEqual((webhookContainer.volumeMounts ?? []).find((m) => m.mountPath === SA_TOKEN_DIR), { ...tokenMount, name: tokenMount.name });
    // The webhook refuses to run without its view rather than skip the rules that need it.
    assert.deepEqual(webhookContainer.args?.slice(-2), ['--cluster-view', 'required']);
    const volume = podSpec.volumes?.find((v) => v.name === tokenMount.name);
    const sources = volume?.projected?.sources ?? [];
    assert.ok(sources.some((s) => s.serviceAccountToken?.path === 'token'), 'projected token');
    assert.ok(sources.some((s) => s.configMap?.items?.some((i) => i.path === 'ca.crt')), 'cluster CA');
    assert.ok(sources.some((s) => s.downwardAPI?.items?.some((i) => i.path === 'namespace')), 'namespace file');
    // The CronJob's pod has only the sweeper, so it takes the ordinary mount.
    assert.equal(cronPodSpec.automountServiceAccountToken, true);
    assert.deepEqual(cronPodSpec.containers.map((c) => c.name), ['sweeper']);
  });
});

describe('webhook configurations', () => {
  const mutating = findObject<V1MutatingWebhookConfiguration>(base, 'MutatingWebhookConfiguration', 'netpol-guard');
  const validating = findObject<V1ValidatingWebhookConfiguration>(base, 'ValidatingWebhookConfiguration', 'netpol-guard');
  const service = findObject<V1Service>(base, 'Service', 'netpol-guard');
  const hooks: [string, V1ValidatingWebhook, string, number][] = [
    ...(mutating.webhooks ?? []).map((w): [string, V1ValidatingWebhook, string, number] => ['mutating', w, '/mutate', 2]),
    ...(validating.webhooks ?? []).map((w): [string, V1ValidatingWebhook, string, number] => ['validating', w, '/validate', 3]),
  ];

  it('one webhook each', () => {
    assert.equal(mutating.webhooks?.length, 1);
    assert.equal(validating.webhooks?.length, 1);
  });

  for (const [label, hook, servicePath, timeout] of hooks) {
    it(`${label}: CREATE/UPDATE of networking.k8s.io/v1 networkpolicies and of grantrequests with their status only, never DELETE`, () => {
      assert.deepEqual(hook.rules, [
        { apiGroups: ['networking.k8s.io'], apiVersions: ['v1'], resources: ['networkpolicies'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' },
        { apiGroups: ['netpol-guard.io'], apiVersions: ['v1alpha1'], resources: ['grantrequests', 'grantrequests/status'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' },
      ]);
      assert.ok(!(hook.rules ?? []).some((r) => (r.operations ?? []).some((op) => op === 'DELETE' || op === '*')));
    });

    it(`${label}: v1 reviews, no side effects, fails closed, equivalent matching, timeout ${timeout}s`, () => {
      assert.deepEqual(hook.admissionReviewVersions, ['v1']);
      assert.equal(hook.sideEffects, 'None');
      assert.equal(hook.failurePolicy, 'Fail');
      assert.equal(hook.matchPolicy, 'Equivalent');
      assert.equal(hook.timeoutSeconds, timeout);
      assert.ok(timeout <= 3);
    });

    it(`${label}: never sees kube-system or its own namespace`, () => {
      const expressions = hook.namespaceSelector?.matchExpressions ?? [];
      const excluded = expressions.find((e) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn');
      assert.ok(excluded, 'NotIn on kubernetes.io/metadata.name');
      assert.ok(excluded.values?.includes('kube-system'));
      assert.ok(excluded.values?.includes(NAMESPACE));
      assert.equal(hook.namespaceSelector?.matchLabels, undefined, 'no label requirement that would skip unlabelled namespaces');
    });

    it(`${label}: calls the netpol-guard Service on 443 at ${servicePath}, with caBundle left to certs/cert-manager`, () => {
      assert.deepEqual(hook.clientConfig.service, { name: service.metadata?.name, namespace: NAMESPACE, path: servicePath, port: 443 });
      assert.equal(hook.clientConfig.url, undefined);
      assert.equal(hook.clientConfig.caBundle, undefined);
    });
  }

  it('the mutating webhook is reinvoked if a later mutation changes the object', () => {
    assert.equal(mutating.webhooks?.[0]?.reinvocationPolicy, 'IfNeeded');
  });

  it('webhook names are distinct and fully qualified', () => {
    const names = hooks.map(([, h]) => h.name);
    assert.equal(new Set(names).size, names.length);
    for (const name of names) assert.match(name, /^[a-z0-9-]+(\.[a-z0-9-]+){2,}$/);
  });

  it('the Service maps 443 to the webhook container\'s 8443 and selects only webhook pods', () => {
    const port = service.spec?.ports?.find((p) => p.port === 443);
    assert.ok(port);
    const target = webhookContainer.ports?.find((p) => p.name === port.targetPort || p.containerPort === port.targetPort);
    assert.equal(target?.containerPort, 8443);
    const podLabels = deployment.spec!.template.metadata!.labels!;
    for (const [k, v] of Object.entries(service.spec?.selector ?? {})) assert.equal(podLabels[k], v, `selector ${k}`);
    const cronLabels = cronJob.spec!.jobTemplate.spec!.template.metadata!.labels!;
    assert.ok(Object.entries(service.spec!.selector!).some(([k, v]) => cronLabels[k] !== v), 'the Service must not select sweeper Job pods');
  });
});

describe('Deployment', () => {
  it('runs 2 replicas spread across nodes, protected by a PDB of minAvailable 1', () => {
    assert.equal(deployment.spec?.replicas, 2);
    const terms = podSpec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    const term = terms.find((t) => t.podAffinityTerm.topologyKey === 'kubernetes.io/hostname');
    assert.ok(term, 'preferred anti-affinity by hostname');
    assert.deepEqual(term.podAffinityTerm.labelSelector?.matchLabels, deployment.spec?.selector.matchLabels);
    assert.equal(deployment.spec?.strategy?.rollingUpdate?.maxUnavailable, 0);
    const pdb = findObject<V1PodDisruptionBudget>(base, 'PodDisruptionBudget', 'netpol-guard');
    assert.equal(pdb.spec?.minAvailable, 1);
    assert.deepEqual(pdb.spec?.selector?.matchLabels, deployment.spec?.selector.matchLabels);
  });

  it('the webhook is probed over HTTPS: readiness /readyz, liveness /healthz, on its 8443 port', () => {
    const httpsPort = webhookContainer.ports?.find((p) => p.containerPort === 8443);
    assert.ok(httpsPort);
    for (const [probe, probePath] of [[webhookContainer.readinessProbe, '/readyz'], [webhookContainer.livenessProbe, '/healthz']] as const) {
      assert.equal(probe?.httpGet?.path, probePath);
      assert.equal(probe?.httpGet?.scheme, 'HTTPS');
      assert.ok(probe?.httpGet?.port === httpsPort.name || probe?.httpGet?.port === 8443);
    }
    assert.deepEqual(webhookContainer.args?.slice(0, 1), ['serve']);
    const portFlag = webhookContainer.args?.indexOf('--port') ?? -1;
    assert.equal(webhookContainer.args?.[portFlag + 1], '8443');
  });

  it('the sweeper sidecar runs the leader-elected controller, serves /healthz on 9090 and is liveness-probed only', () => {
    assert.deepEqual(sweeperContainer.args?.slice(0, 2), ['controller', '--leader-elect']);
    assert.ok(!(sweeperContainer.args ?? []).includes('--lease-namespace'), 'the Lease namespace comes from the projected namespace file');
    const metricsFlag = sweeperContainer.args?.indexOf('--metrics-port') ?? -1;
    assert.equal(sweeperContainer.args?.[metricsFlag + 1], '9090');
    assert.equal(sweeperContainer.livenessProbe?.httpGet?.path, '/healthz');
    const port = sweeperContainer.ports?.find((p) => p.containerPort === 9090);
    assert.ok(port && (sweeperContainer.livenessProbe?.httpGet?.port === port.name || sweeperContainer.livenessProbe?.httpGet?.port === 9090));
    assert.equal(sweeperContainer.readinessProbe, undefined, 'sweeper readiness would couple admission to the sweeper');
  });

  it('TLS Secret and config are directory mounts (never subPath) that the env paths point into', () => {
    const mountOf = (c: V1Container, volumeName: string) => (c.volumeMounts ?? []).find((m) => m.name === volumeName);
    const tlsVolume = podSpec.volumes?.find((v) => v.secret?.secretName === TLS_SECRET);
    assert.ok(tlsVolume, `Secret ${TLS_SECRET} is mounted`);
    const configVolume = podSpec.volumes?.find((v) => v.configMap?.name === CONFIG_MAP);
    assert.ok(configVolume);
    const tlsMount = mountOf(webhookContainer, tlsVolume.name);
    const configMount = mountOf(webhookContainer, configVolume.name);
    assert.ok(tlsMount && configMount);
    const env = (c: V1Container, name: string) => c.env?.find((e) => e.name === name)?.value;
    assert.equal(env(webhookContainer, 'TLS_CERT_FILE'), `${tlsMount.mountPath}/tls.crt`);
    assert.equal(env(webhookContainer, 'TLS_KEY_FILE'), `${tlsMount.mountPath}/tls.key`);
    for (const c of [webhookContainer, sweeperContainer]) {
      assert.equal(env(c, 'NETPOL_GUARD_CONFIG'), `${mountOf(c, configVolume.name)?.mountPath}/config.yaml`, c.name);
    }
    assert.ok(!(sweeperContainer.volumeMounts ?? []).some((m) => m.name === tlsVolume.name), 'the sweeper has no use for the serving key');
    assert.equal((tlsVolume.secret?.defaultMode ?? 0o644) & 0o007, 0, 'the key must not be world-readable');
  });

  it('nothing is mounted with subPath, in any pod', () => {
    for (const [label, spec] of podSpecs) {
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
        for (const m of c.volumeMounts ?? []) {
          assert.equal(m.subPath, undefined, `${label} ${c.name} ${m.mountPath}`);
          assert.equal(m.subPathExpr, undefined, `${label} ${c.name} ${m.mountPath}`);
        }
      }
    }
  });
});

describe('security context of every container', () => {
  for (const [label, spec] of podSpecs) {
    it(`${label}: pod runs as a numeric non-root user with RuntimeDefault seccomp`, () => {
      assert.equal(spec.securityContext?.runAsNonRoot, true);
      assert.ok(Number.isInteger(spec.securityContext?.runAsUser) && spec.securityContext!.runAsUser! > 0);
      assert.equal(spec.securityContext?.seccompProfile?.type, 'RuntimeDefault');
      assert.notEqual(spec.hostNetwork, true);
      assert.notEqual(spec.hostPID, true);
    });
    for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
      it(`${label} / ${c.name}: locked down, with requests and limits`, () => {
        const sc = c.securityContext;
        assert.equal(sc?.runAsNonRoot, true);
        assert.equal(sc?.runAsUser, 65532);
        assert.equal(sc?.allowPrivilegeEscalation, false);
        assert.equal(sc?.readOnlyRootFilesystem, true);
        assert.deepEqual(sc?.capabilities?.drop, ['ALL']);
        assert.equal(sc?.capabilities?.add, undefined);
        assert.notEqual(sc?.privileged, true);
        assert.equal(sc?.seccompProfile?.type, 'RuntimeDefault');
        for (const kind of ['requests', 'limits'] as const) {
          assert.ok(c.resources?.[kind]?.['cpu'] !== undefined, `${kind}.cpu`);
          assert.ok(c.resources?.[kind]?.['memory'] !== undefined, `${kind}.memory`);
        }
        assert.equal(c.image, `netpol-guard:${PACKAGE_VERSION}`, 'the image tag follows package.json');
      });
    }
  }
});

describe('sweeper-cronjob component', () => {
  it('runs sweep --once every minute, never overlapping, with a start deadline and a retry bound', () => {
    assert.equal(cronJob.spec!.schedule, '* * * * *');
    assert.equal(cronJob.spec!.concurrencyPolicy, 'Forbid');
    assert.ok((cronJob.spec!.startingDeadlineSeconds ?? 0) > 0 && cronJob.spec!.startingDeadlineSeconds! < 60);
    assert.ok(Number.isInteger(cronJob.spec!.jobTemplate.spec?.backoffLimit));
    assert.ok((cronJob.spec!.jobTemplate.spec?.activeDeadlineSeconds ?? 0) > 0, 'a hung run must not block every later one');
    assert.equal(cronPodSpec.restartPolicy, 'Never');
    assert.deepEqual(cronPodSpec.containers[0]?.args, ['sweep', '--once']);
  });

  it('its patch deletes the sidecar and every sidecar-only volume (webhook URLs) by name, and keeps the token volume the webhook\'s view uses', () => {
    const patches = readKustomization(componentDir('sweeper-cronjob')).patches ?? [];
    const docs = patches.flatMap((p) => readYamlDocuments(path.join(componentDir('sweeper-cronjob'), p.path!))) as V1Deployment[];
    const patch = docs.find((d) => d.kind === 'Deployment' && d.metadata?.name === deployment.metadata?.name);
    assert.ok(patch);
    const spec = patch.spec!.template.spec! as unknown as { containers: Record<string, unknown>[]; volumes: Record<string, unknown>[] };
    assert.deepEqual(spec.containers, [{ name: 'sweeper', $patch: 'delete' }]);
    const tokenVolume = sweeperContainer.volumeMounts!.find((m) => m.mountPath === SA_TOKEN_DIR)!.name;
    const otherMounts = new Set(podSpec.containers.filter((c) => c !== sweeperContainer).flatMap((c) => (c.volumeMounts ?? []).map((m) => m.name)));
    const sidecarOnly = sweeperContainer.volumeMounts!.map((m) => m.name).filter((name) => !otherMounts.has(name));
    // The webhook container mounts the token too (its cluster view): it must survive the patch.
    assert.ok(otherMounts.has(tokenVolume));
    assert.ok(!sidecarOnly.includes(tokenVolume));
    assert.ok(sidecarOnly.length > 0);
    assert.deepEqual(spec.volumes, sidecarOnly.map((name) => ({ name, $patch: 'delete' })));
  });
});

describe('cert-manager component', () => {
  const certificates = ofKind<KubeObject & { spec: Record<string, unknown> }>(certManagerObjects, 'Certificate');
  const issuers = ofKind<KubeObject & { spec: Record<string, unknown> }>(certManagerObjects, 'Issuer');

  it('self-signed issuer → CA certificate → CA issuer → serving certificate in the mounted Secret', () => {
    const selfSigned = issuers.find((i) => i.spec['selfSigned'] !== undefined);
    assert.ok(selfSigned);
    const ca = certificates.find((c) => c.spec['isCA'] === true);
    assert.ok(ca);
    assert.equal((ca.spec['issuerRef'] as { name: string }).name, selfSigned.metadata.name);
    const caIssuer = issuers.find((i) => (i.spec['ca'] as { secretName?: string } | undefined)?.secretName === ca.spec['secretName']);
    assert.ok(caIssuer);
    const serving = certificates.find((c) => c.spec['secretName'] === TLS_SECRET);
    assert.ok(serving);
    assert.equal((serving.spec['issuerRef'] as { name: string }).name, caIssuer.metadata.name);
    assert.deepEqual(serving.spec['dnsNames'], [
      'netpol-guard',
      'netpol-guard.netpol-guard',
      'netpol-guard.netpol-guard.svc',
      'netpol-guard.netpol-guard.svc.cluster.local',
    ]);
  });

  it('annotates both webhook configurations to inject the serving certificate\'s CA', () => {
    const serving = certificates.find((c) => c.spec['secretName'] === TLS_SECRET)!;
    const patches = readKustomization(componentDir('cert-manager')).patches ?? [];
    const docs = patches.flatMap((p) => asKubeObjects(path.join(componentDir('cert-manager'), p.path!)));
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      const doc = findObject(docs, kind, 'netpol-guard');
      assert.equal(doc.metadata.annotations?.['cert-manager.io/inject-ca-from'], `${NAMESPACE}/${serving.metadata.name}`);
    }
  });
});

describe('netpol-guard\'s own NetworkPolicy', () => {
  const policy = findObject<V1NetworkPolicy>(base, 'NetworkPolicy', 'netpol-guard');

  it('selects the webhook pods and the sweeper Job pods', () => {
    const selector = policy.spec?.podSelector?.matchLabels ?? {};
    for (const labels of [deployment.spec!.template.metadata!.labels!, cronJob.spec!.jobTemplate.spec!.template.metadata!.labels!]) {
      for (const [k, v] of Object.entries(selector)) assert.equal(labels[k], v);
    }
  });

  it('admits 8443 from any source (API server addresses are unpredictable) and 9090 only from a namespace selector', () => {
    // The wire form says `from`; the client model renames it `_from`, so read the raw shape.
    const rules = (policy.spec?.ingress ?? []) as unknown as { from?: V1NetworkPolicyPeer[]; ports?: V1NetworkPolicyPort[] }[];
    const webhookRule = rules.find((r) => r.ports?.some((p) => p.port === 8443));
    assert.ok(webhookRule);
    assert.equal(webhookRule.from, undefined, 'no source restriction on the webhook port');
    const metricsRule = rules.find((r) => r.ports?.some((p) => p.port === 9090));
    assert.ok(metricsRule?.from && metricsRule.from.length > 0);
    assert.ok(metricsRule.from.every((peer) => peer.namespaceSelector !== undefined && peer.ipBlock === undefined));
  });

  it('lets the sweeper reach the API server and lives in a namespace the webhooks exclude', () => {
    assert.ok(policy.spec?.egress?.some((r) => r.ports?.some((p) => p.port === 443)));
    const validating = findObject<V1ValidatingWebhookConfiguration>(base, 'ValidatingWebhookConfiguration', 'netpol-guard');
    const excluded = validating.webhooks?.[0]?.namespaceSelector?.matchExpressions?.[0]?.values ?? [];
    assert.ok(excluded.includes(policy.metadata?.namespace ?? ''));
  });
});
