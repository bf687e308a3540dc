import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, DEFAULT_RETRY_POLICY, parseRetryAfter, retryVerdict, withRetry, type RetryPolicy } from '../../../src/kube/retry.js';

const apiError = (code: number, headers: Record<string, string> = {}): Error =>
  Object.assign(new Error(`HTTP ${code}`), { code, headers, body: { reason: 'X', message: 'y' } });

function policy(overrides: Partial<RetryPolicy> = {}): RetryPolicy & { slept: number[] } {
  const slept: number[] = [];
  return { ...DEFAULT_RETRY_POLICY, random: () => 0.5, sleep: async (ms) => void slept.push(ms), ...overrides, slept };
}

describe('retry policy', () => {
  it('429 waits exactly Retry-After seconds', () => {
    assert.deepEqual(retryVerdict(apiError(429, { 'retry-after': '3' }), 1, policy()), { retry: true, cause: 'throttled', delayMs: 3_000 });
  });

  it('429 without a usable Retry-After falls back to backoff', () => {
    const v = retryVerdict(apiError(429, { 'retry-after': 'soon' }), 1, policy());
    assert.equal(v.retry, true);
    assert.equal(v.retry && v.delayMs, backoffDelay(1, policy()));
  });

  it('caps an absurd Retry-After', () => {
    const v = retryVerdict(apiError(429, { 'retry-after': '86400' }), 1, policy());
    assert.equal(v.retry && v.delayMs, DEFAULT_RETRY_POLICY.maxRetryAfterMs);
  });

  it('retries 500, 502, 503, 504 but not 501', () => {
    for (const code of [500, 502, 503, 504]) assert.equal(retryVerdict(apiError(code), 1, policy()).retry, true, String(code));
    assert.equal(retryVerdict(apiError(501), 1, policy()).retry, false);
  });

  it('does not retry answers: 400, 401, 403, 404, 409, 410, 422', () => {
    for (const code of [400, 401, 403, 404, 409, 410, 422]) assert.equal(retryVerdict(apiError(code), 1, policy()).retry, false, String(code));
  });

  it('retries dropped connections and request timeouts', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const fetchErr = Object.assign(new Error('request failed'), { name: 'FetchError', type: 'system', errno: 'ECONNREFUSED', code: 'ECONNREFUSED' });
    const timeout = Object.assign(new Error('aborted'), { name: 'AbortError' });
    for (const err of [reset, fetchErr, timeout]) assert.equal(retryVerdict(err, 1, policy()).retry, true, err.message);
    assert.equal(retryVerdict(new Error('something else'), 1, policy()).retry, false);
  });

  it('backoff doubles per attempt within [step/2, step], capped at maxDelayMs', () => {
    const low = { ...policy(), random: () => 0 };
    const high = { ...policy(), random: () => 0.999999 };
    for (let attempt = 1; attempt <= 12; attempt++) {
      const step = Math.min(DEFAULT_RETRY_POLICY.maxDelayMs, DEFAULT_RETRY_POLICY.baseDelayMs * 2 ** (attempt - 1));
      assert.equal(backoffDelay(attempt, low), Math.round(step / 2));
      assert.ok(backoffDelay(attempt, high) <= step && backoffDelay(attempt, high) >= step - 1);
    }
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('0', 60_000), 0);
    assert.equal(parseRetryAfter(' 12 ', 60_000), 12_000);
    const now = Date.parse('2030-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Tue, 01 Jan 2030 00:00:05 GMT', 60_000, now), 5_000);
    assert.equal(parseRetryAfter('-1', 60_000), undefined);
    assert.equal(parseRetryAfter('1.5', 60_000), undefined);
    assert.equal(parseRetryAfter(undefined, 60_000), undefined);
  });

  it('withRetry returns the first success and sleeps between failures', async () => {
    const p = policy();
    let calls = 0;
    const result = await withRetry(async () => {
      calls++;
      if (calls < 3) throw apiError(503);
      return 'ok';
    }, p);
    assert.equal(result, 'ok');
    assert.equal(calls, 3);
    assert.equal(p.slept.length, 2);
  });

  it('withRetry rethrows the last error after maxAttempts', async () => {
    const p = policy({ maxAttempts: 3 });
    let calls = 0;
    await assert.rejects(
      withRetry(async () => {
        calls++;
        throw apiError(500);
      }, p),
      (err: unknown) => (err as { code: number }).code === 500,
    );
    assert.equal(calls, 3);
    assert.equal(p.slept.length, 2);
  });

  it('withRetry rethrows a non-retryable error at once', async () => {
    const p = policy();
    await assert.rejects(withRetry(async () => Promise.reject(apiError(404)), p), (err: unknown) => (err as { code: number }).code === 404);
    assert.deepEqual(p.slept, []);
  });

  it('withRetry stops waiting when aborted', async () => {
    const controller = new AbortController();
    const p = policy({
      sleep: async () => {
        controller.abort();
      },
    });
    let calls = 0;
    await assert.rejects(
      withRetry(async () => {
        calls++;
        throw apiError(503);
      }, p, { signal: controller.signal }),
    );
    assert.equal(calls, 1);
  });

  it('reports each retry to onRetry', async () => {
    const notices: unknown[] = [];
    let calls = 0;
    await withRetry(async () => {
      if (calls++ === 0) throw apiError(429, { 'retry-after': '2' });
      return 1;
    }, policy(), { onRetry: (n) => notices.push(n) });
    assert.deepEqual(notices, [{ attempt: 1, delayMs: 2_000, status: 429, cause: 'throttled' }]);
  });
});
