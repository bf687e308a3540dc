import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadKubeContext } from '../../../src/kube/kubeConfig.js';

const tmp = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function kubeconfig(name: string, context: Record<string, unknown>, currentContext = 'ctx'): string {
  const file = join(tmp, name);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: 'https://api.example.test:6443' } }],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', ...context } }],
      'current-context': currentContext,
    }),
  );
  return file;
}

describe('loadKubeContext (the one loader of sweep, grant, list, extend and revoke)', () => {
  it('reads the server and the context namespace', () => {
    const r = loadKubeContext(kubeconfig('ns.json', { namespace: 'payments' }));
    assert.ok(r.ok);
    assert.equal(r.context.server, 'https://api.example.test:6443');
    assert.equal(r.context.namespace, 'payments');
  });

  it('defaults the namespace to "default", as kubectl does', () => {
    const r = loadKubeContext(kubeconfig('plain.json', {}));
    assert.ok(r.ok);
    assert.equal(r.context.namespace, 'default');
  });

  it('names an unreadable file in both wordings the commands have printed', () => {
    const missing = join(tmp, 'missing');
    const r = loadKubeContext(missing);
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error : '', new RegExp(`cannot load Kubernetes client configuration from ${missing}`));
    assert.match(!r.ok ? r.error : '', new RegExp(`cannot load the kubeconfig ${missing}`));
  });

  it('refuses a kubeconfig with no current cluster', () => {
    const r = loadKubeContext(kubeconfig('nocluster.json', {}, 'nowhere'));
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error : '', /no current cluster/);
  });
});
