/**
 * Kubernetes' key and value lengths for labels and annotation keys, plus a cap on label map size,
 * for every label map a NetworkPolicy has: part of the structural check (shape.ts) that the
 * webhook, `check` and `grant` share. Runs before the schema, so a hostile map is refused before
 * any schema work is spent on it. The 256 KiB annotation total is shape.ts's.
 *
 * This runs on every admitted NetworkPolicy, so the happy path allocates nothing: each map is first
 * screened by an allocation-free predicate, and a problem's path and wording are built only for a
 * map that fails it (by the reporter, which is the single source of the messages).
 */
import { isJsonObject } from '../schema/json.js';

/** One problem with one label map (or annotation keys), located so each caller can print its path style. */
export interface LabelLimitProblem {
  /** Path of the map: ['spec', 'ingress', 1, 'from', 0, 'podSelector', 'matchLabels']. */
  map: readonly (string | number)[];
  /** The label whose value is at fault; absent for a problem with the map or a key. */
  label?: string;
  /** What is wrong, e.g. `key "a/" has an empty name part`. */
  problem: string;
}

export function labelLimitProblems(object: unknown, maxLabels: number): LabelLimitProblem[] {
  const problems: LabelLimitProblem[] = [];
  const metadata = field(object, 'metadata');
  const labels = field(metadata, 'labels');
  if (!labelMapWithinLimits(labels, maxLabels)) reportLabelMap(['metadata', 'labels'], labels, maxLabels, problems);
  const annotations = field(metadata, 'annotations');
  if (!annotationKeysWithinLimits(annotations)) reportAnnotationKeys(['metadata', 'annotations'], annotations, problems);
  const spec = field(object, 'spec');
  const podLabels = field(field(spec, 'podSelector'), 'matchLabels');
  if (!labelMapWithinLimits(podLabels, maxLabels)) reportLabelMap(['spec', 'podSelector', 'matchLabels'], podLabels, maxLabels, problems);
  for (const [direction, peersKey] of PEER_LISTS) {
    const rules = field(spec, direction);
    if (!Array.isArray(rules)) continue;
    for (let i = 0; i < rules.length; i++) {
      const peers = field(rules[i], peersKey);
      if (!Array.isArray(peers)) continue;
      for (let j = 0; j < peers.length; j++) {
        const peer = peers[j];
        for (const selector of PEER_SELECTORS) {
          const matchLabels = field(field(peer, selector), 'matchLabels');
          if (labelMapWithinLimits(matchLabels, maxLabels)) continue;
          reportLabelMap(['spec', direction, i, peersKey, j, selector, 'matchLabels'], matchLabels, maxLabels, problems);
        }
      }
    }
  }
  return problems;
}

/** `request.object.spec.ingress[1].from[0].podSelector.matchLabels["team"]: …`: the admission edge's style. */
export function formatLabelLimitProblemAt(root: string, p: LabelLimitProblem): string {
  let path = root;
  for (const segment of p.map) path += typeof segment === 'number' ? `[${segment}]` : `.${segment}`;
  return p.label === undefined ? `${path}: ${p.problem}` : `${path}[${quote(p.label)}]: ${p.problem}`;
}

/** `/spec/podSelector/matchLabels/team: …`: the JSON pointer style of the other structural errors. */
export function formatLabelLimitProblemAsPointer(p: LabelLimitProblem): string {
  const segments = p.label === undefined ? p.map : [...p.map, p.label];
  return `/${segments.map((s) => String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}: ${p.problem}`;
}

const PEER_LISTS = [
  ['ingress', 'from'],
  ['egress', 'to'],
] as const;
const PEER_SELECTORS = ['podSelector', 'namespaceSelector'] as const;

/** Kubernetes caps a label value at 63 characters. */
const MAX_LABEL_VALUE_CHARS = 63;

/**
 * True when reportLabelMap would find nothing: the same conditions, checked without allocating. It
 * must never pass a map the reporter would fault. for…in sees every own key the reporter sees (and
 * inherited enumerable ones, which a parsed JSON body has none of); an extra key can only send a
 * map to the reporter, which then decides on the map's own entries.
 */
function labelMapWithinLimits(value: unknown, maxLabels: number): boolean {
  if (!isJsonObject(value)) return true;
  let entries = 0;
  for (const key in value) {
    entries += 1;
    if (entries > maxLabels) return false;
    if (qualifiedNameLengthProblem(key) !== undefined) return false;
    const label = value[key];
    if (typeof label === 'string' && label.length > MAX_LABEL_VALUE_CHARS) return false;
  }
  return true;
}

function reportLabelMap(map: (string | number)[], value: unknown, maxLabels: number, problems: LabelLimitProblem[]): void {
  if (!isJsonObject(value)) return;
  const entries = Object.entries(value);
  if (entries.length > maxLabels) {
    problems.push({ map, problem: `has ${entries.length} entries; at most ${maxLabels} are accepted` });
    return;
  }
  for (const [key, label] of entries) {
    const keyProblem = qualifiedNameLengthProblem(key);
    if (keyProblem) problems.push({ map, problem: `key ${quote(key)} ${keyProblem}` });
    if (typeof label === 'string' && label.length > MAX_LABEL_VALUE_CHARS) {
      problems.push({ map, label: key, problem: `value is ${label.length} characters; a label value may have at most ${MAX_LABEL_VALUE_CHARS}` });
    }
  }
}

/** True when reportAnnotationKeys would find nothing (same rule as labelMapWithinLimits). */
function annotationKeysWithinLimits(value: unknown): boolean {
  if (!isJsonObject(value)) return true;
  for (const key in value) {
    if (qualifiedNameLengthProblem(key) !== undefined) return false;
  }
  return true;
}

function reportAnnotationKeys(map: (string | number)[], value: unknown, problems: LabelLimitProblem[]): void {
  if (!isJsonObject(value)) return;
  for (const key of Object.keys(value)) {
    const keyProblem = qualifiedNameLengthProblem(key);
    if (keyProblem) problems.push({ map, problem: `key ${quote(key)} ${keyProblem}` });
  }
}

/**
 * Length rules of a Kubernetes qualified name (`[prefix/]name`): prefix ≤ 253, name 1–63.
 * Measured from the slash position rather than sliced, so a valid key costs no allocation.
 */
function qualifiedNameLengthProblem(key: string): string | undefined {
  const slash = lastSlashIndex(key);
  const nameLength = key.length - slash - 1;
  if (nameLength === 0) return 'has an empty name part';
  if (nameLength > 63) return `has a name part of ${nameLength} characters; at most 63 are allowed`;
  // With a slash, everything before it is the prefix, so its length is the slash's index.
  if (slash !== -1 && (slash === 0 || slash > 253)) return `has a prefix of ${slash} characters; it must be 1 to 253`;
  return undefined;
}

/**
 * key.lastIndexOf('/'), found with indexOf: on Node 20, lastIndexOf measured about twice as slow
 * as indexOf on label keys, and this runs for every label and annotation key of every policy.
 * A valid key has at most one slash, so the second search almost always settles it.
 */
function lastSlashIndex(key: string): number {
  const first = key.indexOf('/');
  if (first === -1 || key.indexOf('/', first + 1) === -1) return first;
  return key.lastIndexOf('/');
}

function field(value: unknown, key: string): unknown {
  return isJsonObject(value) ? value[key] : undefined;
}

/** A label key or value, quoted and cut at 60 characters so a hostile one cannot flood the reply. */
function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}
