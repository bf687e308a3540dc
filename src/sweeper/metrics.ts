import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type DeletionOutcome = 'deleted' | 'already-gone' | 'dry-run';
export type FailedOperation = 'list' | 'watch' | 'read' | 'delete' | 'event';
export type RelistReason = 'startup' | 'resync' | 'watch-expired' | 'watch-failing' | 'list-expired';

/** Every metric the sweeper exports, registered on the Registry it is given (never the global one). */
export interface SweeperMetrics {
  deletions: Counter<'outcome'>;
  failures: Counter<'operation'>;
  invalidGrants: Counter;
  liveGrants: Gauge;
  grantsOpened: Counter;
  expiryLag: Histogram;
  lastSuccessfulPass: Gauge;
  relists: Counter<'reason'>;
  clockSkew: Gauge;
}

/** Read at scrape time: the temporary policies the watch holds now (none in once mode). */
export type GrantsSource = () => readonly { metadata?: { namespace?: string } }[];

/** Pure: how many grants each namespace holds. */
export function countByNamespace(grants: readonly { metadata?: { namespace?: string } }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const grant of grants) {
    const namespace = grant.metadata?.namespace ?? '';
    counts.set(namespace, (counts.get(namespace) ?? 0) + 1);
  }
  return counts;
}

export function createSweeperMetrics(registry: Registry, grants?: GrantsSource): SweeperMetrics {
  const registers = [registry];
  if (grants !== undefined) {
    new Gauge({
      name: 'netpol_guard_sweeper_grants_by_namespace',
      help: 'Temporary policies the watch holds now, by namespace (what the dashboard splits live grants by).',
      labelNames: ['namespace'],
      registers,
      collect() {
        // Rebuilt at each scrape so a namespace whose last grant went disappears.
        this.reset();
        for (const [namespace, count] of countByNamespace(grants())) this.set({ namespace }, count);
      },
    });
  }
  return {
    deletions: new Counter({
      name: 'netpol_guard_sweeper_deletions_total',
      help: 'Expired grants removed, by outcome: deleted by this sweeper, already gone (another replica or a person was first), or dry-run (would have deleted).',
      labelNames: ['outcome'],
      registers,
    }),
    failures: new Counter({
      name: 'netpol_guard_sweeper_failures_total',
      help: 'API calls that failed after retries, by operation. A delete failure means an expired grant is still in force.',
      labelNames: ['operation'],
      registers,
    }),
    invalidGrants: new Counter({
      name: 'netpol_guard_sweeper_invalid_grants_total',
      help: 'Policies labelled temporary whose expires-at is missing or unparseable (counted once per uid and resourceVersion); never deleted.',
      registers,
    }),
    liveGrants: new Gauge({
      name: 'netpol_guard_sweeper_live_grants',
      help: 'Temporary grants with a valid expiry that are still in force (watch mode: scheduled now; once mode: kept by the last pass).',
      registers,
    }),
    grantsOpened: new Counter({
      name: 'netpol_guard_sweeper_grants_opened_total',
      help: 'Temporary grants with a valid expiry that arrived on the watch as new (not the ones a full list found, so a restart or relist counts nothing again; one made during a relist is missed).',
      registers,
    }),
    expiryLag: new Histogram({
      name: 'netpol_guard_sweeper_expiry_lag_seconds',
      help: 'Seconds from a grant\'s expires-at to its deletion.',
      buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    }),
    lastSuccessfulPass: new Gauge({
      name: 'netpol_guard_sweeper_last_successful_pass_timestamp_seconds',
      help: 'Unix time of the last full list of temporary grants that completed with no failed deletion.',
      registers,
    }),
    relists: new Counter({
      name: 'netpol_guard_sweeper_relists_total',
      help: 'Full lists of temporary grants in watch mode, by why they were needed (list-expired: a continue token expired mid-list).',
      labelNames: ['reason'],
      registers,
    }),
    clockSkew: new Gauge({
      name: 'netpol_guard_sweeper_clock_skew_seconds',
      help: 'Local clock minus the API server\'s, from the Date header of its responses (positive: local is ahead). Expiry is judged by the server\'s time either way; a value past the tolerance is also logged.',
      registers,
    }),
  };
}
