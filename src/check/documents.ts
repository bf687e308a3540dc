import { isMap, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';
import type { ManifestSource } from './discover.js';
import { isJsonObject } from '../schema/json.js';

/**
 * Splits one input text into the objects `check` looks at: every YAML document (JSON is read by
 * the same parser, so both carry source positions), with `kind: List` and `kind: NetworkPolicyList`
 * (what `kubectl get -o yaml` prints) unpacked into their items.
 */
export interface EntryLocation {
  source: string;
  /** 0-based index of the document in the stream. */
  document: number;
  /** 0-based index in a List's items, when the object came from one. */
  item?: number;
  /** 1-based line where the object starts. */
  line: number;
}

/** A candidate NetworkPolicy: its value plus the YAML node it came from, for line lookup. */
export interface PolicyEntry extends EntryLocation {
  type: 'policy';
  value: unknown;
  node: Node;
  lineCounter: LineCounter;
}

/** A document that is not valid YAML (or a List without an items array): nothing in it is trusted. */
export interface InvalidEntry extends EntryLocation {
  type: 'invalid';
  errors: { message: string; line: number; column: number; path: string }[];
}

/** Any other object (Deployment, ConfigMap, …) or a value that is not an object at all. */
export interface SkippedEntry extends EntryLocation {
  type: 'skipped';
  /** The object's kind when it has a string one. */
  kind?: string;
}

export type ManifestEntry = PolicyEntry | InvalidEntry | SkippedEntry;

const LIST_KINDS = new Set(['List', 'NetworkPolicyList']);

export function splitManifest(source: ManifestSource): ManifestEntry[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(source.text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const entries: ManifestEntry[] = [];
  if (docs.length === 0) {
    // An empty stream can still carry errors (a stray directive, say).
    const errors = 'errors' in docs ? docs.errors : [];
    if (errors.length > 0) {
      entries.push({
        type: 'invalid',
        source: source.name,
        document: 0,
        line: 1,
        errors: errors.map((e) => yamlError(e.message, e.pos[0], lineCounter)),
      });
    }
    return entries;
  }
  docs.forEach((doc, document) => {
    const root = doc.contents as Node | null;
    const start = root?.range?.[0] ?? doc.range[0];
    const line = Math.max(lineCounter.linePos(start).line, 1);
    const at = { source: source.name, document, line };
    if (doc.errors.length > 0) {
      entries.push({ type: 'invalid', ...at, errors: doc.errors.map((e) => yamlError(e.message, e.pos[0], lineCounter)) });
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      // The alias limit: a document that expands into gigabytes is refused, not evaluated.
      entries.push({ type: 'invalid', ...at, errors: [{ message: `cannot expand document: ${(err as Error).message}`, line, column: 1, path: '' }] });
      return;
    }
    if (value === null || value === undefined) return; // an empty document, e.g. a trailing `---`
    const kind = kindOf(value);
    if (kind !== undefined && LIST_KINDS.has(kind) && root) {
      entries.push(...listItems(value, root, kind, at, lineCounter));
      return;
    }
    if (kind === 'NetworkPolicy' && root) entries.push({ type: 'policy', ...at, value, node: root, lineCounter });
    else entries.push({ type: 'skipped', ...at, ...(kind !== undefined && { kind }) });
  });
  return entries;
}

function listItems(value: unknown, root: Node, listKind: string, at: EntryLocation, lineCounter: LineCounter): ManifestEntry[] {
  const items = (value as { items?: unknown }).items;
  const itemsNode = isMap(root) ? (root.get('items', true) as Node | undefined) : undefined;
  if (items === undefined || items === null) return [];
  if (!Array.isArray(items) || !isSeq(itemsNode)) {
    return [{ type: 'invalid', ...at, errors: [{ message: `a ${listKind} needs an items array`, line: at.line, column: 1, path: 'items' }] }];
  }
  return items.map((item: unknown, index): ManifestEntry => {
    const node = itemsNode.items[index] as Node | null | undefined;
    const itemStart = node?.range?.[0];
    const line = itemStart === undefined ? at.line : Math.max(lineCounter.linePos(itemStart).line, 1);
    const itemAt = { ...at, item: index, line };
    const kind = kindOf(item);
    // The API server's NetworkPolicyList leaves kind off its items; a generic List must name it.
    const isPolicy = kind === 'NetworkPolicy' || (kind === undefined && listKind === 'NetworkPolicyList' && isJsonObject(item));
    if (isPolicy && node) return { type: 'policy', ...itemAt, value: item, node, lineCounter };
    return { type: 'skipped', ...itemAt, ...(kind !== undefined && { kind }) };
  });
}

function yamlError(message: string, offset: number, lineCounter: LineCounter): InvalidEntry['errors'][number] {
  const pos = lineCounter.linePos(offset);
  const line = Math.max(pos.line, 1);
  const column = Math.max(pos.col, 1);
  return { message: `YAML syntax error at line ${line}, column ${column}: ${message.split('\n')[0]}`, line, column, path: '' };
}

function kindOf(value: unknown): string | undefined {
  if (!isJsonObject(value)) return undefined;
  const kind = (value as { kind?: unknown }).kind;
  return typeof kind === 'string' ? kind : undefined;
}

