import { Document } from 'yaml';
import type { KeyPairPem } from './certs.js';

/**
 * The Kubernetes objects that install the webhook's certificate, as YAML: the TLS Secret, the
 * caBundle patch for both webhook configurations, and the kustomize overlay tying them to the
 * base manifests. Pure renderers; `netpol-guard certs` decides what to write where.
 */

/** Names the base manifests use; the caBundle patch must match them to merge, not append. */
export const TLS_SECRET_NAME = 'netpol-guard-tls';
export const WEBHOOK_CONFIGURATION_NAME = 'netpol-guard';
export const MUTATING_WEBHOOK_NAME = 'mutate.netpol-guard.io';
export const VALIDATING_WEBHOOK_NAME = 'validate.netpol-guard.io';
/** The image name the base's containers use, which a kustomize `images:` entry rewrites. */
export const IMAGE_NAME = 'netpol-guard';

export const SECRET_FILE = 'secret.yaml';
export const CA_PATCH_FILE = 'webhook-ca-patch.yaml';
export const OVERLAY_FILE = 'kustomization.yaml';
/** A kustomize `images:` entry for the base's image name. */
export interface ImageOverride {
  name: string;
  newName: string;
  newTag?: string;
  digest?: string;
}

/** Optional `host[:port]/`, then lowercase path components (the reference grammar, simplified). */
const IMAGE_REPOSITORY = /^([A-Za-z0-9.-]+(:[0-9]+)?\/)?[a-z0-9]+([._-]+[a-z0-9]+)*(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*$/;

/** `repo/name:tag`, `repo/name@sha256:…` or `repo/name` → an images: entry; a string is an error. */
export function parseImageReference(ref: string): ImageOverride | string {
  let repository = ref;
  let newTag: string | undefined;
  let digest: string | undefined;
  const at = ref.indexOf('@');
  if (at >= 0) {
    repository = ref.slice(0, at);
    digest = ref.slice(at + 1);
    if (!/^[a-z0-9]+:[a-f0-9]{32,}$/.test(digest)) return `"${digest}" is not a digest (algorithm:hex)`;
  } else {
    // A ':' after the last '/' starts a tag; one before it is a registry port.
    const colon = ref.lastIndexOf(':');
    if (colon > ref.lastIndexOf('/')) {
      repository = ref.slice(0, colon);
      newTag = ref.slice(colon + 1);
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(newTag)) return `"${newTag}" is not a valid tag`;
    }
  }
  if (!IMAGE_REPOSITORY.test(repository)) return `"${ref}" is not an image reference (registry/name[:tag] or name@sha256:digest)`;
  return { name: IMAGE_NAME, newName: repository, ...(newTag === undefined ? {} : { newTag }), ...(digest === undefined ? {} : { digest }) };
}

const LABELS = { 'app.kubernetes.io/name': 'netpol-guard', 'app.kubernetes.io/part-of': 'netpol-guard' };

function toYaml(header: string, docs: unknown[]): string {
  return docs
    .map((value, index) => {
      const doc = new Document(value);
      if (index === 0) doc.commentBefore = header;
      // Base64 has no spaces, but keep every value on one line whatever its content.
      return doc.toString({ lineWidth: 0 });
    })
    .join('---\n');
}

const GENERATED = ' Written by `netpol-guard certs`; re-running it rewrites this file.';

export interface TlsSecretInput {
  namespace: string;
  serving: KeyPairPem;
  caCert: string;
}

/** The kubernetes.io/tls Secret the Deployment mounts, with the CA alongside as ca.crt. */
export function renderTlsSecret(input: TlsSecretInput): string {
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  return toYaml(`${GENERATED}\n Holds a private key: keep it out of version control.`, [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: TLS_SECRET_NAME, namespace: input.namespace, labels: LABELS },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64(input.serving.cert), 'tls.key': b64(input.serving.key), 'ca.crt': b64(input.caCert) },
    },
  ]);
}

/** base64 of the PEM certificates the API server should trust for the webhook. */
export function caBundle(caCerts: string[]): string {
  return Buffer.from(caCerts.map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join(''), 'utf8').toString('base64');
}

/**
 * Strategic-merge patch for both webhook configurations. Webhooks merge by name, so only caBundle
 * is added to the base's entries; every other field stays as the base has it.
 */
export function renderWebhookCaPatch(bundle: string): string {
  const entry = (kind: string, webhook: string) => ({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind,
    metadata: { name: WEBHOOK_CONFIGURATION_NAME },
    webhooks: [{ name: webhook, clientConfig: { caBundle: bundle } }],
  });
  return toYaml(GENERATED, [
    entry('MutatingWebhookConfiguration', MUTATING_WEBHOOK_NAME),
    entry('ValidatingWebhookConfiguration', VALIDATING_WEBHOOK_NAME),
  ]);
}

export interface OverlayInput {
  /** Paths relative to the overlay directory, '/'-separated. */
  base: string;
  components: string[];
  image: ImageOverride | undefined;
}

/** The overlay in OUT: the base, the Secret and the caBundle patch (+ components, image). */
export function renderOverlay(input: OverlayInput): string {
  const kustomization: Record<string, unknown> = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [input.base, SECRET_FILE],
  };
  if (input.components.length > 0) kustomization['components'] = input.components;
  kustomization['patches'] = [{ path: CA_PATCH_FILE }];
  if (input.image !== undefined) kustomization['images'] = [input.image];
  return toYaml(`${GENERATED}\n Install or update with: kubectl apply -k <this directory>`, [kustomization]);
}
