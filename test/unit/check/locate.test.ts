import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LineCounter, type Node, parseDocument } from 'yaml';
import { formatFieldPath, locatePath, parseFieldPath, parsePointer, type PathSegment } from '../../../src/check/locate.js';

function parsed(text: string): { root: Node; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  assert.deepEqual(doc.errors, []);
  return { root: doc.contents as Node, lineCounter };
}

function at(text: string, path: string): { line: number; column: number; exact: boolean } | undefined {
  const { root, lineCounter } = parsed(text);
  const segments = path.startsWith('/') ? parsePointer(path) : parseFieldPath(path);
  assert.ok(segments, `unparseable path ${path}`);
  return locatePath(root, segments, lineCounter);
}

describe('parseFieldPath', () => {
  const cases: [string, PathSegment[]][] = [
    ['spec.egress[0].to[0].ipBlock.cidr', ['spec', 'egress', 0, 'to', 0, 'ipBlock', 'cidr']],
    ['metadata.annotations["netpol-guard.io/ttl"]', ['metadata', 'annotations', 'netpol-guard.io/ttl']],
    ['metadata.annotations', ['metadata', 'annotations']],
    ['spec.podSelector', ['spec', 'podSelector']],
    ['spec.ingress[12].ports[3].endPort', ['spec', 'ingress', 12, 'ports', 3, 'endPort']],
    ['metadata.labels["a \\"quoted\\" key"]', ['metadata', 'labels', 'a "quoted" key']],
    ['items[2].spec', ['items', 2, 'spec']],
    ['', []],
  ];
  for (const [text, segments] of cases) it(`parses ${text || '(empty)'}`, () => assert.deepEqual(parseFieldPath(text), segments));

  for (const bad of ['spec..egress', '.spec', 'spec.', 'spec[x]', 'spec["unterminated', 'spec egress', 'spec[0]x', '[-1]', 'a["\\x"]']) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.equal(parseFieldPath(bad), undefined));
  }

  it('round-trips with formatFieldPath', () => {
    const segment = fc.oneof(
      fc.nat({ max: 50 }),
      fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9]{0,8}$/),
      fc.string({ minLength: 1, maxLength: 12, unit: 'binary' }),
    );
    fc.assert(
      fc.property(fc.tuple(fc.stringMatching(/^[a-z][a-zA-Z]{0,8}$/), fc.array(segment, { maxLength: 6 })), ([first, rest]) => {
        const segments = [first, ...rest];
        assert.deepEqual(parseFieldPath(formatFieldPath(segments)), segments);
      }),
      { numRuns: 300 },
    );
  });
});

describe('parsePointer and formatFieldPath', () => {
  it('unescapes ~1 and ~0 and treats / as the root', () => {
    assert.deepEqual(parsePointer('/metadata/annotations/netpol-guard.io~1ttl'), ['metadata', 'annotations', 'netpol-guard.io/ttl']);
    assert.deepEqual(parsePointer('/a~0b'), ['a~b']);
    assert.deepEqual(parsePointer('/'), []);
    assert.deepEqual(parsePointer(''), []);
  });

  it('writes identifiers dotted, indexes in brackets and other keys quoted', () => {
    assert.equal(formatFieldPath(['spec', 'egress', 0, 'to', 1, 'ipBlock', 'cidr']), 'spec.egress[0].to[1].ipBlock.cidr');
    assert.equal(formatFieldPath(['metadata', 'annotations', 'netpol-guard.io/ttl']), 'metadata.annotations["netpol-guard.io/ttl"]');
    assert.equal(formatFieldPath([]), '');
  });
});

const BLOCK = `# a leading comment
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: grant
  annotations:
    netpol-guard.io/ttl: "2h"
    "netpol-guard.io/ticket": INC-1
spec:
  podSelector: {}
  egress:
  - to:
    - ipBlock:
        cidr: 0.0.0.0/0
    - podSelector:
        matchLabels: {app: api}
    ports:
      - port: 5432
        endPort: 6000
`;

