import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { discoverSources, displayName, STDIN_NAME } from '../../../src/check/discover.js';

let root: string;

function write(relative: string, text = `# ${relative}\n`): void {
  const full = path.join(root, relative);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, text);
}

before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'netpol-guard-discover-'));
  write('tree/b.yaml');
  write('tree/a.yml');
  write('tree/c.JSON');
  write('tree/notes.txt');
  write('tree/kustomization.yaml.bak');
  write('tree/sub/deeper/z.yaml');
  write('tree/sub/y.json');
  write('tree/.git/config.yaml');
  write('tree/.hidden/x.yaml');
  write('plain.txt', 'kind: NetworkPolicy\n');
  write('bom.yaml', '\ufeffkind: NetworkPolicy\n');
  // A loop back up the tree must not recurse forever, and a dangling link is ignored.
  symlinkSync(path.join(root, 'tree'), path.join(root, 'tree/sub/loop'));
  symlinkSync(path.join(root, 'nowhere.yaml'), path.join(root, 'tree/dangling.yaml'));
});
after(() => rmSync(root, { recursive: true, force: true }));

const noStdin = async (): Promise<string> => assert.fail('stdin must not be read');

describe('discoverSources', () => {
  it('walks directories recursively in sorted order, picking .yaml/.yml/.json only and skipping hidden directories', async () => {
    const { sources, errors } = await discoverSources(['tree'], { cwd: root, readStdin: noStdin });
    assert.deepEqual(errors, []);
    assert.deepEqual(
      sources.map((s) => s.name),
      ['tree/a.yml', 'tree/b.yaml', 'tree/c.JSON', 'tree/sub/deeper/z.yaml', 'tree/sub/y.json'],
    );
    assert.equal(sources[0]!.text, '# tree/a.yml\n');
  });

  it('reads a named file whatever its extension, and strips a byte-order mark', async () => {
    const { sources, errors } = await discoverSources(['plain.txt', 'bom.yaml'], { cwd: root, readStdin: noStdin });
    assert.deepEqual(errors, []);
    assert.deepEqual(sources, [
      { name: 'plain.txt', text: 'kind: NetworkPolicy\n' },
      { name: 'bom.yaml', text: 'kind: NetworkPolicy\n' },
    ]);
  });

  it('reads a file reached twice only once', async () => {
    const { sources } = await discoverSources(['tree/sub/deeper', 'tree/sub/deeper/z.yaml', path.join(root, 'tree/sub/deeper/z.yaml')], {
      cwd: root,
      readStdin: noStdin,
    });
    assert.deepEqual(sources.map((s) => s.name), ['tree/sub/deeper/z.yaml']);
  });

  it('follows a directory symlink but cuts the loop it closes', async () => {
    const { sources, errors } = await discoverSources(['tree/sub'], { cwd: root, readStdin: noStdin });
    assert.deepEqual(errors, []);
    // sub/loop leads back to tree, whose own sub/ is the directory being walked: walked once only.
    assert.deepEqual(
      sources.map((s) => s.name),
      ['tree/sub/deeper/z.yaml', 'tree/sub/loop/a.yml', 'tree/sub/loop/b.yaml', 'tree/sub/loop/c.JSON', 'tree/sub/y.json'],
    );
  });

  it('names paths relative to the working directory', async () => {
    const { sources } = await discoverSources([path.join(root, 'tree/a.yml')], { cwd: path.join(root, 'tree/sub'), readStdin: noStdin });
    assert.deepEqual(sources.map((s) => s.name), ['../a.yml']);
    assert.equal(displayName('/work', '/work/x/y.yaml'), 'x/y.yaml');
  });

  it('reads stdin for -, once', async () => {
    let reads = 0;
    const readStdin = async (): Promise<string> => {
      reads += 1;
      return 'kind: NetworkPolicy\n';
    };
    const { sources, errors } = await discoverSources(['-', 'bom.yaml', '-'], { cwd: root, readStdin });
    assert.equal(reads, 1);
    assert.deepEqual(sources.map((s) => s.name), [STDIN_NAME, 'bom.yaml']);
    assert.deepEqual(errors, ['-: stdin can be read only once']);
  });

  it('reports every missing path, naming it', async () => {
    const { sources, errors } = await discoverSources(['missing.yaml', 'tree/a.yml', 'gone/'], { cwd: root, readStdin: noStdin });
    assert.deepEqual(errors, ['missing.yaml: no such file or directory', 'gone/: no such file or directory']);
    assert.deepEqual(sources.map((s) => s.name), ['tree/a.yml']);
  });

  it('reports a stdin failure', async () => {
    const { errors } = await discoverSources(['-'], {
      cwd: root,
      readStdin: async () => {
        throw new Error('EPIPE');
      },
    });
    assert.deepEqual(errors, ['-: cannot read stdin: EPIPE']);
  });

  it('reports an unreadable file by name', { skip: process.getuid?.() === 0 ? 'root reads everything' : false }, async () => {
    write('locked/secret.yaml');
    chmodSync(path.join(root, 'locked/secret.yaml'), 0o000);
    const { errors } = await discoverSources(['locked'], { cwd: root, readStdin: noStdin });
    assert.deepEqual(errors, ['locked/secret.yaml: permission denied']);
  });
});
