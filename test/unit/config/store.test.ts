import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultConfig } from '../../../src/config/load.js';
import { ConfigStore, EMBEDDED_CONFIG_SOURCE, type ConfigReloadEvent } from '../../../src/config/store.js';
import { ProjectedVolume, nextEvent } from '../server/support.js';

const T0 = new Date('2026-11-23T12:00:00Z');
const T1 = new Date('2026-11-23T12:05:00Z');

describe('ConfigStore', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(path.join(tmpdir(), 'netpol-guard-config-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  let clock = T0;
  const now = () => clock;
  const volume = (text: string): ProjectedVolume => {
    const v = new ProjectedVolume(mkdtempSync(path.join(root, 'vol-')));
    v.write({ 'config.yaml': text });
    return v;
  };
  const open = (file: string, pollIntervalMs = 1_000): ConfigStore => {
    clock = T0;
    const opened = ConfigStore.fromFile(file, { now, pollIntervalMs });
    if (!opened.ok) assert.fail(opened.errors.join('\n'));
    return opened.store;
  };

  it('loads a file and reports where the config came from', () => {
    const v = volume('mode: warn\nlimits:\n  maxTTL: 8h\n');
    const store = open(v.path('config.yaml'));
    assert.equal(store.current().mode, 'warn');
    assert.equal(store.current().limits.maxTTLms, 8 * 3_600_000);
    assert.deepEqual(store.status(), { loaded: true, source: v.path('config.yaml'), loadedAt: T0.toISOString(), stale: false });
    store.close();
  });

  it('refuses an invalid file at start with every error, each naming the path', () => {
    const file = path.join(root, 'bad.yaml');
    writeFileSync(file, 'mode: loud\nlimits:\n  maxTtl: 2h\n');
    const opened = ConfigStore.fromFile(file);
    assert.ok(!opened.ok);
    if (opened.ok) return;
    assert.ok(opened.errors.length >= 2, opened.errors.join('\n'));
    for (const error of opened.errors) assert.ok(error.startsWith(`${file}: `), error);
    assert.ok(opened.errors.some((e) => /maxTtl/.test(e)));

    const missing = ConfigStore.fromFile(path.join(root, 'missing.yaml'));
    assert.ok(!missing.ok && /missing\.yaml: cannot read config file: ENOENT/.test(missing.errors.join()));
  });

  it('applies a valid change (ConfigMap symlink swap) and tells listeners', () => {
    const v = volume('mode: enforce\n');
    const store = open(v.path('config.yaml'));
    const events: ConfigReloadEvent[] = [];
    store.onReload((e) => events.push(e));
    assert.equal(store.check(), undefined);
    clock = T1;
    v.write({ 'config.yaml': 'mode: warn\n' });
    const event = store.check();
    assert.ok(event?.ok);
    assert.equal(store.current().mode, 'warn');
    assert.equal(store.status().loadedAt, T1.toISOString());
    assert.equal(events.length, 1);
    assert.equal(store.check(), undefined, 'applied once');
    store.close();
  });

  it('keeps the last good config when the file turns invalid, reports it, and recovers', () => {
    const v = volume('mode: warn\n');
    const store = open(v.path('config.yaml'));
    const good = store.current();
    clock = T1;
    v.write({ 'config.yaml': 'mode: warn\nrules:\n  no-such-rule: deny\n' });
    const failed = store.check();
    assert.ok(failed && !failed.ok);
    assert.match(failed.errors.join(), /no-such-rule/);
    assert.equal(store.current(), good, 'last good config still in force');
    const status = store.status();
    assert.equal(status.stale, true);
    assert.equal(status.loadedAt, T0.toISOString(), 'loadedAt is when the config in force was loaded');
    assert.equal(status.lastReloadError?.at, T1.toISOString());
    assert.ok(status.lastReloadError?.errors.every((e) => e.startsWith(v.path('config.yaml'))));

    v.write({ 'config.yaml': 'mode: enforce\n' });
    assert.ok(store.check()?.ok);
    assert.equal(store.current().mode, 'enforce');
    assert.equal(store.status().stale, false);
    assert.equal(store.status().lastReloadError, undefined);
    store.close();
  });

  it('keeps the last good config when the file is emptied (a write in progress), says so, and recovers', () => {
    const v = volume('mode: warn\nlimits:\n  maxTTL: 8h\n');
    const store = open(v.path('config.yaml'));
    for (const [i, text] of ['', '  \n\n', '# header only, body not written yet\n'].entries()) {
      clock = new Date(T1.getTime() + i * 1000);
      v.write({ 'config.yaml': text });
      const event = store.check();
      assert.ok(event && !event.ok, JSON.stringify(text));
      assert.match(event.errors.join(), /config\.yaml: config file is empty/);
      assert.doesNotMatch(event.errors.join(), /remove --config/, 'the start hint is for start only');
      assert.equal(store.current().mode, 'warn', 'the last good config stays: warn mode must not become enforce');
      assert.equal(store.current().limits.maxTTLms, 8 * 3_600_000);
      const status = store.status();
      assert.equal(status.stale, true);
      assert.match(status.lastReloadError?.errors.join() ?? '', /config file is empty/);
      assert.equal(status.lastReloadError?.at, clock.toISOString());
    }
    v.write({ 'config.yaml': 'mode: warn\nlimits:\n  maxTTL: 4h\n' });
    assert.ok(store.check()?.ok);
    assert.equal(store.current().limits.maxTTLms, 4 * 3_600_000);
    assert.equal(store.status().stale, false);
    store.close();
  });

  it('refuses an empty or whitespace-only file at start, naming how to get the defaults', () => {
    for (const text of ['', ' \n\t\n']) {
      const file = path.join(root, 'empty.yaml');
      writeFileSync(file, text);
      const opened = ConfigStore.fromFile(file);
      assert.ok(!opened.ok, JSON.stringify(text));
      if (opened.ok) return;
      assert.deepEqual(opened.errors.length, 1);
      assert.match(opened.errors[0]!, /^.*empty\.yaml: config file is empty \(only whitespace; no settings\); remove --config .*to use the embedded default/);
    }
  });

  it('treats a deleted file as a failed reload and keeps the config', () => {
    const file = path.join(root, 'plain.yaml');
    writeFileSync(file, 'mode: warn\n');
    const store = open(file);
    rmSync(file);
    const event = store.check();
    assert.ok(event && !event.ok && /cannot read config file: ENOENT/.test(event.errors.join()));
    assert.equal(store.current().mode, 'warn');
    store.close();
  });

  it('notices a change by itself once started', async () => {
    const v = volume('mode: enforce\n');
    const store = open(v.path('config.yaml'), 20);
    store.start();
    const event = nextEvent<ConfigReloadEvent>((l) => store.onReload(l));
    v.write({ 'config.yaml': 'mode: warn\n' });
    assert.ok((await event).ok);
    assert.equal(store.current().mode, 'warn');
    store.close();
  });

  it('holds a fixed config when there is no file', () => {
    const config = defaultConfig();
    const store = ConfigStore.fromConfig(config, { now: () => T0 });
    assert.equal(store.current(), config);
    assert.deepEqual(store.status(), { loaded: true, source: EMBEDDED_CONFIG_SOURCE, loadedAt: T0.toISOString(), stale: false });
    assert.equal(store.check(), undefined);
    const unsubscribe = store.onReload(() => assert.fail('a fixed config never reloads'));
    unsubscribe();
    store.start();
    store.close();
  });
});
