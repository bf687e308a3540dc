import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseByteSize, parseFlagDuration, parseServeArgs, type ServeOptions } from '../../../src/cli/serve.js';

function options(argv: string[], env: NodeJS.ProcessEnv = {}): ServeOptions {
  const parsed = parseServeArgs(argv, env);
  if (parsed.ok !== true) assert.fail(`expected valid flags: ${JSON.stringify(parsed)}`);
  return parsed.options;
}

function errors(argv: string[], env: NodeJS.ProcessEnv = {}): string[] {
  const parsed = parseServeArgs(argv, env);
  if (parsed.ok !== false) assert.fail(`expected invalid flags: ${JSON.stringify(parsed)}`);
  return parsed.errors;
}

describe('netpol-guard serve flags', () => {
  it('has production defaults', () => {
    assert.deepEqual(options([]), {
      port: 8443,
      host: '0.0.0.0',
      tlsCert: undefined,
      tlsKey: undefined,
      tlsCa: undefined,
      certsDir: path.resolve('certs'),
      service: 'netpol-guard',
      namespace: 'netpol-guard',
      configFile: undefined,
      reloadIntervalMs: 2_000,
      bodyLimit: 4 * 1024 * 1024,
      shutdownTimeoutMs: 10_000,
      drainDelayMs: 2_000,
      logLevel: 'info',
      bounds: { headersTimeoutMs: 10_000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 95_000, tlsHandshakeTimeoutMs: 10_000, maxConnections: 256, largeBodyBytes: 262_144, largeBodySlots: 1 },
      clusterView: 'auto',
      kubeconfig: undefined,
    });
  });

  it('takes --cluster-view auto|required|off and --kubeconfig', () => {
    assert.equal(options(['--cluster-view', 'required', '--kubeconfig', '/k']).clusterView, 'required');
    assert.equal(options(['--cluster-view', 'off']).kubeconfig, undefined);
    assert.match(errors(['--cluster-view', 'sometimes']).join(), /--cluster-view: "sometimes" is not one of auto, required, off/);
  });

  it('reads the server bounds, and refuses unusable ones naming the flag', () => {
    const o = options([
      '--headers-timeout', '2s', '--request-timeout', '5s', '--keep-alive-timeout', '2m', '--tls-handshake-timeout', '500ms', '--max-connections', '32',
    ]);
    assert.deepEqual(o.bounds, { headersTimeoutMs: 2_000, requestTimeoutMs: 5_000, keepAliveTimeoutMs: 120_000, tlsHandshakeTimeoutMs: 500, maxConnections: 32, largeBodyBytes: 262_144, largeBodySlots: 1 });
    assert.match(errors(['--headers-timeout', '20s']).join(), /--headers-timeout \(20000\) must not be longer than --request-timeout \(10000\)/);
    assert.match(errors(['--request-timeout', '0']).join(), /--request-timeout: "0" is not a positive duration/);
    assert.match(errors(['--tls-handshake-timeout', 'soon']).join(), /--tls-handshake-timeout: "soon"/);
    assert.match(errors(['--max-connections', '0']).join(), /--max-connections: "0" is not a positive whole number/);
    assert.match(errors(['--max-connections=-5']).join(), /--max-connections: "-5"/);
  });

  it('reads the environment, and flags win over it', () => {
    const env = {
      PORT: '9443',
      HOST: '127.0.0.1',
      TLS_CERT_FILE: '/etc/tls/tls.crt',
      TLS_KEY_FILE: '/etc/tls/tls.key',
      TLS_CA_FILE: '/etc/tls/ca.crt',
      NETPOL_GUARD_CONFIG: '/etc/config/config.yaml',
      LOG_LEVEL: 'warn',
    };
    const fromEnv = options([], env);
    assert.equal(fromEnv.port, 9443);
    assert.equal(fromEnv.host, '127.0.0.1');
    assert.equal(fromEnv.tlsCert, '/etc/tls/tls.crt');
    assert.equal(fromEnv.tlsKey, '/etc/tls/tls.key');
    assert.equal(fromEnv.tlsCa, '/etc/tls/ca.crt');
    assert.equal(options(['--tls-ca', 'other-ca.crt'], env).tlsCa, 'other-ca.crt');
    assert.equal(fromEnv.configFile, '/etc/config/config.yaml');
    assert.equal(fromEnv.logLevel, 'warn');
    const fromFlags = options(['--port', '0', '--host', '::', '--config', 'mine.yaml', '--log-level', 'debug'], env);
    assert.equal(fromFlags.port, 0);
    assert.equal(fromFlags.host, '::');
    assert.equal(fromFlags.configFile, 'mine.yaml');
    assert.equal(fromFlags.logLevel, 'debug');
    assert.equal(options([], { PORT: '' }).port, 8443, 'an empty variable counts as unset');
  });

  it('parses sizes and durations', () => {
    const o = options(['--body-limit', '512Ki', '--shutdown-timeout', '30s', '--drain-delay', '0', '--reload-interval', '500ms']);
    assert.equal(o.bodyLimit, 512 * 1024);
    assert.equal(o.shutdownTimeoutMs, 30_000);
    assert.equal(o.drainDelayMs, 0);
    assert.equal(o.reloadIntervalMs, 500);
  });

  it('reports every bad flag', () => {
    const found = errors(['--port', '70000', '--tls-cert', 'a.crt', '--body-limit', 'big', '--shutdown-timeout', '0', '--log-level', 'loud']);
    assert.equal(found.length, 5, found.join('\n'));
    assert.match(found.join('\n'), /--port: "70000"/);
    assert.match(found.join('\n'), /--tls-cert and --tls-key .* must be given together/);
    assert.match(found.join('\n'), /--body-limit: "big"/);
    assert.match(found.join('\n'), /--shutdown-timeout: "0" is not a positive duration/);
    assert.match(found.join('\n'), /--log-level: "loud"/);
    assert.match(errors(['--drain-delay', '10s']).join(), /--drain-delay \(10000 ms\) must be shorter than --shutdown-timeout \(10000 ms\)/);
    assert.match(errors(['--bogus']).join(), /bogus/);
    assert.match(errors(['extra']).join(), /extra/);
  });

  it('answers --help', () => {
    assert.deepEqual(parseServeArgs(['--help'], {}), { ok: 'help' });
    assert.deepEqual(parseServeArgs(['-h'], {}), { ok: 'help' });
  });
});

describe('parseFlagDuration / parseByteSize', () => {
  it('accepts the documented forms only', () => {
    assert.equal(parseFlagDuration('0'), 0);
    assert.equal(parseFlagDuration('15'), 15_000);
    assert.equal(parseFlagDuration('250ms'), 250);
    assert.equal(parseFlagDuration('1m30s'), 90_000);
    assert.equal(parseFlagDuration('1.5s'), undefined);
    assert.equal(parseFlagDuration('-1s'), undefined);
    assert.equal(parseByteSize('1024'), 1024);
    assert.equal(parseByteSize('4Mi'), 4 * 1024 * 1024);
    assert.equal(parseByteSize('4MiB'), 4 * 1024 * 1024);
    assert.equal(parseByteSize('64KiB'), 64 * 1024);
    assert.equal(parseByteSize('4MB'), undefined);
    assert.equal(parseByteSize('-1'), undefined);
  });
});
