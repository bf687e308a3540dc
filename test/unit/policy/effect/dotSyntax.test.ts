import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { MemoryClusterView } from '../../../../src/cluster/memoryView.js';
import type { PodMeta } from '../../../../src/cluster/view.js';
import { analyzeEffect } from '../../../../src/policy/effect/analyze.js';
import { effectDot } from '../../../../src/policy/effect/report.js';

/**
 * `explain -o dot` must be Graphviz that `dot` accepts, whatever the names in it: a namespace, pod
 * or policy name that closes a quoted id (`"`), escapes the closing quote (`\`), or breaks a line
 * must not end a string early and inject statements. This is a strict parser of the subset we
 * generate (DOT grammar: graph, attribute, node and edge statements; ids are C identifiers,
 * numerals or double-quoted strings in which `"` only appears escaped).
 */

type Token = { kind: 'id'; text: string; quoted: boolean } | { kind: 'punct'; text: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (text.startsWith('->', i)) {
      tokens.push({ kind: 'punct', text: '->' });
      i += 2;
    } else if ('{}[];,='.includes(c)) {
      tokens.push({ kind: 'punct', text: c });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      let value = '';
      for (;;) {
        assert.ok(j < text.length, `unterminated string from offset ${i}`);
        const d = text[j]!;
        if (d === '\\') {
          assert.ok(j + 1 < text.length, 'a backslash ends the text');
          value += d + text[j + 1]!;
          j += 2;
        } else if (d === '"') break;
        else {
          // dot allows raw newlines in strings, but we never write them: an escape is the only way.
          assert.notEqual(d, '\n', `raw newline inside a string at offset ${j}`);
          value += d;
          j++;
        }
      }
      tokens.push({ kind: 'id', text: value, quoted: true });
      i = j + 1;
    } else {
      const m = /^(?:[A-Za-z_][A-Za-z_0-9]*|-?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?))/.exec(text.slice(i));
      assert.ok(m, `unexpected character ${JSON.stringify(c)} at offset ${i}`);
      tokens.push({ kind: 'id', text: m[0], quoted: false });
      i += m[0].length;
    }
  }
  return tokens;
}

interface ParsedGraph {
  name: string;
  nodes: Set<string>;
  edges: [string, string][];
  /** Node id → its attributes (unescaped only of the quotes: what the author wrote). */
  attributes: Map<string, Map<string, string>>;
}

/** Parses `digraph ID { stmt_list }`; throws (assert) on anything else. */
function parseDot(text: string): ParsedGraph {
  const tokens = tokenize(text);
  let at = 0;
  const peek = (): Token | undefined => tokens[at];
  const punct = (p: string): void => {
    const t = tokens[at++];
    assert.ok(t?.kind === 'punct' && t.text === p, `expected "${p}" at token ${at - 1}, got ${JSON.stringify(t)}`);
  };
  const id = (): string => {
    const t = tokens[at++];
    assert.ok(t?.kind === 'id', `expected an id at token ${at - 1}, got ${JSON.stringify(t)}`);
    return t.text;
  };
  const attrList = (): Map<string, string> => {
    const attrs = new Map<string, string>();
    punct('[');
    while (peek()?.text !== ']') {
      const key = id();
      punct('=');
      attrs.set(key, id());
      if (peek()?.text === ',' || peek()?.text === ';') at++;
    }
    punct(']');
    return attrs;
  };

  const keyword = id();
  assert.equal(keyword, 'digraph');
  const graph: ParsedGraph = { name: id(), nodes: new Set(), edges: [], attributes: new Map() };
  punct('{');
  while (peek() !== undefined && peek()!.text !== '}') {
    const first = id();
    if (first === 'node' || first === 'edge') {
      attrList();
    } else if (peek()?.text === '=') {
      at++;
      id();
    } else if (peek()?.text === '->') {
      at++;
      const second = id();
      graph.edges.push([first, second]);
      if (peek()?.text === '[') attrList();
    } else {
      graph.nodes.add(first);
      graph.attributes.set(first, peek()?.text === '[' ? attrList() : new Map());
    }
    punct(';');
  }
  punct('}');
  assert.equal(at, tokens.length, 'text after the closing brace');
  return graph;
}

function effectOf(namespace: string, policyName: string, pods: PodMeta[], policy: Omit<V1NetworkPolicy, 'metadata'>): ReturnType<typeof analyzeEffect> {
  const namespaces: Record<string, Record<string, string>> = {};
  for (const p of pods) namespaces[p.namespace] = { team: 'x' };
  namespaces[namespace] = { team: 'x' };
  return analyzeEffect({ policy: { ...policy, metadata: { name: policyName, namespace } }, namespace, cluster: new MemoryClusterView({ namespaces, pods, policies: [] }) });
}

