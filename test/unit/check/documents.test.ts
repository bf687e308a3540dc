import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ManifestEntry, splitManifest } from '../../../src/check/documents.js';

function split(text: string): ManifestEntry[] {
  return splitManifest({ name: 'm.yaml', text });
}

/** The entries without the parser objects, for deepEqual. */
function summary(entries: ManifestEntry[]): unknown[] {
  return entries.map((e) => {
    const base = { type: e.type, document: e.document, ...(e.item !== undefined && { item: e.item }), line: e.line };
    if (e.type === 'policy') return { ...base, name: (e.value as { metadata?: { name?: string } }).metadata?.name };
    if (e.type === 'skipped') return { ...base, kind: e.kind };
    return { ...base, errors: e.errors.map((x) => x.message) };
  });
}

const NP = (name: string): string => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${name}\nspec:\n  podSelector: {}\n`;

describe('splitManifest', () => {
  it('splits a multi-document stream, skipping other kinds and empty documents', () => {
    const text = [
      '# leading comment',
      NP('first'),
      '---',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n',
      '---',
      '---',
      '# only a comment',
      '---',
      NP('second'),
      '---',
      '- just\n- a list\n',
      '---',
      '42\n',
    ].join('\n');
    assert.deepEqual(summary(split(text)), [
      { type: 'policy', document: 0, line: 2, name: 'first' },
      { type: 'skipped', document: 1, line: 10, kind: 'Deployment' },
      { type: 'policy', document: 4, line: 19, name: 'second' },
      { type: 'skipped', document: 5, line: 27, kind: undefined },
      { type: 'skipped', document: 6, line: 31, kind: undefined },
    ]);
  });

  it('unpacks kind: List, keeping each item\'s line and skipping other kinds inside', () => {
    const text = `apiVersion: v1
kind: List
items:
- ${NP('a').trimEnd().split('\n').join('\n  ')}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: cm}
- ${NP('b').trimEnd().split('\n').join('\n  ')}
`;
    assert.deepEqual(summary(split(text)), [
      { type: 'policy', document: 0, item: 0, line: 4, name: 'a' },
      { type: 'skipped', document: 0, item: 1, line: 10, kind: 'ConfigMap' },
      { type: 'policy', document: 0, item: 2, line: 13, name: 'b' },
    ]);
  });

  it('treats items of a NetworkPolicyList as NetworkPolicies even without kind', () => {
    const text = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicyList\nitems:\n- metadata: {name: a}\n  spec: {podSelector: {}}\n- 7\n';
    assert.deepEqual(summary(split(text)), [
      { type: 'policy', document: 0, item: 0, line: 4, name: 'a' },
      { type: 'skipped', document: 0, item: 1, line: 6, kind: undefined },
    ]);
  });

  it('items of a generic List must name their kind', () => {
    const text = 'kind: List\nitems:\n- metadata: {name: a}\n  spec: {podSelector: {}}\n';
    assert.deepEqual(summary(split(text)), [{ type: 'skipped', document: 0, item: 0, line: 3, kind: undefined }]);
  });

  it('a List without items is empty; a List whose items is not a sequence is invalid', () => {
    assert.deepEqual(split('kind: List\n'), []);
    assert.deepEqual(split('kind: List\nitems: []\n'), []);
    assert.deepEqual(summary(split('kind: List\nitems: {a: 1}\n')), [{ type: 'invalid', document: 0, line: 1, errors: ['a List needs an items array'] }]);
  });

  it('reports YAML syntax errors with line and column, and keeps going with the next document', () => {
    const entries = split(`${NP('ok')}---\nkind: NetworkPolicy\nmetadata: {name: [broken\n---\n${NP('after')}`);
    assert.equal(entries.length, 3);
    const invalid = entries[1]!;
    assert.equal(invalid.type, 'invalid');
    assert.equal(invalid.document, 1);
    if (invalid.type === 'invalid') {
      assert.ok(invalid.errors.length >= 1);
      assert.match(invalid.errors[0]!.message, /^YAML syntax error at line \d+, column \d+: /);
      assert.ok(invalid.errors[0]!.line >= 8 && invalid.errors[0]!.line <= 10, `line ${invalid.errors[0]!.line}`);
    }
    assert.equal(entries[2]!.type, 'policy');
  });

  it('rejects duplicate keys, as the API server does', () => {
    const entries = split('kind: NetworkPolicy\nmetadata: {name: a}\nspec: {podSelector: {}}\nspec: {podSelector: {}}\n');
    assert.equal(entries[0]!.type, 'invalid');
    if (entries[0]!.type === 'invalid') assert.equal(entries[0]!.errors[0]!.line, 4);
  });

  it('refuses alias bombs instead of expanding them', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i += 1) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
    lines.push('kind: NetworkPolicy');
    const entries = split(`${lines.join('\n')}\n`);
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.type, 'invalid');
    if (entries[0]!.type === 'invalid') assert.match(entries[0]!.errors[0]!.message, /cannot expand document/);
  });

  it('reads JSON, tabs and all', () => {
    const text = '{\n\t"apiVersion": "networking.k8s.io/v1",\n\t"kind": "NetworkPolicy",\n\t"metadata": {"name": "j"},\n\t"spec": {"podSelector": {}}\n}\n';
    assert.deepEqual(summary(split(text)), [{ type: 'policy', document: 0, line: 1, name: 'j' }]);
  });

  it('yields nothing for an empty input', () => {
    assert.deepEqual(split(''), []);
    assert.deepEqual(split('# nothing\n'), []);
  });

  it('names the source on every entry', () => {
    const entries = splitManifest({ name: 'dir/x.yaml', text: `${NP('a')}---\nkind: Service\n` });
    assert.deepEqual(entries.map((e) => e.source), ['dir/x.yaml', 'dir/x.yaml']);
  });
});
