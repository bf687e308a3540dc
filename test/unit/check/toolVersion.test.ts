import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { toolVersion } from '../../../src/check/toolVersion.js';
import { REPO_ROOT } from '../../fixtures/paths.js';

describe('toolVersion', () => {
  it('reads the version from netpol-guard\'s package.json above the module', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(toolVersion(), pkg.version);
  });

  it('skips other packages on the way up and falls back when there is none', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'netpol-guard-version-'));
    try {
      mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
      writeFileSync(path.join(dir, 'a', 'package.json'), JSON.stringify({ name: 'something-else', version: '9.9.9' }));
      writeFileSync(path.join(dir, 'a', 'b', 'package.json'), '{ not json');
      assert.equal(toolVersion(pathToFileURL(path.join(dir, 'a', 'b', 'x.js')).href), '0.0.0-unknown');
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'netpol-guard', version: '3.2.1' }));
      assert.equal(toolVersion(pathToFileURL(path.join(dir, 'a', 'b', 'x.js')).href), '3.2.1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
