import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1ConfigMap, V1CronJob, V1Deployment, V1MutatingWebhookConfiguration, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { KUBECTL_SKIP, MANIFESTS_DIR, baseObjects, findObject, kustomize, type KubeObject } from './support.js';

/**
 * Renders the base and throwaway overlays with the real kustomize (kubectl's). Overlays must sit
 * outside the base's directory tree (kustomize refuses a root inside another), so they go in a
 * temp dir next to a symlink to manifests/.
 */
describe('kubectl kustomize', { skip: KUBECTL_SKIP }, () => {
  let workDir = '';
  const overlay = (name: string, components: string[]): string => {
    const dir = path.join(workDir, name);
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'kustomization.yaml'),
      ['resources:', '  - ../manifests', 'components:', ...components.map((c) => `  - ../manifests/components/${c}`), ''].join('\n'),
    );
    return dir;
  };
  const names = (objects: KubeObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();

  before(() => {
    workDir = mkdtempSync(path.join(tmpdir(), 'netpol-guard-kustomize-'));
    symlinkSync(MANIFESTS_DIR, path.join(workDir, 'manifests'), 'dir');
  });
  after(() => {
    if (workDir !== '') rmSync(workDir, { recursive: true, force: true });
  });

  it('renders the base: every listed resource plus the config ConfigMap under its plain name', () => {
    const rendered = kustomize(MANIFESTS_DIR);
    const expected = [...names(baseObjects()), 'ConfigMap/netpol-guard-config'].sort();
    assert.deepEqual(names(rendered), expected);
    const configMap = findObject<V1ConfigMap>(rendered, 'ConfigMap', 'netpol-guard-config');
    assert.equal(configMap.data?.['config.yaml'], readFileSync(path.join(MANIFESTS_DIR, 'config.yaml'), 'utf8'));
  });

  it('sweeper-cronjob component: the sidecar is gone (the webhook keeps its token for the view), the CronJob is added', () => {
    const rendered = kustomize(overlay('cronjob', ['sweeper-cronjob']));
    const spec = findObject<V1Deployment>(rendered, 'Deployment', 'netpol-guard').spec!.template.spec!;
    assert.deepEqual(spec.containers.map((c) => c.name), ['webhook']);
    const token = (spec.volumes ?? []).filter((v) => v.projected !== undefined).map((v) => v.name);
    assert.deepEqual(token, ['api-token'], 'only the token the webhook\'s cluster view mounts');
    assert.ok(spec.containers[0]!.volumeMounts?.some((m) => m.name === 'api-token'));
    findObject<V1CronJob>(rendered, 'CronJob', 'netpol-guard-sweeper');
    assert.deepEqual(names(rendered), [...names(baseObjects()), 'ConfigMap/netpol-guard-config', 'CronJob/netpol-guard-sweeper'].sort());
  });

  it('cert-manager component: issuers and certificates added, both webhook configurations annotated', () => {
    const rendered = kustomize(overlay('cert-manager', ['cert-manager']));
    assert.equal(rendered.filter((o) => o.kind === 'Certificate').length, 2);
    assert.equal(rendered.filter((o) => o.kind === 'Issuer').length, 2);
    const mutating = findObject<V1MutatingWebhookConfiguration>(rendered, 'MutatingWebhookConfiguration', 'netpol-guard');
    const validating = findObject<V1ValidatingWebhookConfiguration>(rendered, 'ValidatingWebhookConfiguration', 'netpol-guard');
    for (const config of [mutating, validating]) {
      assert.equal(config.metadata?.annotations?.['cert-manager.io/inject-ca-from'], 'netpol-guard/netpol-guard-serving');
      // The annotation patch must not have replaced the webhook list.
      assert.equal(config.webhooks?.length, 1);
      assert.equal(config.webhooks?.[0]?.failurePolicy, 'Fail');
    }
  });

  it('both components compose', () => {
    const rendered = kustomize(overlay('both', ['sweeper-cronjob', 'cert-manager']));
    findObject(rendered, 'CronJob', 'netpol-guard-sweeper');
    findObject(rendered, 'Certificate', 'netpol-guard-serving');
  });
});