/** Wire format (`from`), as the API server and explain's reads hand it over. */
const INGRESS_FROM_EVERY_POD_AND_A_RANGE = {
  spec: {
    podSelector: {},
    ingress: [{ from: [{ namespaceSelector: {}, podSelector: {} }, { ipBlock: { cidr: '198.51.100.0/24', except: ['198.51.100.0/28'] } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
  },
} as unknown as Omit<V1NetworkPolicy, 'metadata'>;

describe('explain -o dot is valid Graphviz', () => {
  it('a graph with targets, peer pods, an ipBlock and the overflow node parses, every edge between declared nodes', () => {
    const pods: PodMeta[] = [];
    for (let i = 0; i < 25; i++) pods.push({ namespace: 'shop', name: `db-${i}`, labels: { app: 'db' } });
    pods.push({ namespace: 'web', name: 'web-0', labels: { app: 'web' } });
    const graph = parseDot(effectDot(effectOf('shop', 'debug-db', pods, INGRESS_FROM_EVERY_POD_AND_A_RANGE)));
    assert.equal(graph.name, 'shop/debug-db');
    assert.ok(graph.nodes.has('targets_0'));
    assert.ok(graph.nodes.has('cidr_0_0'));
    assert.ok(graph.nodes.has('morepods_0'), 'more than 20 peer pods end in an overflow node');
    assert.ok(graph.edges.length >= 22);
    for (const [from, to] of graph.edges) assert.ok(graph.nodes.has(from) && graph.nodes.has(to), `edge ${from} -> ${to} between undeclared nodes`);
    assert.match(graph.attributes.get('targets_0')!.get('label')!, /^ingress targets in shop \(25\)\\n/);
  });

  it('an any-peer egress graph parses', () => {
    const graph = parseDot(effectDot(effectOf('shop', 'open', [{ namespace: 'shop', name: 'a', labels: {} }], { spec: { podSelector: {}, policyTypes: ['Egress'], egress: [{}] } })));
    assert.deepEqual(graph.edges, [['targets_0', 'any_0']]);
  });

  it('names that try to close the quoted id, escape the quote or break the line stay inside their string (property)', () => {
    // Kubernetes would refuse most of these names; explain -f reads a file before the API server sees it.
    const hostile = fc.oneof(
      fc.string({ unit: fc.constantFrom('"', '\\', '\n', '\r', '{', '}', ';', '[', ']', '-', '>', 'a', ' ', '=', ',', 'é'), maxLength: 12 }),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(hostile, hostile, fc.array(hostile, { minLength: 1, maxLength: 4 }), (namespace, policyName, podNames) => {
        const pods = podNames.map((name, i) => ({ namespace, name: `${name}${i}`, labels: { app: 'db' } }));
        const peers = podNames.map((name, i) => ({ namespace: `${namespace}-peer`, name: `${name}${i}`, labels: { app: 'web' } }));
        const effect = effectOf(namespace, policyName, [...pods, ...peers], {
          spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: 80 }] }] },
        } as never);
        const graph = parseDot(effectDot(effect));
        // The name comes back exactly once unescaped: nothing of it leaked into the statements.
        assert.equal(unescape(graph.name), `${namespace}/${policyName}`);
        for (const [from, to] of graph.edges) assert.ok(graph.nodes.has(from) && graph.nodes.has(to));
        assert.equal(graph.edges.length, peers.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the DOT checker itself', () => {
  it('rejects an early-closed string, an unbalanced brace, a missing semicolon and a stray character', () => {
    for (const broken of [
      'digraph "a" { x [label="say "hi""]; }',
      'digraph "a" { x [label="a"]; ',
      'digraph "a" { x [label="a"] y; }',
      'digraph "a" { x -> y [label="a\\"]; }',
      'digraph "a" { x [label="a"]; } }',
      'digraph "a" { x:y; }',
    ]) {
      assert.throws(() => parseDot(broken), assert.AssertionError, broken);
    }
  });
});

// Where Graphviz is installed (docs/what-a-grant-opens/render.sh uses it), it has the last word.
const dotBinary = spawnSync('dot', ['-V'], { encoding: 'utf8' });
describe('Graphviz accepts it', { skip: dotBinary.error !== undefined ? 'dot is not installed' : false }, () => {
  it('dot -Tsvg renders a graph whose names carry quotes, backslashes and newlines', () => {
    const pods: PodMeta[] = [
      { namespace: 'sh"op', name: 'db\\"-0', labels: { app: 'db' } },
      { namespace: 'web', name: 'we\nb-0"];x->y;', labels: { app: 'web' } },
    ];
    const dot = effectDot(
      effectOf('sh"op', 'debug\\', pods, {
        spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } }, { ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ port: 5432 }] }] },
      } as never),
    );
    const rendered = spawnSync('dot', ['-Tsvg'], { input: dot, encoding: 'utf8' });
    assert.equal(rendered.status, 0, rendered.stderr);
    assert.equal(rendered.stderr, '');
    assert.match(rendered.stdout, /<svg/);
    assert.equal((rendered.stdout.match(/class="edge"/g) ?? []).length, 2, 'one edge from the peer pod, one from the ipBlock: nothing injected');
  });
});

/** DOT's escapes as effectDot writes them: \\ → \, \" → ", \n (line break) → newline. */
function unescape(text: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}
