/**
 * Shared readers for the deployment tests: the repository root, the manifests as parsed objects
 * (read the way kustomize reads them, from the kustomization's own lists) and the kubectl lookup.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { REPO_ROOT } from '../../fixtures/paths.js';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export { REPO_ROOT };

export const MANIFESTS_DIR = path.join(REPO_ROOT, 'manifests');

export function repoPath(...segments: string[]): string {
  return path.join(REPO_ROOT, ...segments);
}

/** Every document of a YAML file; a syntax error fails the test with the file named. */
export function readYamlDocuments(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  if (!Array.isArray(docs)) throw new Error(`${file}: not a YAML stream`);
  const values: unknown[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) values.push(value);
  }
  return values;
}

export function readYaml(file: string): unknown {
  return parse(readFileSync(file, 'utf8'));
}

export function asKubeObjects(file: string): KubeObject[] {
  return readYamlDocuments(file).map((value, index) => {
    const obj = value as Partial<KubeObject>;
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string' || typeof obj.metadata?.name !== 'string') {
      throw new Error(`${file}: document ${index} is not a Kubernetes object (apiVersion, kind, metadata.name)`);
    }
    return obj as KubeObject;
  });
}

export interface Kustomization {
  kind?: string;
  resources?: string[];
  components?: string[];
  patches?: { path?: string; patch?: string }[];
  configMapGenerator?: { name: string; namespace?: string; files?: string[]; options?: { disableNameSuffixHash?: boolean } }[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

export function readKustomization(dir: string): Kustomization {
  return readYaml(path.join(dir, 'kustomization.yaml')) as Kustomization;
}

/** The objects a kustomization's `resources` list names (files only; no generators or patches). */
export function resourcesOf(dir: string): KubeObject[] {
  return (readKustomization(dir).resources ?? []).flatMap((file) => asKubeObjects(path.join(dir, file)));
}

export const baseObjects = (): KubeObject[] => resourcesOf(MANIFESTS_DIR);
export const componentDir = (name: string): string => path.join(MANIFESTS_DIR, 'components', name);

export function findObject<T = KubeObject>(objects: KubeObject[], kind: string, name: string): T {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected exactly one ${kind} ${name}, found ${found.length}`);
  return found[0] as unknown as T;
}

export function ofKind<T = KubeObject>(objects: KubeObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as unknown as T[];
}

/** Absolute path of an executable on PATH, or undefined. */
export function which(command: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

export const KUBECTL = which('kubectl');
export const KUBECTL_SKIP = KUBECTL === undefined ? 'kubectl is not on PATH; kustomize rendering is checked where kubectl is installed' : false;

/** `kubectl kustomize DIR`, parsed. */
export function kustomize(dir: string): KubeObject[] {
  if (KUBECTL === undefined) throw new Error('kubectl is not on PATH');
  const out = execFileSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  return parseAllDocuments(out).flatMap((doc) => {
    if (!('errors' in doc) || doc.errors.length > 0) throw new Error(`kubectl kustomize ${dir} printed invalid YAML`);
    const value = doc.toJS() as KubeObject | null;
    return value === null ? [] : [value];
  });
}
