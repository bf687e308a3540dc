/**
 * `netpol-guard check` end to end: the built CLI (dist/cli/main.js, which `npm test` builds first)
 * run as a child process against fixture files, temp directories and stdin.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { RULE_IDS } from '../../src/policy/ruleIds.js';
import { REPO_ROOT } from '../fixtures/paths.js';

// ajv-formats is CommonJS; under NodeNext its default import is the plugin function itself.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const CLI = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');
const NOW = '2026-11-23T18:00:00Z';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], options: { cwd?: string; stdin?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

const check = (args: string[], options?: { cwd?: string; stdin?: string }): Promise<Run> => run(['check', '--now', NOW, ...args], options);

let tmp: string;
before(() => {
  assert.ok(existsSync(CLI), `${CLI} is missing: build with npx tsc -p tsconfig.build.json (npm test does it)`);
  tmp = mkdtempSync(path.join(tmpdir(), 'netpol-guard-check-cli-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

function writeTmp(relative: string, text: string): string {
  const full = path.join(tmp, relative);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, text);
  return full;
}

const GOOD_GRANT = readFileSync(path.join(REPO_ROOT, 'test/fixtures/grants/temporary-db-access.yaml'), 'utf8');
const WIDE_GRANT = GOOD_GRANT.replace(/ {4}- namespaceSelector:[\s\S]*?app: report-builder\n/, '    - ipBlock:\n        cidr: 0.0.0.0/0\n');

describe('netpol-guard check: exit codes', () => {
  it('exits 0 when nothing is denied', async () => {
    const r = await check(['test/fixtures/grants']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        'test/fixtures/grants/expires-at-grant.yaml#0 batch/allow-batch-to-partner-sftp: ALLOWED',
        'test/fixtures/grants/temporary-db-access.yaml#0 payments/allow-reporting-to-orders-db: ALLOWED',
        // check has no cluster view: the rules that need one are named as not run.
        'note: rule target-selects-nothing skipped: needs a cluster view',
        'note: rule isolates-pods skipped: needs a cluster view',
        'note: rule blast-radius-targets skipped: needs a cluster view',
        'note: rule blast-radius-peers skipped: needs a cluster view',
        'note: rule grant-recreated skipped: needs a cluster view',
        'checked 2 NetworkPolicies in 2 files: 0 denied, 0 with warnings, 2 allowed; 0 other documents skipped',
        '',
      ].join('\n'),
    );
    assert.equal(r.stderr, '');
  });

  it('exits 1 when a policy is denied, listing every finding', async () => {
    const r = await check(['test/fixtures/k8s-docs']);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.split('\n');
    const at = lines.indexOf('test/fixtures/k8s-docs/multi-port-egress.yaml#0 default/multi-port-egress: DENIED');
    assert.ok(at >= 0, r.stdout);
    assert.equal(
      lines[at + 1],
      '  [port-range-too-wide] spec.egress[0].ports[0].endPort 32000-32768 spans 769 ports, more than the allowed 100; list the ports needed or keep the range within 100 ports',
    );
    assert.ok(lines.includes('test/fixtures/k8s-docs/default-deny-all.yaml#0 default/default-deny-all: ALLOWED'));
    assert.equal(lines.at(-2), 'checked 7 NetworkPolicies in 7 files: 4 denied, 0 with warnings, 3 allowed; 0 other documents skipped');
  });

  it('exits 1 for a structurally invalid policy, naming file, document and field', async () => {
    const r = await check(['test/fixtures/check/invalid.yaml']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^test\/fixtures\/check\/invalid\.yaml#0 payments\/typo: DENIED\n {2}\[invalid-manifest\] spec\.egress\[0\]\.port unknown field\n/);
    const syntax = await check(['-'], { stdin: 'kind: NetworkPolicy\nmetadata: {name: [\n' });
    assert.equal(syntax.code, 1);
    assert.match(syntax.stdout, /^<stdin>#0: DENIED\n {2}\[invalid-manifest\] YAML syntax error at line \d+, column \d+: /);
  });

  const usageCases: [string, string[], RegExp][] = [
    ['a missing file', ['test/fixtures/nope.yaml'], /netpol-guard check: test\/fixtures\/nope\.yaml: no such file or directory/],
    ['a bad --now', ['--now', 'yesterday', 'test/fixtures/grants'], /--now: "yesterday" is not an RFC 3339 timestamp/],
    ['an impossible --now', ['--now', '2026-02-30T00:00:00Z', 'test/fixtures/grants'], /--now: .*no such calendar date/],
    ['an unknown --format', ['--format', 'xml', 'test/fixtures/grants'], /--format must be one of text, json, sarif, not "xml"/],
    ['an unknown option', ['--colour', 'test/fixtures/grants'], /Unknown option '--colour'/],
    ['no PATH', [], /no PATH given/],
  ];
  for (const [name, args, expected] of usageCases) {
    it(`exits 2 for ${name}`, async () => {
      const r = await run(['check', ...args]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, expected);
      assert.equal(r.stdout, '', 'nothing is evaluated on a usage error');
    });
  }

  it('exits 2 for a bad config and prints every config error', async () => {
    const cfg = writeTmp('bad-config.yaml', 'limits:\n  maxTtl: 1h\nmode: loud\n');
    const r = await check(['--config', cfg, 'test/fixtures/grants']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid config:/);
    assert.match(r.stderr, /\/limits\/maxTtl: unknown key/);
    assert.match(r.stderr, /\/mode: must be one of "enforce", "warn"/);
    const missing = await check(['--config', path.join(tmp, 'absent.yaml'), 'test/fixtures/grants']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read config file: ENOENT/);
  });

  it('prints help with exit 0, and the top-level help lists check', async () => {
    const help = await run(['check', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: netpol-guard check \[options\] PATH\.\.\./);
    const top = await run(['--help']);
    assert.match(top.stdout, /^ {2}check {4}/m);
  });
});

describe('netpol-guard check: inputs', () => {
  it('reads stdin for -', async () => {
    const r = await check(['-'], { stdin: WIDE_GRANT });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^<stdin>#0 payments\/allow-reporting-to-orders-db: DENIED\n {2}\[ipblock-all-addresses\] spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr 0\.0\.0\.0\/0 /);
    const ok = await check(['-'], { stdin: GOOD_GRANT });
    assert.equal(ok.code, 0);
  });

  it('walks directories recursively for .yaml, .yml and .json, skipping hidden directories', async () => {
    writeTmp('tree/a.yaml', GOOD_GRANT);
    writeTmp('tree/nested/deeper/b.yml', GOOD_GRANT.replace('allow-reporting-to-orders-db', 'b'));
    writeTmp('tree/nested/c.json', JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'c' }, spec: { podSelector: {} } }));
    writeTmp('tree/nested/notes.txt', WIDE_GRANT);
    writeTmp('tree/.git/hooks.yaml', WIDE_GRANT);
    const r = await check(['tree'], { cwd: tmp });
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(
      r.stdout.split('\n').filter((l) => l.includes('#')),
      [
        'tree/a.yaml#0 payments/allow-reporting-to-orders-db: ALLOWED',
        'tree/nested/c.json#0 default/c: ALLOWED',
        'tree/nested/deeper/b.yml#0 payments/b: ALLOWED',
      ],
    );
  });

  it('warns on stderr when a directory holds no manifests, and exits 0', async () => {
    mkdirSync(path.join(tmp, 'empty'), { recursive: true });
    const r = await check(['empty'], { cwd: tmp });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'checked 0 NetworkPolicies in 0 files: 0 denied, 0 with warnings, 0 allowed; 0 other documents skipped\n');
    assert.match(r.stderr, /warning: no \.yaml, \.yml or \.json files found/);
  });

  it('unpacks kind: List and counts non-NetworkPolicy documents as skipped', async () => {
    const r = await check(['test/fixtures/check/list.json', 'test/fixtures/check/mixed.yaml']);
    assert.equal(r.code, 1);
    const lines = r.stdout.trimEnd().split('\n');
    assert.deepEqual(
      lines.filter((l) => !l.startsWith('  ')),
      [
        'test/fixtures/check/list.json#0.items[0] monitoring/metrics-scrape: ALLOWED',
        'test/fixtures/check/list.json#0.items[2] monitoring/debug-anything: DENIED',
        'test/fixtures/check/mixed.yaml#1 payments/orders-api-isolation: ALLOWED',
        // check has no cluster view: the rules that need one are named as not run.
        'note: rule target-selects-nothing skipped: needs a cluster view',
        'note: rule isolates-pods skipped: needs a cluster view',
        'note: rule blast-radius-targets skipped: needs a cluster view',
        'note: rule blast-radius-peers skipped: needs a cluster view',
        'note: rule grant-recreated skipped: needs a cluster view',
        'checked 3 NetworkPolicies in 2 files: 1 denied, 0 with warnings, 2 allowed; 3 other documents skipped',
      ],
    );
  });

  it('--now decides whether an expires-at lies in the past or too far ahead', async () => {
    const file = 'test/fixtures/grants/expires-at-grant.yaml';
    assert.equal((await run(['check', '--now', '2026-11-23T19:59:59Z', file])).code, 0);
    const past = await run(['check', '--now', '2026-11-23T20:00:00Z', file]);
    assert.equal(past.code, 1);
    assert.match(past.stdout, /\[expiry-in-past\] metadata\.annotations\["netpol-guard\.io\/expires-at"\] expiry 2026-11-23T20:00:00Z is not in the future/);
    const early = await run(['check', '--now', '2026-11-22T12:00:00+00:00', file]);
    assert.equal(early.code, 1);
    assert.match(early.stdout, /\[expiry-too-far\]/);
  });

  it('--user, --group and --config reach the engine', async () => {
    const cfg = writeTmp('guard.yaml', 'breakGlassGroups: [sre-oncall]\npermanentPrincipals:\n  users: [ci-bot]\n');
    const stdin = WIDE_GRANT;
    const breakGlass = await check(['--config', cfg, '--group', 'dev', '--group', 'sre-oncall', '-'], { stdin });
    assert.equal(breakGlass.code, 0, breakGlass.stdout);
    assert.match(breakGlass.stdout, /: WARN\n/);
    const bare = GOOD_GRANT.replace(/ {2}annotations:\n( {4}.*\n)+/, '');
    assert.equal((await check(['--config', cfg, '-'], { stdin: bare })).code, 1);
    assert.equal((await check(['--config', cfg, '--user', 'ci-bot', '-'], { stdin: bare })).code, 0);
    const warnMode = writeTmp('warn.json', '{"mode": "warn"}');
    assert.equal((await check(['--config', warnMode, 'test/fixtures/k8s-docs'])).code, 0);
  });
});

describe('netpol-guard check: machine formats', () => {
  it('--format json is parseable and agrees with the text verdicts', async () => {
    const r = await check(['--format', 'json', 'test/fixtures/k8s-docs', 'test/fixtures/check/mixed.yaml']);
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.stdout) as {
      formatVersion: number;
      tool: { name: string; version: string };
      evaluatedAt: string;
      user: { username: string; groups: string[] };
      summary: Record<string, number>;
      policies: { file: string; name: string; verdict: string; findings: { ruleId: string; line: number }[] }[];
      skipped: { file: string; kind: string }[];
    };
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(doc.formatVersion, 1);
    assert.deepEqual(doc.tool, { name: 'netpol-guard', version: pkg.version });
    assert.equal(doc.evaluatedAt, NOW);
    assert.deepEqual(doc.user, { username: 'netpol-guard-check', groups: [] });
    assert.deepEqual(doc.summary, { files: 8, policies: 8, allowed: 4, warned: 0, denied: 4, invalid: 0, skipped: 2 });
    const multi = doc.policies.find((p) => p.name === 'multi-port-egress');
    assert.equal(multi?.verdict, 'denied');
    assert.deepEqual(multi?.findings.map((f) => f.ruleId), ['port-range-too-wide', 'expiry-missing', 'ticket-missing']);
    assert.deepEqual(doc.skipped.map((s) => s.kind), ['Deployment', 'Service']);
  });

  /** The essentials of SARIF 2.1.0 that code-scanning consumers rely on. */
  const SARIF_ESSENTIALS = {
    type: 'object',
    required: ['$schema', 'version', 'runs'],
    properties: {
      $schema: { const: 'https://json.schemastore.org/sarif-2.1.0.json' },
      version: { const: '2.1.0' },
      runs: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          required: ['tool', 'results'],
          properties: {
            tool: {
              type: 'object',
              required: ['driver'],
              properties: {
                driver: {
                  type: 'object',
                  required: ['name', 'version', 'informationUri', 'rules'],
                  properties: {
                    name: { const: 'netpol-guard' },
                    version: { type: 'string', minLength: 1 },
                    informationUri: { type: 'string', format: 'uri' },
                    rules: {
                      type: 'array',
                      minItems: 1,
                      items: {
                        type: 'object',
                        required: ['id', 'shortDescription', 'fullDescription', 'help', 'defaultConfiguration'],
                        properties: {
                          id: { type: 'string', minLength: 1 },
                          shortDescription: { $ref: '#/$defs/message' },
                          fullDescription: { $ref: '#/$defs/message' },
                          help: { $ref: '#/$defs/message' },
                          defaultConfiguration: {
                            type: 'object',
                            required: ['level'],
                            properties: { level: { $ref: '#/$defs/level' }, enabled: { type: 'boolean' } },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
            results: {
              type: 'array',
              items: {
                type: 'object',
                required: ['ruleId', 'ruleIndex', 'level', 'message', 'locations', 'partialFingerprints'],
                properties: {
                  ruleId: { type: 'string', minLength: 1 },
                  ruleIndex: { type: 'integer', minimum: 0 },
                  level: { $ref: '#/$defs/level' },
                  message: { $ref: '#/$defs/message' },
                  locations: {
                    type: 'array',
                    minItems: 1,
                    items: {
                      type: 'object',
                      required: ['physicalLocation'],
                      properties: {
                        physicalLocation: {
                          type: 'object',
                          required: ['artifactLocation', 'region'],
                          properties: {
                            artifactLocation: {
                              type: 'object',
                              required: ['uri'],
                              properties: { uri: { type: 'string', format: 'uri-reference', minLength: 1 }, uriBaseId: { type: 'string' } },
                            },
                            region: {
                              type: 'object',
                              required: ['startLine'],
                              properties: { startLine: { type: 'integer', minimum: 1 }, startColumn: { type: 'integer', minimum: 1 } },
                            },
                          },
                        },
                      },
                    },
                  },
                  partialFingerprints: { type: 'object', minProperties: 1, additionalProperties: { type: 'string' } },
                },
              },
            },
          },
        },
      },
    },
    $defs: {
      message: { type: 'object', required: ['text'], properties: { text: { type: 'string', minLength: 1 } } },
      level: { enum: ['none', 'note', 'warning', 'error'] },
    },
  };

  interface SarifLog {
    runs: {
      tool: { driver: { rules: { id: string }[] } };
      results: {
        ruleId: string;
        ruleIndex: number;
        properties: { path: string; name?: string };
        locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number; startColumn: number } } }[];
      }[];
    }[];
  }

  it('--format sarif is valid SARIF 2.1.0 whose locations point at the offending lines', async () => {
    const r = await check(['--format', 'sarif', 'test/fixtures/k8s-docs', 'test/fixtures/check']);
    assert.equal(r.code, 1);
    const log = JSON.parse(r.stdout) as SarifLog;
    const ajv = new Ajv({ allErrors: true, strict: true });
    addFormats(ajv, ['uri', 'uri-reference']);
    const validate = ajv.compile(SARIF_ESSENTIALS);
    assert.ok(validate(log), JSON.stringify(validate.errors, null, 2));

    const run0 = log.runs[0]!;
    assert.ok(run0.results.length > 10);
    const lineOf = (uri: string, line: number): string => readFileSync(path.join(REPO_ROOT, decodeURIComponent(uri)), 'utf8').split('\n')[line - 1] ?? '';
    for (const result of run0.results) {
      assert.equal(run0.tool.driver.rules[result.ruleIndex]?.id, result.ruleId, 'ruleIndex points at the matching rule');
      const location = result.locations[0]!.physicalLocation;
      assert.ok(existsSync(path.join(REPO_ROOT, decodeURIComponent(location.artifactLocation.uri))), location.artifactLocation.uri);
      // These rules name a field that exists in the file (…ipBlock.cidr, …endPort): its line must name it.
      if (result.ruleId === 'ipblock-all-addresses' || result.ruleId === 'port-range-too-wide') {
        const leaf = result.properties.path.split('.').at(-1)!;
        const text = lineOf(location.artifactLocation.uri, location.region.startLine);
        assert.ok(text.includes(leaf), `${result.properties.path} → line "${text}"`);
      }
    }
    const find = (ruleId: string, name: string) => run0.results.find((x) => x.ruleId === ruleId && x.properties.name === name);
    const cidr = find('ipblock-all-addresses', 'debug-anything')!;
    assert.match(lineOf(cidr.locations[0]!.physicalLocation.artifactLocation.uri, cidr.locations[0]!.physicalLocation.region.startLine), /"cidr": "0\.0\.0\.0\/0"/);
    const endPort = find('port-range-too-wide', 'multi-port-egress')!;
    assert.equal(endPort.locations[0]!.physicalLocation.region.startLine, 20);
    const typo = find('invalid-manifest', 'typo')!;
    assert.equal(typo.properties.path, 'spec.egress[0].port');
    assert.equal(typo.locations[0]!.physicalLocation.region.startLine, 14);
    const ticket = find('ticket-missing', 'test-network-policy')!;
    assert.equal(lineOf(ticket.locations[0]!.physicalLocation.artifactLocation.uri, ticket.locations[0]!.physicalLocation.region.startLine), 'metadata:');
  });

  it('--format sarif with nothing to report still lists the rules', async () => {
    const r = await check(['--format', 'sarif', 'test/fixtures/grants']);
    assert.equal(r.code, 0);
    const log = JSON.parse(r.stdout) as SarifLog;
    assert.deepEqual(log.runs[0]!.results, []);
    // Every catalog rule (policy-too-large included) and the invalid-manifest pseudo rule.
    assert.equal(log.runs[0]!.tool.driver.rules.length, RULE_IDS.length + 1);
    assert.equal(RULE_IDS.length, 27);
  });
});
