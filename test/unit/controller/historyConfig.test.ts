import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildConfig, defaultConfig } from '../../../src/config/load.js';

describe('config: history.retention', () => {
  it('defaults to 90 days', () => {
    assert.equal(defaultConfig().history.retentionMs, 90 * 86_400_000);
  });

  it('takes a duration', () => {
    const r = buildConfig({ history: { retention: '30d' } });
    assert.ok(r.ok);
    assert.equal(r.config.history.retentionMs, 30 * 86_400_000);
  });

  for (const [history, problem] of [
    [{ retention: "0s" }, /\/history\/retention: "0s" is zero/],
    [{ retention: 'forever' }, /history\/retention/],
    [{ keep: '30d' }, /history/],
    [{ retention: null }, /history\/retention/],
  ] as const) {
    it(`refuses ${JSON.stringify(history)} naming the path`, () => {
      const r = buildConfig({ history });
      assert.equal(r.ok, false);
      assert.match((r as { errors: string[] }).errors.join('\n'), problem);
    });
  }
});
