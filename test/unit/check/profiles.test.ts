import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatJson } from '../../../src/check/format/json.js';
import { formatText } from '../../../src/check/format/text.js';
import { checkSources } from '../../../src/check/run.js';
import { parseGrantFlags } from '../../../src/operator/grantFlags.js';
import { NOW, config } from '../policy/support.js';

const GRANT = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: payments, annotations: {netpol-guard.io/ttl: 4h, netpol-guard.io/ticket: INC-1}}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {app: api}}}], ports: [{port: 443}]}]
`;
const CONFIG = config({ profiles: [{ name: 'production', match: { namespaceSelector: { matchLabels: { env: 'prod' } } }, limits: { maxTTL: '2h' } }] });
const user = { username: 'ci', groups: [] };

describe('check with profiles', () => {
  it('--namespace-labels picks the profile the webhook would: the same manifest, two verdicts', () => {
    const prod = checkSources([{ name: 'g.yaml', text: GRANT }], { config: CONFIG, now: NOW, user, namespaceLabels: { env: 'prod' } });
    assert.equal(prod.results[0]!.verdict, 'denied');
    assert.equal(prod.results[0]!.profile, 'production');
    assert.match(formatText(prod), /^g\.yaml#0 payments\/db: DENIED \(profile production\)\n {2}\[expiry-too-far\]/);
    const json = JSON.parse(formatJson(prod, { toolVersion: '0', now: NOW.toISOString(), user })) as { policies: { profile?: string }[] };
    assert.equal(json.policies[0]!.profile, 'production');
    const staging = checkSources([{ name: 'g.yaml', text: GRANT }], { config: CONFIG, now: NOW, user, namespaceLabels: { env: 'staging' } });
    assert.equal(staging.results[0]!.verdict, 'allowed');
    assert.equal(staging.results[0]!.profile, 'default');
  });

  it('without labels a label-matched profile cannot be decided: judged by the default, with a note saying so', () => {
    const unknown = checkSources([{ name: 'g.yaml', text: GRANT }], { config: CONFIG, now: NOW, user });
    assert.equal(unknown.results[0]!.profile, 'default');
    assert.equal(
      formatText(unknown).split('\n')[1],
      '  note: a profile matches on namespace labels and none are known for payments; judged by profile default: give --namespace-labels or --cluster',
    );
  });

  it('a config without profiles prints no profile', () => {
    const plain = checkSources([{ name: 'g.yaml', text: GRANT }], { config: config(), now: NOW, user });
    assert.equal(plain.results[0]!.profile, undefined);
  });

  it('grant takes --namespace-labels', () => {
    const parsed = parseGrantFlags(['-n', 'payments', '--to', 'app=db', '--from-cidr', '10.0.0.0/24', '--port', '443', '--for', '1h', '--ticket', 'INC-1', '--namespace-labels', 'env=prod,team=pay']);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.request.namespaceLabels, { env: 'prod', team: 'pay' });
    const bad = parseGrantFlags(['-n', 'payments', '--to', 'app=db', '--from-cidr', '10.0.0.0/24', '--port', '443', '--for', '1h', '--ticket', 'INC-1', '--namespace-labels', 'env']);
    assert.deepEqual(bad, { ok: false, help: false, error: '--namespace-labels: "env" is not key=value' });
  });
});
