import type { Logger } from 'pino';
import type { Gauge } from 'prom-client';
import type { ServerClock } from '../kube/serverClock.js';

/**
 * Reports how far the local clock is from the API server's: the gauge always, a warning when
 * the difference passes the tolerance, and a note when it is back within. Expiry is judged by
 * the server's time either way (ServerClock); this only tells people their node's clock is off.
 */
export class ClockSkewReport {
  private warned = false;

  constructor(
    private readonly serverClock: ServerClock,
    private readonly gauge: Gauge,
    private readonly logger: Logger,
    private readonly toleranceMs: number,
  ) {}

  check(): void {
    const offsetMs = this.serverClock.offsetMs();
    if (offsetMs === undefined) return;
    const skewMs = -offsetMs;
    this.gauge.set(skewMs / 1_000);
    const beyond = Math.abs(skewMs) > this.toleranceMs;
    if (beyond && !this.warned) {
      this.logger.warn(
        { skewSeconds: skewMs / 1_000, toleranceSeconds: this.toleranceMs / 1_000 },
        'local clock differs from the API server\'s beyond tolerance; expiry is judged by the server\'s clock',
      );
    } else if (!beyond && this.warned) {
      this.logger.info({ skewSeconds: skewMs / 1_000 }, 'local clock agrees with the API server\'s again');
    }
    this.warned = beyond;
  }
}
