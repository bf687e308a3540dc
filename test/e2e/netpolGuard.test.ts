// netpol-guard end to end: the built CLI (`serve`, `sweep`) against a real kube-apiserver, with
// the webhook registered exactly as manifests/webhooks.yaml registers it (service → url) and the
// sweeper running under the RBAC of manifests/rbac.yaml. Requests are made with the real kubectl,
// as a developer ("alice") who may manage NetworkPolicies in her own namespaces.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane, type KubectlResult } from './harness/controlPlane.js';
import {
  localWebhookConfigurations,
  manifestsDir,
  readManifestDocuments,
  type JsonObject,
  type NetpolGuard,
  type SweeperProcess,
  startNetpolGuard,
} from './harness/guard.js';
import { adminApis, eventsFor, mustReadPolicy, readPolicy, type AdminApis } from './harness/kubeClient.js';
import { broadPolicy, defaultDenyPolicy, grantAnnotations, narrowPolicy } from './harness/policies.js';
import { canI, createTenantNamespace, ensureNetworkPolicyEditorRole, NETWORKPOLICY_EDITOR_ROLE } from './harness/tenants.js';

const PREFIX = 'netpol-guard.io';
const KEYS = {
  ttl: `${PREFIX}/ttl`,
  expiresAt: `${PREFIX}/expires-at`,
  ticket: `${PREFIX}/ticket`,
  requestedBy: `${PREFIX}/requested-by`,
  grantedAt: `${PREFIX}/granted-at`,
  temporary: `${PREFIX}/temporary`,
};
/** Group whose members maintain permanent platform policy (config permanentPrincipals). */
const PLATFORM_GROUP = 'platform-admins';
const MAX_TTL_HOURS = 24;

const CONFIG_ENFORCE = `mode: enforce
annotationPrefix: ${PREFIX}
limits:
  maxTTL: ${MAX_TTL_HOURS}h
permanentPrincipals:
  groups: [${PLATFORM_GROUP}]
`;
const CONFIG_WARN = CONFIG_ENFORCE.replace('mode: enforce', 'mode: warn');

/** The product requirement on the watch-mode sweeper: a grant is gone within this of its expiry. */
const MAX_EXPIRY_LAG_MS = 2_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const sleepUntil = (epochMs: number) => sleep(Math.max(0, epochMs - Date.now()));
const floorToSecond = (ms: number) => Math.floor(ms / 1_000) * 1_000;

function annotationsOf(policy: V1NetworkPolicy): Record<string, string> {
  return policy.metadata?.annotations ?? {};
}

/** Only the annotations and labels netpol-guard owns. */
function guardMetadata(policy: V1NetworkPolicy): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...(policy.metadata?.annotations ?? {}), ...(policy.metadata?.labels ?? {}) })) {
    if (k.startsWith(`${PREFIX}/`)) out[k] = v;
  }
  return out;
}

function timestampMs(policy: V1NetworkPolicy, key: string): number {
  const text = annotationsOf(policy)[key];
  assert.ok(text !== undefined, `annotation ${key} missing; annotations: ${JSON.stringify(annotationsOf(policy))}`);
  assert.match(text, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/, `${key} is not an RFC 3339 UTC timestamp`);
  return Date.parse(text);
}

/** Asserts `actual` lies in [floor(startMs) + offset, endMs + offset]: computed by a clock read in between. */
function assertStampedBetween(actual: number, startMs: number, endMs: number, offsetMs: number, what: string): void {
  const low = floorToSecond(startMs) + offsetMs;
  const high = endMs + offsetMs;
  assert.ok(
    actual >= low && actual <= high,
    `${what} ${new Date(actual).toISOString()} is outside [${new Date(low).toISOString()}, ${new Date(high).toISOString()}]`,
  );
}

