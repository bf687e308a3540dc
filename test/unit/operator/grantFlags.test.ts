import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cidrProblem, parseGrantFlags, type GrantRequest } from '../../../src/operator/grantFlags.js';
import { formatPort, parsePort } from '../../../src/operator/ports.js';
import { formatSelector, parseNamespaceSelector, parseSelector } from '../../../src/operator/selectors.js';

function request(argv: string[]): GrantRequest {
  const r = parseGrantFlags(argv);
  assert.ok(r.ok, `expected ${argv.join(' ')} to parse: ${JSON.stringify(r)}`);
  return r.request;
}

function error(argv: string[]): string {
  const r = parseGrantFlags(argv);
  assert.ok(!r.ok && !r.help, `expected ${argv.join(' ')} to be rejected`);
  return r.error;
}

describe('parseGrantFlags', () => {
  it('reads the issue example as an ingress grant', () => {
    const r = request(['-n', 'payments', '--to', 'app=database', '--from-cidr', '198.51.100.0/24', '--port', '5432/TCP', '--for', '2h', '--ticket', 'INC-1234']);
    assert.equal(r.direction, 'ingress');
    assert.equal(r.namespace, 'payments');
    assert.deepEqual(r.podSelector, { app: 'database' });
    assert.deepEqual(r.cidrs, ['198.51.100.0/24']);
    assert.deepEqual(r.ports, [{ protocol: 'TCP', port: 5432 }]);
    assert.equal(r.ttl, '2h');
    assert.equal(r.ticket, 'INC-1234');
    assert.equal(r.output, 'apply');
    assert.equal(r.skipLocalCheck, false);
  });

  it('takes repeated --from-cidr and --port, dropping exact repeats', () => {
    const r = request(['--from-cidr', '10.1.0.0/24', '--from-cidr', '10.2.0.0/24', '--from-cidr', '10.1.0.0/24', '--port', '80', '--port', '443/tcp', '--port', '80/TCP']);
    assert.deepEqual(r.cidrs, ['10.1.0.0/24', '10.2.0.0/24']);
    assert.deepEqual(r.ports, [{ protocol: 'TCP', port: 80 }, { protocol: 'TCP', port: 443 }]);
  });

  it('names the egress sides after where the traffic goes', () => {
    const r = request(['--egress', '--from', 'app=api', '--to-cidr', '203.0.113.5/32', '--to-pods', 'app=cache', '--to-namespace', 'infra', '--port', '6379']);
    assert.equal(r.direction, 'egress');
    assert.deepEqual(r.podSelector, { app: 'api' });
    assert.deepEqual(r.cidrs, ['203.0.113.5/32']);
    assert.deepEqual(r.peerPods, { app: 'cache' });
    assert.deepEqual(r.peerNamespaces, { 'kubernetes.io/metadata.name': 'infra' });
  });

  it('points a flag of the other direction at the right one', () => {
    assert.match(error(['--to-cidr', '10.0.0.0/24']), /--to-cidr names destinations of an --egress grant; for an ingress grant use --from-cidr/);
    assert.match(error(['--from', 'app=x']), /an ingress grant takes its sources from --from-pods/);
    assert.match(error(['--egress', '--to', 'app=x']), /with --egress, --from\/--from-pod select the pods sending/);
    assert.match(error(['--egress', '--from-cidr', '10.0.0.0/24']), /with --egress use --to-cidr/);
    assert.match(error(['--egress', '--ingress']), /choose one of --ingress/);
  });

  it('leaves what the rules engine judges (ticket, ttl, ports, peers, target) absent rather than failing', () => {
    const r = request(['-n', 'x']);
    assert.equal(r.ticket, undefined);
    assert.equal(r.ttl, undefined);
    assert.deepEqual(r.ports, []);
    assert.deepEqual(r.cidrs, []);
    assert.equal(r.podSelector, undefined);
  });

  it('rejects malformed values naming the flag', () => {
    assert.match(error(['--for', '2 hours']), /^--for "2 hours" is not a duration/);
    assert.match(error(['--port', '70000']), /^--port "70000": port 70000 is outside 1-65535/);
    assert.match(error(['--port', '5432/ICMP']), /protocol "ICMP" is not one of TCP, UDP, SCTP/);
    assert.match(error(['--from-cidr', '10.0.0/8']), /^--from-cidr "10.0.0\/8" has an invalid IPv4 address/);
    assert.match(error(['--from-cidr', '198.51.100.7/24']), /did you mean 198.51.100.0\/24 \(the network\) or 198.51.100.7\/32/);
    assert.match(error(['--to', 'app']), /^--to "app" is not key=value/);
    assert.match(error(['--to', 'app=a', '--to', 'tier=b']), /--to given 2 times/);
    assert.match(error(['--to', 'app=a', '--to-pod', 'db-0']), /either --to or --to-pod/);
    assert.match(error(['--from-namespace', 'Bad_NS']), /neither a namespace name nor a key=value selector/);
    assert.match(error(['-n', 'Payments']), /namespace "Payments" is not a valid namespace name/);
    assert.match(error(['--name', 'Grant_1']), /--name "Grant_1" is not a valid object name/);
    assert.match(error(['-o', 'table']), /must be yaml or json/);
    assert.match(error(['--ticket', '']), /--ticket must not be empty/);
    assert.match(error(['--bogus']), /Unknown option '--bogus'/);
    assert.match(error(['extra']), /positional/i);
  });

  it('maps --dry-run to the explain report, -o picking its format (or yaml: the manifest)', () => {
    assert.equal(request(['--dry-run']).output, 'report');
    assert.equal(request(['--dry-run']).reportFormat, 'text');
    for (const format of ['text', 'json', 'dot'] as const) {
      const r = request(['--dry-run', '-o', format]);
      assert.deepEqual([r.output, r.reportFormat], ['report', format]);
    }
    assert.equal(request(['--dry-run', '-o', 'yaml']).output, 'yaml');
    assert.equal(request(['-o', 'json']).output, 'json');
    assert.equal(request(['-o', 'yaml']).output, 'yaml');
    assert.equal(request([]).output, 'apply');
    assert.equal(request([]).cluster, false);
    assert.equal(request(['--cluster']).cluster, true);
    assert.match(error(['-o', 'dot']), /^-o dot is a format of the --dry-run report: add --dry-run/);
    assert.match(error(['--dry-run', '-o', 'wide']), /with --dry-run must be text, json or dot \(the report\) or yaml \(the manifest\), not "wide"/);
    assert.match(error(['--cluster', '--namespace-labels', 'env=prod']), /either --cluster .* or --namespace-labels, not both/);
    assert.match(error(['--dry-run', '--namespace-labels', 'env=prod']), /--dry-run reads the live namespace's labels itself/);
    assert.equal(request(['--skip-local-check']).skipLocalCheck, true);
    const help = parseGrantFlags(['--help']);
    assert.ok(!help.ok && help.help);
  });
});

describe('ports', () => {
  it('parses numbers, ranges and names with a protocol that defaults to TCP', () => {
    assert.deepEqual(parsePort('5432'), { ok: true, port: { protocol: 'TCP', port: 5432 } });
    assert.deepEqual(parsePort('53/udp'), { ok: true, port: { protocol: 'UDP', port: 53 } });
    assert.deepEqual(parsePort('8000-8010/TCP'), { ok: true, port: { protocol: 'TCP', port: 8000, endPort: 8010 } });
    assert.deepEqual(parsePort('9000-9000'), { ok: true, port: { protocol: 'TCP', port: 9000 } });
    assert.deepEqual(parsePort('http/TCP'), { ok: true, port: { protocol: 'TCP', port: 'http' } });
    assert.equal(parsePort('0').ok, false);
    assert.equal(parsePort('10-5').ok, false);
    assert.equal(parsePort('my--port').ok, false);
    assert.equal(parsePort('averyveryverylongname').ok, false);
  });

  it('formats them back the way they are typed', () => {
    assert.equal(formatPort({ protocol: 'TCP', port: 8000, endPort: 8010 }), '8000-8010/TCP');
    assert.equal(formatPort({ port: 'http' }), 'http/TCP');
    assert.equal(formatPort({ protocol: 'UDP' }), 'all/UDP');
  });
});

describe('selectors', () => {
  it('parses k=v pairs and checks Kubernetes label syntax', () => {
    assert.deepEqual(parseSelector('app=db, tier=primary'), { ok: true, matchLabels: { app: 'db', tier: 'primary' } });
    assert.deepEqual(parseSelector('example.com/team='), { ok: true, matchLabels: { 'example.com/team': '' } });
    assert.match((parseSelector('app==db') as { error: string }).error, /single "="/);
    assert.match((parseSelector('app=db,app=web') as { error: string }).error, /twice/);
    assert.match((parseSelector('-app=db') as { error: string }).error, /label key "-app" is invalid/);
    assert.match((parseSelector('app=no spaces') as { error: string }).error, /label value "no spaces"/);
    assert.match((parseSelector('Bad_Prefix/app=x') as { error: string }).error, /invalid prefix/);
    assert.equal(parseSelector('  ').ok, false);
  });

  it('reads a bare namespace name as its kubernetes.io/metadata.name label', () => {
    assert.deepEqual(parseNamespaceSelector('payments'), { ok: true, matchLabels: { 'kubernetes.io/metadata.name': 'payments' } });
    assert.deepEqual(parseNamespaceSelector('team=payments'), { ok: true, matchLabels: { team: 'payments' } });
  });

  it('formats selectors with sorted keys and expressions', () => {
    assert.equal(
      formatSelector({
        matchLabels: { tier: 'b', app: 'a' },
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['prod', 'stage'] },
          { key: 'canary', operator: 'DoesNotExist' },
        ],
      }),
      'app=a,tier=b,env in (prod,stage),!canary',
    );
  });
});

describe('cidrProblem', () => {
  it('accepts networks and single hosts of both families', () => {
    for (const ok of ['198.51.100.0/24', '203.0.113.9/32', '2001:db8::/48', '2001:db8::1/128']) assert.equal(cidrProblem(ok), undefined, ok);
  });
  it('rejects host bits set in IPv6 too', () => {
    assert.match(cidrProblem('2001:db8::1/48')!, /host bits set beyond \/48/);
  });
});
