import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCertsFlags } from '../../../src/cli/certs.js';

describe('certs flag parsing', () => {
  it('defaults to the netpol-guard Service in its namespace, output certs/', () => {
    const parsed = parseCertsFlags([]);
    assert.ok(parsed.ok);
    assert.equal(parsed.flags.service, 'netpol-guard');
    assert.equal(parsed.flags.namespace, 'netpol-guard');
    assert.equal(parsed.flags.outDir, 'certs');
    assert.equal(parsed.flags.rotateCA, false);
    assert.deepEqual(parsed.flags.ipAddresses, []);
  });

  it('collects repeated --ip, --dns and --component', () => {
    const parsed = parseCertsFlags(['--ip', '127.0.0.1', '--ip', '::1', '--ip', '127.0.0.1', '--dns', 'a.example', '--apply-to', 'm', '--component', 'c1', '--component', 'c2']);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.flags.ipAddresses, ['127.0.0.1', '::1']);
    assert.deepEqual(parsed.flags.extraDnsNames, ['a.example']);
    assert.deepEqual(parsed.flags.components, ['c1', 'c2']);
  });

  it('--help is help, not an error', () => {
    assert.deepEqual(parseCertsFlags(['--help']), { ok: false, help: true });
  });
});
