import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isMap, isScalar, parseDocument, type Node, type YAMLMap } from 'yaml';
import { defaultConfig, parseConfigText } from '../../../src/config/load.js';
import { DEFAULT_CONFIG } from '../../../src/config/defaults.js';
import { repoPath } from './support.js';

const CONFIG_FILE = repoPath('manifests', 'config.yaml');
const text = readFileSync(CONFIG_FILE, 'utf8');

/** Key paths of the embedded default, descending into objects (not arrays or null). */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => [`${prefix}/${key}`, ...keyPaths(child, `${prefix}/${key}`)]);
}

describe('manifests/config.yaml (the platform-team ConfigMap)', () => {
  it('parses with parseConfigText without errors', () => {
    const result = parseConfigText(text, CONFIG_FILE);
    assert.ok(result.ok, result.ok ? '' : result.errors.join('\n'));
  });

  it('equals the embedded default, so the shipped file changes nothing', () => {
    const result = parseConfigText(text, CONFIG_FILE);
    assert.ok(result.ok);
    assert.deepEqual(result.config.source, defaultConfig().source);
  });

  it('spells out every option, so the file documents all of them', () => {
    const written = parseDocument(text).toJS() as unknown;
    const missing = keyPaths(DEFAULT_CONFIG).filter((p) => !keyPaths(written).includes(p));
    assert.deepEqual(missing, []);
    // And nothing is relying on the merge: each written value is literally the default.
    assert.deepEqual(written, JSON.parse(JSON.stringify(DEFAULT_CONFIG)));
  });

  it('comments every option', () => {
    const doc = parseDocument(text);
    const uncommented: string[] = [];
    const visit = (map: YAMLMap<unknown, unknown>, prefix: string, leadingComment: string | null | undefined) => {
      map.items.forEach((pair, index) => {
        const key = pair.key as Node;
        const value = pair.value as Node | null;
        const name = `${prefix}/${isScalar(key) ? String(key.value) : '?'}`;
        const inherited = index === 0 ? leadingComment : undefined;
        const comments = [key.commentBefore, key.comment, value?.comment, isScalar(value) ? value.commentBefore : undefined, inherited];
        if (!comments.some((c) => typeof c === 'string' && c.trim() !== '')) uncommented.push(name);
        if (isMap(value)) visit(value, name, value.commentBefore);
      });
    };
    assert.ok(isMap(doc.contents));
    visit(doc.contents, '', doc.commentBefore ?? doc.contents.commentBefore);
    assert.deepEqual(uncommented, []);
  });
});
