import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_LEASE_NAME } from '../../../src/controller/electionSettings.js';
import {
  CONFIG_KEY,
  CONFIG_MAP,
  CONFIGURATION_NAME,
  DEFAULT_INSTALL_NAMESPACE,
  FORBIDDEN_PERMISSIONS,
  LEASE_NAME,
  SERVICE_ACCOUNT,
  SERVICE_NAME,
  SHIPPED_PERMISSIONS,
  SHIPPED_WEBHOOKS,
  shippedExcludedNamespaces,
} from '../../../src/doctor/shipped.js';
import { REPO_ROOT } from '../../fixtures/paths.js';

/** doctor's copy of the shipped installation equals manifests/, so the two cannot drift. */

interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string };
  [key: string]: unknown;
}

const manifest = (file: string): Doc[] => parseAllDocuments(readFileSync(path.join(REPO_ROOT, 'manifests', file), 'utf8')).map((d) => d.toJS() as Doc);

describe('doctor: the shipped installation', () => {
  it('webhooks as in manifests/webhooks.yaml', () => {
    const docs = manifest('webhooks.yaml');
    for (const shipped of SHIPPED_WEBHOOKS) {
      const config = docs.find((d) => d.kind === shipped.kind)!;
      assert.equal(config.metadata.name, CONFIGURATION_NAME);
      const webhook = (config['webhooks'] as Record<string, unknown>[]).find((w) => w['name'] === shipped.name) as {
        failurePolicy: string; timeoutSeconds: number; sideEffects: string; clientConfig: { service: { name: string; namespace: string; path: string } };
        rules: { operations: string[]; resources: string[] }[]; namespaceSelector: unknown;
      };
      assert.ok(webhook, shipped.name);
      assert.equal(webhook.failurePolicy, shipped.failurePolicy);
      assert.equal(webhook.timeoutSeconds, shipped.timeoutSeconds);
      assert.equal(webhook.sideEffects, shipped.sideEffects);
      assert.equal(webhook.clientConfig.service.path, shipped.path);
      assert.equal(webhook.clientConfig.service.name, SERVICE_NAME);
      assert.equal(webhook.clientConfig.service.namespace, DEFAULT_INSTALL_NAMESPACE);
      assert.deepEqual(webhook.rules.filter((r) => r.resources.includes('networkpolicies')).flatMap((r) => r.operations), [...shipped.operations]);
      // The same webhook also judges GrantRequests and their status (approvals), with the same operations.
      assert.deepEqual(
        webhook.rules.filter((r) => !r.resources.includes('networkpolicies')).map((r) => [r.resources, r.operations]),
        [[['grantrequests', 'grantrequests/status'], [...shipped.operations]]],
      );
      assert.deepEqual(webhook.namespaceSelector, {
        matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: shippedExcludedNamespaces(DEFAULT_INSTALL_NAMESPACE) }],
      });
    }
  });

  it('permissions as in manifests/rbac.yaml, bound to the shipped ServiceAccount', () => {
    const docs = manifest('rbac.yaml');
    const expand = (kind: string, scope: 'cluster' | 'install') =>
      (docs.find((d) => d.kind === kind)!['rules'] as { apiGroups: string[]; resources: string[]; verbs: string[] }[]).flatMap((r) =>
        r.apiGroups.flatMap((group) => r.resources.flatMap((resource) => r.verbs.map((verb) => `${verb} ${group}/${resource} ${scope}`))),
      );
    const fromManifest = [...expand('ClusterRole', 'cluster'), ...expand('Role', 'install')].sort();
    assert.deepEqual(SHIPPED_PERMISSIONS.map((p) => `${p.verb} ${p.group}/${p.resource} ${p.scope}`).sort(), fromManifest);
    for (const forbidden of FORBIDDEN_PERMISSIONS) assert.ok(!fromManifest.includes(`${forbidden.verb} ${forbidden.group}/${forbidden.resource} cluster`), 'a forbidden permission is not shipped');
    for (const binding of docs.filter((d) => d.kind.endsWith('Binding'))) {
      assert.deepEqual(binding['subjects'], [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: DEFAULT_INSTALL_NAMESPACE }]);
    }
  });

  it('names: the ConfigMap, its key, the Lease', () => {
    const kustomization = manifest('kustomization.yaml')[0] as unknown as { configMapGenerator: { name: string; files: string[] }[] };
    assert.equal(kustomization.configMapGenerator[0]!.name, CONFIG_MAP);
    assert.deepEqual(kustomization.configMapGenerator[0]!.files, [CONFIG_KEY]);
    assert.equal(LEASE_NAME, DEFAULT_LEASE_NAME);
  });
});
