import { isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';

/**
 * Maps a finding's field path onto the YAML source so `check` (and SARIF viewers) can point at the
 * offending line. Findings name fields as dotted paths (`spec.egress[0].to[0].ipBlock.cidr`,
 * `metadata.annotations["netpol-guard.io/ttl"]`); structural errors name them as JSON pointers
 * (`/spec/egress/0/to`). Both are turned into segments and walked down the YAML node tree.
 */
export type PathSegment = string | number;

export interface SourcePosition {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units (SARIF's default column kind). */
  column: number;
  /** False when the path leads past what the document contains; the position is then the deepest field that exists. */
  exact: boolean;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*/;

/**
 * `a.b[0]["x/y"].c` → ['a', 'b', 0, 'x/y', 'c']. Undefined when the text is not such a path, so a
 * caller never walks a misread path and reports a wrong line as if it were right.
 */
export function parseFieldPath(path: string): PathSegment[] | undefined {
  const segments: PathSegment[] = [];
  let rest = path;
  let expectName = true;
  while (rest.length > 0) {
    if (rest.startsWith('[')) {
      const index = /^\[([0-9]+)\]/.exec(rest);
      if (index) {
        segments.push(Number(index[1]));
        rest = rest.slice(index[0].length);
      } else {
        const quoted = /^\[("(?:[^"\\]|\\.)*")\]/.exec(rest);
        if (!quoted) return undefined;
        // Keys are written with JSON.stringify (formatFieldPath), so JSON.parse is the exact inverse.
        let key: unknown;
        try {
          key = JSON.parse(quoted[1]!);
        } catch {
          return undefined;
        }
        segments.push(key as string);
        rest = rest.slice(quoted[0].length);
      }
      expectName = false;
      continue;
    }
    if (!expectName) {
      if (!rest.startsWith('.')) return undefined;
      rest = rest.slice(1);
    }
    const name = IDENTIFIER.exec(rest);
    if (!name) return undefined;
    segments.push(name[0]);
    rest = rest.slice(name[0].length);
    expectName = false;
  }
  return segments;
}

/** RFC 6901 pointer → segments; `/` alone means the root here, as the shape checker writes it. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Segments → the dotted form used in findings, so structural errors read like findings. */
export function formatFieldPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/**
 * Position of the field at `segments` below `root`: the key of a mapping entry, the start of a
 * sequence item. Walks as far as the document goes; undefined only when root has no range.
 */
export function locatePath(root: Node | null | undefined, segments: readonly PathSegment[], lineCounter: LineCounter): SourcePosition | undefined {
  const rootStart = root?.range?.[0];
  if (root === null || root === undefined || rootStart === undefined) return undefined;
  let offset = rootStart;
  let node: unknown = root;
  let matched = 0;
  for (const segment of segments) {
    const next = step(node, segment);
    if (!next) break;
    offset = next.offset;
    node = next.node;
    matched += 1;
  }
  const { line, col } = lineCounter.linePos(offset);
  return { line: Math.max(line, 1), column: Math.max(col, 1), exact: matched === segments.length };
}

function step(node: unknown, segment: PathSegment): { offset: number; node: unknown } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key;
      const keyText = isScalar(key) ? String(key.value) : key;
      if (keyText !== String(segment)) continue;
      const keyStart = isScalar(key) ? key.range?.[0] : undefined;
      const valueStart = (pair.value as Node | null)?.range?.[0];
      const offset = keyStart ?? valueStart;
      return offset === undefined ? undefined : { offset, node: pair.value };
    }
    return undefined;
  }
  if (isSeq(node)) {
    const index = typeof segment === 'number' ? segment : /^[0-9]+$/.test(segment) ? Number(segment) : undefined;
    if (index === undefined) return undefined;
    const item = node.items[index] as Node | null | undefined;
    const offset = item?.range?.[0];
    return offset === undefined ? undefined : { offset, node: item };
  }
  return undefined;
}
