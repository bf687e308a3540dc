/** The grants and records the controller benchmark runs on: deterministic, like the sweeper's. */
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { GuardConfig } from '../../src/config/types.js';
import { type GrantRecord, recordClosed, recordOpened } from '../../src/controller/grantRecord.js';
import { grantPolicy } from '../../test/helpers/fakeApiServer.js';

/** The benchmark's "now": fixed, so records past the retention are the same ones in every run. */
export const BENCH_NOW = Date.parse('2030-06-01T00:00:00Z');
export const RETENTION_MS = 90 * 86_400_000;
export const NAMESPACES = 100;

export function benchUid(i: number): string {
  return `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
}

/** Grant number i: live for hours past BENCH_NOW unless `expiresInMs` says otherwise. */
export function benchGrant(i: number, expiresInMs = 3_600_000 + (i % 7_200) * 1_000, now = BENCH_NOW): V1NetworkPolicy {
  return grantPolicy({
    namespace: `team-${String(i % NAMESPACES).padStart(3, '0')}`,
    name: `grant-${String(i).padStart(6, '0')}`,
    uid: benchUid(i),
    expiresAt: new Date(now + expiresInMs),
    grantedAt: new Date(now - 3_600_000),
    ticket: `INC-${1000 + (i % 9000)}`,
    requestedBy: `user${i % 500}@example.com`,
  });
}

/** The open record of grant i, as a leader would have written it an hour after it opened. */
export function openRecord(i: number, config: GuardConfig, now = BENCH_NOW): GrantRecord {
  return recordOpened(benchGrant(i, undefined, now), new Date(now - 3_600_000), config);
}

/** A closed (Expired) record; odd i closed past the retention, even i a day ago. */
export function closedRecord(i: number, config: GuardConfig): GrantRecord {
  const closedAt = BENCH_NOW - (i % 2 === 1 ? RETENTION_MS + 86_400_000 : 86_400_000);
  const opened = recordOpened(benchGrant(i, 0, closedAt), new Date(closedAt - 3_600_000), config);
  return recordClosed(opened, 'Expired', new Date(closedAt));
}
