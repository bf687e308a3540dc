import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { countByNamespace, createSweeperMetrics } from '../../../src/sweeper/metrics.js';

describe('grants by namespace', () => {
  it('counts grants per namespace', () => {
    const grants = [{ metadata: { namespace: 'a' } }, { metadata: { namespace: 'b' } }, { metadata: { namespace: 'a' } }];
    assert.deepEqual([...countByNamespace(grants)].sort(), [['a', 2], ['b', 1]]);
    assert.deepEqual([...countByNamespace([])], []);
  });

  it('the gauge follows the source at each scrape and drops namespaces that emptied', async () => {
    const registry = new Registry();
    let grants = [{ metadata: { namespace: 'team-a' } }, { metadata: { namespace: 'team-a' } }, { metadata: { namespace: 'team-b' } }];
    createSweeperMetrics(registry, () => grants);
    let text = await registry.metrics();
    assert.match(text, /^netpol_guard_sweeper_grants_by_namespace\{namespace="team-a"\} 2$/m);
    assert.match(text, /^netpol_guard_sweeper_grants_by_namespace\{namespace="team-b"\} 1$/m);
    grants = [{ metadata: { namespace: 'team-b' } }];
    text = await registry.metrics();
    assert.doesNotMatch(text, /namespace="team-a"/);
    assert.match(text, /^netpol_guard_sweeper_grants_by_namespace\{namespace="team-b"\} 1$/m);
  });

  it('is not registered without a source (once mode)', async () => {
    const registry = new Registry();
    createSweeperMetrics(registry);
    assert.doesNotMatch(await registry.metrics(), /grants_by_namespace/);
  });
});
