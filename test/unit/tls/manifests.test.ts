import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import {
  caBundle,
  CA_PATCH_FILE,
  MUTATING_WEBHOOK_NAME,
  parseImageReference,
  renderOverlay,
  renderTlsSecret,
  renderWebhookCaPatch,
  SECRET_FILE,
  TLS_SECRET_NAME,
  VALIDATING_WEBHOOK_NAME,
  WEBHOOK_CONFIGURATION_NAME,
} from '../../../src/tls/manifests.js';

describe('image references for the overlay', () => {
  it('splits name, tag and digest; a registry port is not a tag', () => {
    assert.deepEqual(parseImageReference('netpol-guard:0.1.0'), { name: 'netpol-guard', newName: 'netpol-guard', newTag: '0.1.0' });
    assert.deepEqual(parseImageReference('reg.example:5000/a/netpol-guard'), { name: 'netpol-guard', newName: 'reg.example:5000/a/netpol-guard' });
    assert.deepEqual(parseImageReference('reg.example:5000/a/netpol-guard:1.2'), { name: 'netpol-guard', newName: 'reg.example:5000/a/netpol-guard', newTag: '1.2' });
    const digest = `sha256:${'ab'.repeat(32)}`;
    assert.deepEqual(parseImageReference(`reg.example/netpol-guard@${digest}`), { name: 'netpol-guard', newName: 'reg.example/netpol-guard', digest });
  });

  it('rejects malformed references with a reason', () => {
    for (const bad of ['', 'has space:1', 'x@sha256:short', 'x:bad/tag!', 'Upper/Case', 'name:tag:extra', '/leading']) {
      assert.equal(typeof parseImageReference(bad), 'string', bad);
    }
  });
});

const PEM = (label: string) => `-----BEGIN CERTIFICATE-----\n${label}\n-----END CERTIFICATE-----`;

describe('the Secret, caBundle patch and overlay renderers', () => {
  it('the Secret is kubernetes.io/tls in the namespace, each key base64 of its PEM, with a header warning about the key', () => {
    const text = renderTlsSecret({ namespace: 'guard-ns', serving: { cert: PEM('leaf'), key: 'KEY\n' }, caCert: PEM('ca') });
    assert.match(text, /^# Written by `netpol-guard certs`/);
    assert.match(text, /keep it out of version control/);
    const secret = parse(text) as { kind: string; type: string; metadata: { name: string; namespace: string }; data: Record<string, string> };
    assert.equal(secret.kind, 'Secret');
    assert.equal(secret.type, 'kubernetes.io/tls');
    assert.deepEqual(secret.metadata.name, TLS_SECRET_NAME);
    assert.equal(secret.metadata.namespace, 'guard-ns');
    const decoded = Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    assert.deepEqual(decoded, { 'tls.crt': PEM('leaf'), 'tls.key': 'KEY\n', 'ca.crt': PEM('ca') });
  });

  it('caBundle concatenates the CAs, each ending in a newline, then base64', () => {
    const decoded = Buffer.from(caBundle([PEM('new'), `${PEM('old')}\n`]), 'base64').toString('utf8');
    assert.equal(decoded, `${PEM('new')}\n${PEM('old')}\n`);
    assert.equal(caBundle([]), '');
  });

  it('the patch sets caBundle on both webhook configurations by the names the base uses, and nothing else', () => {
    const docs = parseAllDocuments(renderWebhookCaPatch('QlVORExF')).map((d) => d.toJS() as Record<string, unknown>);
    assert.deepEqual(docs, [
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingWebhookConfiguration',
        metadata: { name: WEBHOOK_CONFIGURATION_NAME },
        webhooks: [{ name: MUTATING_WEBHOOK_NAME, clientConfig: { caBundle: 'QlVORExF' } }],
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name: WEBHOOK_CONFIGURATION_NAME },
        webhooks: [{ name: VALIDATING_WEBHOOK_NAME, clientConfig: { caBundle: 'QlVORExF' } }],
      },
    ]);
  });

  it('keeps a long caBundle on one line', () => {
    const long = 'A'.repeat(5000);
    assert.ok(renderWebhookCaPatch(long).split('\n').some((line) => line.endsWith(`caBundle: ${long}`)));
  });

  it('the overlay lists the base and the Secret, patches with the caBundle file, and adds components and image only when given', () => {
    const plain = parse(renderOverlay({ base: '../manifests', components: [], image: undefined })) as Record<string, unknown>;
    assert.deepEqual(plain, {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: ['../manifests', SECRET_FILE],
      patches: [{ path: CA_PATCH_FILE }],
    });
    const image = parseImageReference('reg.example/netpol-guard:1.0');
    assert.ok(typeof image !== 'string');
    const full = parse(renderOverlay({ base: '../manifests', components: ['../manifests/components/sweeper-cronjob'], image })) as Record<string, unknown>;
    assert.deepEqual(full['components'], ['../manifests/components/sweeper-cronjob']);
    assert.deepEqual(full['images'], [{ name: 'netpol-guard', newName: 'reg.example/netpol-guard', newTag: '1.0' }]);
  });
});
