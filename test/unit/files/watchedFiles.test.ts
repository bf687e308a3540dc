import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FilePoller, type FileRead } from '../../../src/files/filePoller.js';
import { WatchedFiles, type ParseResult } from '../../../src/files/watchedFiles.js';

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'netpol-guard-files-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const NEVER = () => assert.fail('no poll timer runs in these tests');

describe('FilePoller', () => {
  it('returns the files on the first poll and on a change, undefined when nothing changed', () => {
    const file = path.join(dir, 'a.txt');
    writeFileSync(file, 'one');
    const poller = new FilePoller([file], { intervalMs: 1000, onChange: NEVER, onError: NEVER });
    assert.equal(poller.poll()?.[0]?.content?.toString(), 'one');
    assert.equal(poller.poll(), undefined);
    writeFileSync(file, 'two');
    assert.equal(poller.poll()?.[0]?.content?.toString(), 'two');
  });

  it('reports a missing file as an error code, and its return as a change', () => {
    const file = path.join(dir, 'gone.txt');
    const poller = new FilePoller([file], { intervalMs: 1000, onChange: NEVER, onError: NEVER });
    assert.deepEqual(poller.poll(), [{ path: file, content: undefined, error: 'ENOENT' }]);
    writeFileSync(file, 'back');
    assert.equal(poller.poll()?.[0]?.content?.toString(), 'back');
  });

  it('follows a swapped symlink, as a Kubernetes volume update does', () => {
    const v1 = path.join(dir, 'v1');
    const v2 = path.join(dir, 'v2');
    const link = path.join(dir, 'current');
    writeFileSync(v1, 'first');
    writeFileSync(v2, 'second');
    symlinkSync(v1, link);
    const poller = new FilePoller([link], { intervalMs: 1000, onChange: NEVER, onError: NEVER });
    assert.equal(poller.poll()?.[0]?.content?.toString(), 'first');
    unlinkSync(link);
    symlinkSync(v2, link);
    assert.equal(poller.poll()?.[0]?.content?.toString(), 'second');
  });

  it('refuses a non-positive interval', () => {
    assert.throws(() => new FilePoller([], { intervalMs: 0, onChange: NEVER, onError: NEVER }), /poll interval must be positive/);
  });
});

/** Parses a file holding a whole number; anything else is an error naming the content. */
function parseNumber(files: FileRead[]): ParseResult<number> {
  const text = files[0]?.content?.toString().trim();
  if (text === undefined) return { ok: false, errors: [`cannot read: ${files[0]?.error}`] };
  return /^[0-9]+$/.test(text) ? { ok: true, value: Number(text) } : { ok: false, errors: [`"${text}" is not a number`] };
}

describe('WatchedFiles', () => {
  const clock = (() => {
    let t = Date.parse('2026-03-01T00:00:00Z');
    return () => new Date((t += 1000));
  })();
  const open = (file: string) => WatchedFiles.open({ paths: [file], parse: parseNumber, pollIntervalMs: 1000, now: clock, onInternalError: NEVER });

  it('fails to open with the parse errors when the files are unusable from the start', () => {
    const file = path.join(dir, 'bad-start.txt');
    writeFileSync(file, 'nope');
    assert.deepEqual(open(file), { ok: false, errors: ['"nope" is not a number'] });
  });

  it('keeps the last good value through a bad edit, says why, and takes the next good one', () => {
    const file = path.join(dir, 'n.txt');
    writeFileSync(file, '1');
    const opened = open(file);
    assert.ok(opened.ok);
    const watched = opened.watched;
    const events: ParseResult<number>[] = [];
    watched.onReload((e) => events.push(e));
    const firstLoad = watched.loadedAt;

    assert.equal(watched.check(), undefined, 'unchanged file: no reload');
    writeFileSync(file, 'oops');
    assert.deepEqual(watched.check(), { ok: false, errors: ['"oops" is not a number'] });
    assert.equal(watched.value, 1);
    assert.equal(watched.loadedAt, firstLoad);
    assert.deepEqual(watched.lastReloadError?.errors, ['"oops" is not a number']);

    writeFileSync(file, '2');
    assert.deepEqual(watched.check(), { ok: true, value: 2 });
    assert.equal(watched.value, 2);
    assert.equal(watched.lastReloadError, undefined);
    assert.ok(watched.loadedAt > firstLoad);
    assert.deepEqual(events, [{ ok: false, errors: ['"oops" is not a number'] }, { ok: true, value: 2 }]);
    watched.close();
  });

  it('a throwing listener is reported and does not stop the others', () => {
    const file = path.join(dir, 'l.txt');
    writeFileSync(file, '1');
    const reported: unknown[] = [];
    const opened = WatchedFiles.open({ paths: [file], parse: parseNumber, pollIntervalMs: 1000, now: clock, onInternalError: (e) => reported.push(e) });
    assert.ok(opened.ok);
    const heard: number[] = [];
    opened.watched.onReload(() => {
      throw new Error('listener bug');
    });
    opened.watched.onReload((e) => heard.push(e.ok ? e.value : -1));
    writeFileSync(file, '5');
    opened.watched.check();
    assert.deepEqual(heard, [5]);
    assert.equal((reported[0] as Error).message, 'listener bug');
    opened.watched.close();
  });
});
