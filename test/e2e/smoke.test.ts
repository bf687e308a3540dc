// Smoke test for the e2e harness: a real etcd + kube-apiserver built from the
// pinned Go modules, RBAC, static tokens and ServiceAccount tokens.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startControlPlane, type ControlPlane } from './harness/controlPlane.js';

const NS = 'smoke-netpol';

const policy = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-frontend
  namespace: ${NS}
spec:
  podSelector:
    matchLabels:
      app: backend
  policyTypes: [Ingress]
  ingress:
    - from:
        - podSelector:
            matchLabels:
              app: frontend
      ports:
        - protocol: TCP
          port: 8080
`;

describe('e2e control plane smoke', () => {
  let cp: ControlPlane | undefined;

  before(async () => {
    cp = await startControlPlane();
  });

  after(async () => {
    await cp?.stop();
  });

  const plane = (): ControlPlane => {
    assert.ok(cp, 'control plane did not start');
    return cp;
  };

  it('serves /version for the pinned Kubernetes release', async () => {
    const r = await plane().request('/version');
    assert.equal(r.status, 200, r.body);
    const v = r.json as { gitVersion: string; major: string; minor: string; gitTreeState: string };
    assert.match(v.gitVersion, /^v1\.(37|36)\.\d+$/);
    assert.equal(`v${v.major}.${v.minor}`, v.gitVersion.split('.').slice(0, 2).join('.'));
    assert.equal(v.gitTreeState, 'clean');

    const kv = JSON.parse(await plane().kubectlOk(['version', '-o', 'json'])) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    assert.equal(kv.serverVersion.gitVersion, v.gitVersion);
    assert.equal(kv.clientVersion.gitVersion, v.gitVersion);
  });

  it('lets the admin apply and read back a NetworkPolicy', async () => {
    await plane().kubectlOk(['create', 'namespace', NS]);
    const applied = await plane().kubectlOk(['apply', '-f', '-'], { stdin: policy });
    assert.match(applied, /networkpolicy\.networking\.k8s\.io\/allow-frontend (created|configured)/);

    const got = JSON.parse(
      await plane().kubectlOk(['get', 'networkpolicies.networking.k8s.io', 'allow-frontend', '-n', NS, '-o', 'json']),
    ) as {
      apiVersion: string;
      spec: { podSelector: { matchLabels: Record<string, string> }; ingress: Array<{ ports: Array<{ port: number }> }> };
    };
    assert.equal(got.apiVersion, 'networking.k8s.io/v1');
    assert.deepEqual(got.spec.podSelector.matchLabels, { app: 'backend' });
    assert.equal(got.spec.ingress[0]?.ports[0]?.port, 8080);
  });

  it('forbids alice (group developers, no RBAC grants) from creating a NetworkPolicy', async () => {
    const whoami = JSON.parse(await plane().kubectlOk(['auth', 'whoami', '-o', 'json'], { asUser: 'alice' })) as {
      status: { userInfo: { username: string; groups: string[] } };
    };
    assert.equal(whoami.status.userInfo.username, 'alice');
    assert.ok(whoami.status.userInfo.groups.includes('developers'));

    const r = await plane().kubectl(['apply', '-f', '-'], {
      asUser: 'alice',
      stdin: policy.replace('allow-frontend', 'alice-policy'),
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /forbidden/i);
    assert.match(r.stderr, /User "alice" cannot/);

    const can = await plane().kubectl(['auth', 'can-i', 'create', 'networkpolicies.networking.k8s.io', '-n', NS], {
      asUser: 'alice',
    });
    assert.equal(can.stdout.trim(), 'no');
  });

  it('issues ServiceAccount tokens that authenticate and are subject to RBAC', async () => {
    const token = await plane().createServiceAccountToken(NS, 'smoke-sa');
    assert.equal(token.split('.').length, 3, 'expected a JWT');

    const whoami = JSON.parse(await plane().kubectlOk(['auth', 'whoami', '-o', 'json'], { token })) as {
      status: { userInfo: { username: string; groups: string[] } };
    };
    assert.equal(whoami.status.userInfo.username, `system:serviceaccount:${NS}:smoke-sa`);
    assert.ok(whoami.status.userInfo.groups.includes('system:serviceaccounts'));

    const denied = await plane().kubectl(['get', 'networkpolicies', '-n', NS], { token });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /forbidden/i);

    await plane().kubectlOk(['create', 'role', 'np-reader', '-n', NS, '--verb=get,list', '--resource=networkpolicies']);
    await plane().kubectlOk([
      'create',
      'rolebinding',
      'np-reader',
      '-n',
      NS,
      '--role=np-reader',
      `--serviceaccount=${NS}:smoke-sa`,
    ]);
    // The RBAC authorizer reads from informer caches: allow a moment for the binding to land.
    let list = '';
    for (let i = 0; ; i++) {
      const r = await plane().kubectl(['get', 'networkpolicies', '-n', NS, '-o', 'name'], { token });
      if (r.code === 0) {
        list = r.stdout;
        break;
      }
      if (i >= 40) assert.fail(`service account still denied after binding: ${r.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.match(list, /networkpolicy\.networking\.k8s\.io\/allow-frontend/);

    // Raw API with the same bearer token.
    const raw = await plane().request(`/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies`, { token });
    assert.equal(raw.status, 200, raw.body);
  });
});
