import assert from 'node:assert/strict';
import { buildConfig } from '../../../src/config/load.js';
import type { GuardConfig } from '../../../src/config/types.js';

/** The compiled config of `file`; fails the test when it is refused. */
export function build(file: unknown): GuardConfig {
  const result = buildConfig(file, 'cfg');
  if (!result.ok) assert.fail(result.errors.join('; '));
  return result.config;
}

/** The errors `file` is refused with; fails the test when it is accepted. */
export function errors(file: unknown): string[] {
  const result = buildConfig(file, 'cfg');
  assert.equal(result.ok, false, 'expected the config to be refused');
  return result.ok ? [] : result.errors;
}
