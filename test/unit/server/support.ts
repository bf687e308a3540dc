/**
 * Builders for server-side tests: a valid NetworkPolicy, an AdmissionReview around it, and
 * decisions, each with overrides so a test states only what it is about.
 */
import { existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdmissionDecision, AdmissionRequest } from '../../../src/admission/types.js';

export const NP_KIND = { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' };
export const NP_RESOURCE = { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' };

/** A narrow, well-formed policy (the shape the API server would store). */
export function networkPolicy(metadata: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'allow-frontend', namespace: 'shop', ...metadata },
    spec: {
      podSelector: { matchLabels: { app: 'backend' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
    },
  };
}

export function admissionRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
    kind: NP_KIND,
    resource: NP_RESOURCE,
    requestKind: NP_KIND,
    requestResource: NP_RESOURCE,
    name: 'allow-frontend',
    namespace: 'shop',
    operation: 'CREATE',
    userInfo: { username: 'dev@example.com', uid: 'u-1', groups: ['system:authenticated', 'team-shop'] },
    object: networkPolicy(),
    oldObject: null,
    dryRun: false,
    options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    ...overrides,
  };
}

/** A body as the API server sends it: `{apiVersion, kind, request}`. */
export function admissionReview(requestOverrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: admissionRequest(requestOverrides) };
}

export function decision(overrides: Partial<AdmissionDecision> = {}): AdmissionDecision {
  return { allowed: true, warnings: [], auditAnnotations: {}, patch: [], findings: [], disposition: 'evaluated', ...overrides };
}

/** A handler that records every call and answers with `answer` (or what `answer` returns). */
export function recordingHandler(answer: AdmissionDecision | ((request: AdmissionRequest) => AdmissionDecision) = decision()) {
  const calls: Array<{ request: AdmissionRequest; now: Date }> = [];
  const handler = (request: AdmissionRequest, _config: unknown, now: Date): AdmissionDecision => {
    calls.push({ request, now });
    return typeof answer === 'function' ? answer(request) : answer;
  };
  return { handler, calls };
}

/**
 * A directory updated the way the kubelet updates Secret and ConfigMap volumes: each version goes
 * into a fresh timestamped directory, the `..data` symlink is atomically swapped to it, and the
 * visible files are symlinks through `..data`. The visible paths never change inode, which is why
 * the watchers poll instead of using fs.watch.
 */
export class ProjectedVolume {
  readonly dir: string;
  #version = 0;
  #current: string | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  write(files: Record<string, string>): void {
    const versionDir = `..${Date.now()}_${++this.#version}`;
    mkdirSync(join(this.dir, versionDir), { recursive: true });
    for (const [name, content] of Object.entries(files)) writeFileSync(join(this.dir, versionDir, name), content, { mode: 0o600 });
    const staging = join(this.dir, '..data_tmp');
    rmSync(staging, { force: true });
    symlinkSync(versionDir, staging);
    renameSync(staging, join(this.dir, '..data'));
    for (const name of Object.keys(files)) {
      if (!existsSync(join(this.dir, name))) symlinkSync(join('..data', name), join(this.dir, name));
    }
    if (this.#current) rmSync(join(this.dir, this.#current), { recursive: true, force: true });
    this.#current = versionDir;
  }
}

/** Resolves with the first value `subscribe` delivers, or rejects after `ms`. */
export function nextEvent<T>(subscribe: (listener: (value: T) => void) => () => void, ms = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`no event within ${ms} ms`));
    }, ms);
    const unsubscribe = subscribe((value) => {
      clearTimeout(timer);
      unsubscribe();
      resolve(value);
    });
  });
}