function assertOk(r: KubectlResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

describe('netpol-guard end to end', () => {
  let cp: ControlPlane | undefined;
  let guard: NetpolGuard | undefined;
  let apis: AdminApis | undefined;

  before(async () => {
    cp = await startControlPlane({ users: [{ name: 'platform', groups: [PLATFORM_GROUP] }] });
    await ensureNetworkPolicyEditorRole(cp);
    await cp.kubectlOk([
      'create',
      'clusterrolebinding',
      'e2e-platform-admins',
      `--clusterrole=${NETWORKPOLICY_EDITOR_ROLE}`,
      `--group=${PLATFORM_GROUP}`,
    ]);
    guard = await startNetpolGuard(cp, { configYaml: CONFIG_ENFORCE });
    apis = adminApis(cp);
  });

  after(async () => {
    // Each step on its own: a failing stop must not leave the next process running.
    await guard?.stop().catch((err: unknown) => process.stderr.write(`guard stop: ${String(err)}\n`));
    await cp?.stop();
  });

  const plane = (): ControlPlane => {
    assert.ok(cp, 'control plane did not start');
    return cp;
  };
  const ng = (): NetpolGuard => {
    assert.ok(guard, 'netpol-guard did not start');
    return guard;
  };
  const api = (): AdminApis => {
    assert.ok(apis, 'client not set up');
    return apis;
  };
  const applyAs = (user: string, manifest: string, extra: string[] = []): Promise<KubectlResult> =>
    plane().kubectl(['apply', '-f', '-', ...extra], { asUser: user, stdin: manifest });

  describe('deployment manifests', () => {
    it('registers the webhook configurations of manifests/webhooks.yaml unchanged except service → url', async () => {
      const shipped = readManifestDocuments(path.join(manifestsDir(), 'webhooks.yaml'));
      for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
        const manifest = shipped.find((d) => d['kind'] === kind);
        assert.ok(manifest, `${kind} missing from manifests/webhooks.yaml`);
        const stored = JSON.parse(await plane().kubectlOk(['get', kind.toLowerCase(), 'netpol-guard', '-o', 'json'])) as JsonObject;
        const storedHooks = stored['webhooks'] as JsonObject[];
        const shippedHooks = manifest['webhooks'] as JsonObject[];
        assert.equal(storedHooks.length, shippedHooks.length);
        for (const [i, want] of shippedHooks.entries()) {
          const got = storedHooks[i]!;
          for (const [field, value] of Object.entries(want)) {
            if (field === 'clientConfig') continue;
            assert.deepEqual(got[field], value, `${kind} webhook ${String(want['name'])} field ${field}`);
          }
          const service = (want['clientConfig'] as { service: { path: string } }).service;
          const clientConfig = got['clientConfig'] as { url?: string; service?: unknown; caBundle?: string };
          assert.equal(clientConfig.url, `${ng().webhook.baseUrl}${service.path}`);
          assert.equal(clientConfig.service, undefined);
          assert.equal(clientConfig.caBundle, ng().webhook.caBundle);
          assert.equal(got['failurePolicy'], 'Fail');
          assert.equal(got['sideEffects'], 'None');
          assert.deepEqual(got['admissionReviewVersions'], ['v1']);
        }
      }
    });

    it('refuses to derive a configuration from a webhook without a service path', () => {
      const dir = fs.mkdtempSync(path.join(plane().tmpDir, 'webhooks-'));
      const file = path.join(dir, 'webhooks.yaml');
      const docs = readManifestDocuments(path.join(manifestsDir(), 'webhooks.yaml'));
      const broken = structuredClone(docs);
      (broken[0]!['webhooks'] as JsonObject[])[0]!['clientConfig'] = { url: 'https://127.0.0.1:1/validate' };
      fs.writeFileSync(file, broken.map((d) => YAML.stringify(d)).join('---\n'));
      assert.throws(() => localWebhookConfigurations(file, 'https://127.0.0.1:1', 'Zm9v'), /has no clientConfig\.service\.path/);
    });

    it('accepts the kustomize base and the sweeper-cronjob overlay (kubectl apply --dry-run=server -k)', async () => {
      // The sweeper's ServiceAccount already created the netpol-guard namespace the base targets.
      const base = await plane().kubectl(['apply', '--dry-run=server', '-k', manifestsDir()]);
      assertOk(base, 'apply --dry-run=server -k manifests/');
      const expected = [
        /^namespace\/netpol-guard (configured|unchanged|created) \(server dry run\)$/m,
        /^serviceaccount\/netpol-guard \S+ \(server dry run\)$/m,
        /^clusterrole\.rbac\.authorization\.k8s\.io\/netpol-guard-sweeper \S+ \(server dry run\)$/m,
        /^clusterrolebinding\.rbac\.authorization\.k8s\.io\/netpol-guard-sweeper \S+ \(server dry run\)$/m,
        /^configmap\/netpol-guard-config \S+ \(server dry run\)$/m,
        /^service\/netpol-guard \S+ \(server dry run\)$/m,
        /^deployment\.apps\/netpol-guard \S+ \(server dry run\)$/m,
        /^poddisruptionbudget\.policy\/netpol-guard \S+ \(server dry run\)$/m,
        /^networkpolicy\.networking\.k8s\.io\/netpol-guard \S+ \(server dry run\)$/m,
        /^mutatingwebhookconfiguration\.admissionregistration\.k8s\.io\/netpol-guard \S+ \(server dry run\)$/m,
        /^validatingwebhookconfiguration\.admissionregistration\.k8s\.io\/netpol-guard \S+ \(server dry run\)$/m,
      ];
      for (const line of expected) assert.match(base.stdout, line);

      const overlay = fs.mkdtempSync(path.join(plane().tmpDir, 'overlay-'));
      fs.writeFileSync(
        path.join(overlay, 'kustomization.yaml'),
        YAML.stringify({
          apiVersion: 'kustomize.config.k8s.io/v1beta1',
          kind: 'Kustomization',
          resources: [path.relative(overlay, manifestsDir())],
          components: [path.relative(overlay, path.join(manifestsDir(), 'components', 'sweeper-cronjob'))],
        }),
      );
      const cron = await plane().kubectl(['apply', '--dry-run=server', '-k', overlay]);
      assertOk(cron, 'apply --dry-run=server -k <overlay with components/sweeper-cronjob>');
      assert.match(cron.stdout, /^cronjob\.batch\/netpol-guard-sweeper \S+ \(server dry run\)$/m);

      // A dry run changes nothing: the local registration is still in force.
      const hook = JSON.parse(await plane().kubectlOk(['get', 'validatingwebhookconfiguration', 'netpol-guard', '-o', 'json'])) as {
        webhooks: Array<{ clientConfig: { url?: string } }>;
      };
      assert.equal(hook.webhooks[0]?.clientConfig.url, `${ng().webhook.baseUrl}/validate`);
    });

    it('gives the sweeper ServiceAccount exactly the ClusterRole of manifests/rbac.yaml', async () => {
      const who = { token: ng().sweeperIdentity.token };
      const np = { resource: 'networkpolicies', group: 'networking.k8s.io' };
      for (const verb of ['get', 'list', 'watch', 'delete']) {
        assert.equal(await canI(plane(), who, { verb, ...np }), true, `sweeper should ${verb} networkpolicies cluster-wide`);
      }
      assert.equal(await canI(plane(), who, { verb: 'create', resource: 'events', namespace: 'default' }), true);
      // create: the leader opens the NetworkPolicy of an approved GrantRequest (the webhook still judges it).
      assert.equal(await canI(plane(), who, { verb: 'create', ...np, namespace: 'default' }), true, 'the controller creates approved grants');
      for (const verb of ['update', 'patch']) {
        assert.equal(await canI(plane(), who, { verb, ...np, namespace: 'default' }), false, `sweeper must not ${verb} networkpolicies`);
      }
      assert.equal(await canI(plane(), who, { verb: 'get', resource: 'secrets', namespace: 'default' }), false);
      assert.equal(await canI(plane(), who, { verb: 'delete', resource: 'events', namespace: 'default' }), false);
    });
  });

  describe('admission (enforce mode)', () => {
    it('rejects an over-broad policy from alice, naming every rule it breaks and how to fix it', async () => {
      const ns = await createTenantNamespace(plane(), 'e2e-broad');
      const r = await applyAs('alice', broadPolicy(ns, 'open-backend'));
      assert.notEqual(r.code, 0, `expected a denial, got: ${r.stdout}`);
      assert.match(r.stderr, /admission webhook "validate\.netpol-guard\.io" denied the request/);
      assert.match(r.stderr, new RegExp(`netpol-guard denied NetworkPolicy ${ns}/open-backend`));
      // `[rule-id] path reason; hint` for each problem.
      const expected: Array<[string, string]> = [
        ['ipblock-all-addresses', 'spec.ingress[0].from[0].ipBlock.cidr'],
        ['namespace-selector-all', 'spec.ingress[0].from[1].namespaceSelector'],
        ['port-any', 'spec.ingress[0].ports'],
        ['expiry-missing', 'metadata.annotations'],
        ['ticket-missing', `metadata.annotations["${KEYS.ticket}"]`],
      ];
      for (const [rule, field] of expected) {
        const line = r.stderr.split('\n').find((l) => l.includes(`[${rule}]`));
        assert.ok(line, `stderr names no [${rule}]:\n${r.stderr}`);
        assert.ok(line.includes(`[${rule}] ${field} `), `[${rule}] should point at ${field}: ${line}`);
        assert.match(line, /\S.*; \S.*\S/, `[${rule}] line has no fix hint: ${line}`);
      }
      assert.equal(await readPolicy(api(), ns, 'open-backend'), undefined, 'a denied policy was stored');
    });

    it('admits a narrow, ticketed grant from alice and stamps expiry, requester, grant time and the temporary label', async () => {
      const ns = await createTenantNamespace(plane(), 'e2e-grant');
      const start = Date.now();
      const r = await applyAs('alice', narrowPolicy(ns, 'frontend-to-backend', grantAnnotations(PREFIX, '2h', 'INC-1234')));
      const end = Date.now();
      assertOk(r, 'apply grant');
      assert.match(r.stdout, /networkpolicy\.networking\.k8s\.io\/frontend-to-backend created/);

      const stored = await mustReadPolicy(api(), ns, 'frontend-to-backend');
      const annotations = annotationsOf(stored);
      assert.equal(annotations[KEYS.requestedBy], 'alice');
      assert.equal(annotations[KEYS.ticket], 'INC-1234');
      assert.equal(annotations[KEYS.ttl], '2h');
      assert.equal(stored.metadata?.labels?.[KEYS.temporary], 'true');
      assertStampedBetween(timestampMs(stored, KEYS.grantedAt), start, end, 0, 'granted-at');
      assertStampedBetween(timestampMs(stored, KEYS.expiresAt), start, end, 2 * 3_600_000, 'expires-at');
      assert.equal(timestampMs(stored, KEYS.expiresAt) - timestampMs(stored, KEYS.grantedAt), 2 * 3_600_000);
    });

    it('refuses stamps forged by the requester and keeps its own', async () => {
      const ns = await createTenantNamespace(plane(), 'e2e-forge');
      const forged = { ...grantAnnotations(PREFIX, '1h'), [KEYS.requestedBy]: 'mallory', [KEYS.grantedAt]: '2020-01-01T00:00:00Z' };
      const start = Date.now();
      assertOk(await applyAs('alice', narrowPolicy(ns, 'forged', forged)), 'apply forged grant');
      const end = Date.now();
      const stored = await mustReadPolicy(api(), ns, 'forged');
      assert.equal(annotationsOf(stored)[KEYS.requestedBy], 'alice');
      assertStampedBetween(timestampMs(stored, KEYS.grantedAt), start, end, 0, 'granted-at');
    });

    it('admits a default-deny policy as it is, with no annotations or label', async () => {
      const ns = await createTenantNamespace(plane(), 'e2e-deny');
      const r = await applyAs('alice', defaultDenyPolicy(ns, 'default-deny'));
      assertOk(r, 'apply default-deny');
      assert.doesNotMatch(r.stderr, /Warning/);
      const stored = await mustReadPolicy(api(), ns, 'default-deny');
      assert.deepEqual(guardMetadata(stored), {});
    });

    it('leaves policies in kube-system (not sent) and kube-public (exempt by config) untouched, even over-broad ones', async () => {
      for (const ns of ['kube-system', 'kube-public']) {
        const name = `e2e-open-${Date.now()}`;
        const decisionsBefore = ng().webhook.decisions().length;
        const r = await applyAs('admin', broadPolicy(ns, name, { [KEYS.ttl]: '1h' }));
        assertOk(r, `apply over-broad policy in ${ns}`);
        const stored = await mustReadPolicy(api(), ns, name);
        assert.deepEqual(guardMetadata(stored), { [KEYS.ttl]: '1h' }, `${ns}: nothing may be stamped`);
        const seen = ng().webhook.decisions().slice(decisionsBefore).filter((d) => d['name'] === name);
        if (ns === 'kube-system') {
          assert.deepEqual(seen, [], 'kube-system is excluded by namespaceSelector and never reaches the webhook');
        } else {
          assert.ok(seen.length > 0 && seen.every((d) => d['disposition'] === 'exempt-namespace'), JSON.stringify(seen));
        }
        await plane().kubectlOk(['delete', 'networkpolicy', name, '-n', ns]);
      }
    });

    it('judges and stamps a server-side dry run but stores nothing', async () => {
      const ns = await createTenantNamespace(plane(), 'e2e-dryrun');
      const ok = await applyAs('alice', narrowPolicy(ns, 'dry-grant', grantAnnotations(PREFIX, '1h')), ['--dry-run=server', '-o', 'json']);
      assertOk(ok, 'apply --dry-run=server grant');
      const returned = JSON.parse(ok.stdout) as V1NetworkPolicy;
      assert.equal(annotationsOf(returned)[KEYS.requestedBy], 'alice');
      assert.ok(annotationsOf(returned)[KEYS.expiresAt], 'the dry run returns the stamped object');
      assert.equal(returned.metadata?.labels?.[KEYS.temporary], 'true');
      assert.equal(await readPolicy(api(), ns, 'dry-grant'), undefined, 'a dry run stored the policy');

      const denied = await applyAs('alice', broadPolicy(ns, 'dry-open'), ['--dry-run=server']);
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr, /\[ipblock-all-addresses\]/);
      assert.equal(await readPolicy(api(), ns, 'dry-open'), undefined);
    });

    it('keeps expires-at when the same manifest is re-applied or replaced, moves it for a new ttl, and denies a ttl above maxTTL', async () => {
      const ns = await createTenantNamespace(plane(), 'e2e-reapply');
      const name = 'reapplied';
      const first = narrowPolicy(ns, name, grantAnnotations(PREFIX, '1h'));
      assertOk(await applyAs('alice', first), 'first apply');
      const original = await mustReadPolicy(api(), ns, name);
      const expiresAt = timestampMs(original, KEYS.expiresAt);
      const grantedAt = timestampMs(original, KEYS.grantedAt);

      // A recomputed expiry would differ now: stamps have one-second precision.
      await sleep(1_100);
      assertOk(await applyAs('alice', first), 're-apply');
      assert.equal(timestampMs(await mustReadPolicy(api(), ns, name), KEYS.expiresAt), expiresAt, 're-apply moved expires-at');

      // replace sends the manifest as is, without the stamps: the webhook must restore them.
      const replaced = await plane().kubectl(['replace', '-f', '-'], { asUser: 'alice', stdin: first });
      assertOk(replaced, 'replace');
      const afterReplace = await mustReadPolicy(api(), ns, name);
      assert.equal(timestampMs(afterReplace, KEYS.expiresAt), expiresAt, 'replace moved expires-at');
      assert.equal(timestampMs(afterReplace, KEYS.grantedAt), grantedAt);
      assert.equal(annotationsOf(afterReplace)[KEYS.requestedBy], 'alice');
      assert.equal(afterReplace.metadata?.labels?.[KEYS.temporary], 'true');

      const start = Date.now();
      assertOk(await applyAs('alice', narrowPolicy(ns, name, grantAnnotations(PREFIX, '3h'))), 'apply with ttl 3h');
      const end = Date.now();
      const extended = await mustReadPolicy(api(), ns, name);
      const newExpiry = timestampMs(extended, KEYS.expiresAt);
      assertStampedBetween(newExpiry, start, end, 3 * 3_600_000, 'extended expires-at');
      assert.equal(timestampMs(extended, KEYS.grantedAt), grantedAt, 'an extension keeps the original grant time');

      const tooLong = await applyAs('alice', narrowPolicy(ns, name, grantAnnotations(PREFIX, `${MAX_TTL_HOURS + 1}h`)));
      assert.notEqual(tooLong.code, 0, `a ttl above maxTTL was admitted: ${tooLong.stdout}`);
      assert.match(tooLong.stderr, /\[expiry-too-far\]/);
      assert.equal(timestampMs(await mustReadPolicy(api(), ns, name), KEYS.expiresAt), newExpiry, 'a denied update changed the expiry');
    });

    it('admits a permanent policy from a permanent principal without an expiry', async () => {
      const ns = await createTenantNamespace(plane(), 'e2e-platform');
      assertOk(await applyAs('platform', narrowPolicy(ns, 'platform-allow')), 'platform apply');
      const stored = await mustReadPolicy(api(), ns, 'platform-allow');
      assert.equal(annotationsOf(stored)[KEYS.expiresAt], undefined);
      assert.equal(stored.metadata?.labels?.[KEYS.temporary], undefined);
      assert.equal(annotationsOf(stored)[KEYS.requestedBy], 'platform');
    });
  });

  describe('warn mode', () => {
    before(async () => {
      await ng().webhook.restart(CONFIG_WARN);
    });
    after(async () => {
      await ng().webhook.restart(CONFIG_ENFORCE);
    });

    it('admits an over-broad policy and kubectl prints every finding as a warning', async () => {
      const ns = await createTenantNamespace(plane(), 'e2e-warn');
      const r = await applyAs('alice', broadPolicy(ns, 'open-backend'));
      assertOk(r, 'apply over-broad policy in warn mode');
      for (const rule of ['ipblock-all-addresses', 'namespace-selector-all', 'port-any', 'expiry-missing', 'ticket-missing']) {
        assert.match(r.stderr, new RegExp(`^Warning: \\[${rule}\\] \\S+ .+; .+$`, 'm'), `no warning for ${rule}:\n${r.stderr}`);
      }
      assert.ok(await readPolicy(api(), ns, 'open-backend'), 'the policy was not stored');
    });
  });

  describe('webhook outage (failurePolicy Fail)', () => {
    it('refuses grants while the webhook is down, still allows deletes, and resumes after a restart', async () => {
      const ns = await createTenantNamespace(plane(), 'e2e-outage');
      assertOk(await applyAs('alice', narrowPolicy(ns, 'before-outage', grantAnnotations(PREFIX, '1h'))), 'apply before outage');
      // Enforce mode is back after the warn-mode tests.
      const broad = await applyAs('alice', broadPolicy(ns, 'open'));
      assert.notEqual(broad.code, 0, 'enforce mode did not come back after the warn-mode restart');

      await ng().webhook.kill();
      try {
        const refused = await applyAs('alice', narrowPolicy(ns, 'during-outage', grantAnnotations(PREFIX, '1h')));
        assert.notEqual(refused.code, 0, `admitted while the webhook was down: ${refused.stdout}`);
        assert.match(refused.stderr, /failed calling webhook "(mutate|validate)\.netpol-guard\.io"/);
        assert.equal(await readPolicy(api(), ns, 'during-outage'), undefined, 'stored while the webhook was down');

        const deleted = await plane().kubectl(['delete', 'networkpolicy', 'before-outage', '-n', ns], { asUser: 'alice' });
        assertOk(deleted, 'delete while the webhook is down');
        assert.equal(await readPolicy(api(), ns, 'before-outage'), undefined);
      } finally {
        await ng().webhook.start();
      }

      assertOk(await applyAs('alice', narrowPolicy(ns, 'during-outage', grantAnnotations(PREFIX, '1h'))), 'apply after restart');
      const stored = await mustReadPolicy(api(), ns, 'during-outage');
      assert.equal(annotationsOf(stored)[KEYS.requestedBy], 'alice');
      assert.ok(annotationsOf(stored)[KEYS.expiresAt]);
    });
  });

  describe('sweeper, watch mode', () => {
    let sweeper: SweeperProcess | undefined;
    let ns = '';

    before(async () => {
      sweeper = await ng().startSweeper();
      ns = await createTenantNamespace(plane(), 'e2e-sweep-watch');
      // Policies that must outlive every expiry below.
      assertOk(await applyAs('platform', narrowPolicy(ns, 'permanent')), 'apply permanent');
      assertOk(await applyAs('alice', defaultDenyPolicy(ns, 'default-deny')), 'apply default-deny');
      assertOk(await applyAs('alice', narrowPolicy(ns, 'long-grant', grantAnnotations(PREFIX, '1h'))), 'apply long grant');
    });
    after(async () => {
      await sweeper?.stop();
    });

    const sweeperTail = (): string => (sweeper ? fs.readFileSync(sweeper.logFile, 'utf8').split('\n').slice(-20).join('\n') : '');

    it('keeps a grant whose ttl is extended just before it expires', async () => {
      assertOk(await applyAs('alice', narrowPolicy(ns, 'extended', grantAnnotations(PREFIX, '6s'))), 'apply 6s grant');
      const oldExpiry = timestampMs(await mustReadPolicy(api(), ns, 'extended'), KEYS.expiresAt);

      await sleepUntil(oldExpiry - 2_500);
      const start = Date.now();
      assertOk(await applyAs('alice', narrowPolicy(ns, 'extended', grantAnnotations(PREFIX, '1m'))), 'extend to 1m');
      const end = Date.now();
      assert.ok(end < oldExpiry, `the extension landed ${end - oldExpiry} ms after the old expiry; cannot test "just before"`);
      const newExpiry = timestampMs(await mustReadPolicy(api(), ns, 'extended'), KEYS.expiresAt);
      assertStampedBetween(newExpiry, start, end, 60_000, 'extended expires-at');

      await sleepUntil(oldExpiry + MAX_EXPIRY_LAG_MS + 1_000);
      const survivor = await readPolicy(api(), ns, 'extended');
      assert.ok(survivor, `the extended grant was deleted at its old expiry:\n${sweeperTail()}`);
      assert.equal(timestampMs(survivor, KEYS.expiresAt), newExpiry);
    });

    it(`deletes an expired grant within ${MAX_EXPIRY_LAG_MS} ms of its expiry and records an Expired event`, async () => {
      assertOk(await applyAs('alice', narrowPolicy(ns, 'short', grantAnnotations(PREFIX, '5s', 'CHG-42'))), 'apply 5s grant');
      const created = await mustReadPolicy(api(), ns, 'short');
      const expiry = timestampMs(created, KEYS.expiresAt);

      let goneAt: number | undefined;
      while (goneAt === undefined) {
        const present = await readPolicy(api(), ns, 'short');
        const now = Date.now();
        if (present === undefined) goneAt = now;
        else if (now > expiry + 10_000) assert.fail(`grant still present 10 s after its expiry:\n${sweeperTail()}`);
        else await sleep(100);
      }
      const lagMs = goneAt - expiry;
      process.stderr.write(`[e2e] watch-mode sweeper removed the grant ${lagMs} ms after its expiry\n`);
      assert.ok(lagMs >= 0, `deleted ${-lagMs} ms before its expiry`);
      assert.ok(lagMs <= MAX_EXPIRY_LAG_MS, `deleted ${lagMs} ms after its expiry (limit ${MAX_EXPIRY_LAG_MS} ms)`);

      let events = await eventsFor(api(), ns, 'short', 'Expired');
      for (let i = 0; events.length === 0 && i < 50; i++) {
        await sleep(100);
        events = await eventsFor(api(), ns, 'short', 'Expired');
      }
      assert.equal(events.length, 1, `expected one Expired event:\n${sweeperTail()}`);
      const event = events[0]!;
      assert.equal(event.involvedObject.uid, created.metadata?.uid);
      assert.equal(event.involvedObject.kind, 'NetworkPolicy');
      assert.equal(event.source?.component, 'netpol-guard-sweeper');
      assert.match(event.message ?? '', new RegExp(`expired at ${annotationsOf(created)[KEYS.expiresAt]}`));
      assert.match(event.message ?? '', /CHG-42/);
    });

    it('never deletes unlabelled policies or grants that have not expired', async () => {
      const permanent = await mustReadPolicy(api(), ns, 'permanent');
      assert.equal(permanent.metadata?.labels?.[KEYS.temporary], undefined);
      assert.deepEqual(guardMetadata(await mustReadPolicy(api(), ns, 'default-deny')), {});
      const long = await mustReadPolicy(api(), ns, 'long-grant');
      assert.equal(long.metadata?.labels?.[KEYS.temporary], 'true');
      for (const name of ['permanent', 'default-deny', 'long-grant']) {
        assert.deepEqual(await eventsFor(api(), ns, name, 'Expired'), [], `${name} has an Expired event`);
      }
      assert.equal(sweeper?.process.hasExited(), false, `the sweeper exited:\n${sweeperTail()}`);
    });
  });

  describe('sweeper, once mode (as the CronJob runs it)', () => {
    let ns = '';
    let expiredUid: string | undefined;

    before(async () => {
      // No watch-mode sweeper runs now, so an expired grant stays until `sweep --once`.
      ns = await createTenantNamespace(plane(), 'e2e-sweep-once');
      assertOk(await applyAs('alice', narrowPolicy(ns, 'expired', grantAnnotations(PREFIX, '3s'))), 'apply 3s grant');
      assertOk(await applyAs('alice', narrowPolicy(ns, 'live', grantAnnotations(PREFIX, '1h'))), 'apply 1h grant');
      assertOk(await applyAs('platform', narrowPolicy(ns, 'permanent')), 'apply permanent');
      const expired = await mustReadPolicy(api(), ns, 'expired');
      expiredUid = expired.metadata?.uid;
      await sleepUntil(timestampMs(expired, KEYS.expiresAt) + 1_000);
    });

    it('with --dry-run reports the expired grant and deletes nothing', async () => {
      const r = await ng().sweepOnce(['--dry-run']);
      assert.equal(r.code, 0, `sweep --once --dry-run exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
      const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as JsonObject);
      assert.ok(
        lines.some((l) => l['msg'] === 'grant expired' && l['name'] === 'expired' && l['namespace'] === ns && l['dryRun'] === true),
        `no dry-run report for ${ns}/expired:\n${r.stdout}`,
      );
      assert.ok(await readPolicy(api(), ns, 'expired'), 'a dry run deleted the grant');
    });

    it('deletes the expired grant, keeps the others, and records an Expired event', async () => {
      const r = await ng().sweepOnce();
      assert.equal(r.code, 0, `sweep --once exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
      assert.equal(await readPolicy(api(), ns, 'expired'), undefined, `the expired grant survived sweep --once:\n${r.stdout}`);
      assert.ok(await readPolicy(api(), ns, 'live'), 'the live grant was deleted');
      assert.ok(await readPolicy(api(), ns, 'permanent'), 'the permanent policy was deleted');
      const events = await eventsFor(api(), ns, 'expired', 'Expired');
      assert.equal(events.length, 1);
      assert.equal(events[0]?.involvedObject.uid, expiredUid);
    });
  });
});
