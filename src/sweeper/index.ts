/** The sweeper's public surface, for the CLI and for any process that embeds it (e.g. `serve`). */
export { Sweeper, type PassSummary, type SweeperHealth, type SweeperOptions } from './sweeper.js';
export { sweepDecisionFor, type SweepAction, type SweepDecision } from './decide.js';
export { startHealthServer, type HealthServer, type HealthServerOptions } from './healthServer.js';
export { createPolicyApi, type PolicyApi } from './kubeApi.js';
export { systemClock, realSleep, type Clock, type Sleep, type Timer } from '../kube/clock.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../kube/retry.js';