describe('locatePath on block YAML', () => {
  const cases: [string, number, number][] = [
    ['spec.egress[0].to[0].ipBlock.cidr', 14, 9],
    ['spec.egress[0].to[1].podSelector', 15, 7],
    ['spec.egress[0].to[1]', 15, 7],
    ['spec.egress[0].ports[0].endPort', 19, 9],
    ['spec.egress[0].ports[0]', 18, 9],
    ['spec.egress[0]', 12, 5],
    ['spec.podSelector', 10, 3],
    ['metadata.annotations["netpol-guard.io/ttl"]', 7, 5],
    ['metadata.annotations["netpol-guard.io/ticket"]', 8, 5],
    ['metadata.annotations', 6, 3],
    ['/spec/egress/0/to/0/ipBlock/cidr', 14, 9],
    ['/metadata/annotations/netpol-guard.io~1ttl', 7, 5],
  ];
  for (const [path, line, column] of cases) {
    it(`${path} → ${line}:${column}`, () => assert.deepEqual(at(BLOCK, path), { line, column, exact: true }));
  }

  it('the empty path is the document start, after comments', () => {
    assert.deepEqual(at(BLOCK, ''), { line: 2, column: 1, exact: true });
  });

  it('a path past the document stops at the deepest field that exists', () => {
    assert.deepEqual(at(BLOCK, 'metadata.annotations["netpol-guard.io/expires-at"]'), { line: 6, column: 3, exact: false });
    assert.deepEqual(at(BLOCK, 'spec.egress[0].to[5].ipBlock'), { line: 12, column: 5, exact: false });
    assert.deepEqual(at(BLOCK, 'spec.ingress[0].from'), { line: 9, column: 1, exact: false });
    assert.deepEqual(at(BLOCK, 'status'), { line: 2, column: 1, exact: false });
  });

  it('does not index into a mapping or look up names in a sequence', () => {
    assert.deepEqual(at(BLOCK, 'spec.egress.to'), { line: 11, column: 3, exact: false });
    assert.deepEqual(at(BLOCK, '/spec/podSelector/0'), { line: 10, column: 3, exact: false });
  });
});

describe('locatePath on other layouts', () => {
  it('finds fields in JSON', () => {
    const json = JSON.stringify({ kind: 'NetworkPolicy', spec: { egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] } }, null, 2);
    const position = at(json, 'spec.egress[0].to[0].ipBlock.cidr');
    assert.ok(position?.exact);
    assert.match(json.split('\n')[position.line - 1]!, /"cidr": "0\.0\.0\.0\/0"/);
    assert.equal(json.split('\n')[position.line - 1]!.indexOf('"cidr"') + 1, position.column);
  });

  it('finds fields in flow style on one line by column', () => {
    const text = 'spec: {egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}], ports: [{port: 1, endPort: 9999}]}]}\n';
    assert.deepEqual(at(text, 'spec.egress[0].to[0].ipBlock.cidr'), { line: 1, column: text.indexOf('cidr') + 1, exact: true });
    assert.deepEqual(at(text, 'spec.egress[0].ports[0].endPort'), { line: 1, column: text.indexOf('endPort') + 1, exact: true });
  });

  it('matches numeric-looking keys as text', () => {
    assert.deepEqual(at('labels:\n  "8080": x\n  8081: y\n', '/labels/8081'), { line: 3, column: 3, exact: true });
  });

  it('has no position for an absent root', () => {
    assert.equal(locatePath(null, ['spec'], new LineCounter()), undefined);
    assert.equal(locatePath(undefined, [], new LineCounter()), undefined);
  });

  it('works below a sub-node (a List item) with the whole text\'s line counter', () => {
    const text = 'kind: List\nitems:\n- kind: NetworkPolicy\n  spec:\n    podSelector: {}\n- kind: NetworkPolicy\n  spec:\n    podSelector: {}\n';
    const { root, lineCounter } = parsed(text);
    const second = (root as unknown as { get: (k: string, keep: boolean) => { items: Node[] } }).get('items', true).items[1]!;
    assert.deepEqual(locatePath(second, ['spec', 'podSelector'], lineCounter), { line: 8, column: 5, exact: true });
  });
});
