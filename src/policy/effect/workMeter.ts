/**
 * A work budget for the effect analysis, counted in steps, never in time: a decision must stay
 * pure and deterministic (the same request against the same view is judged the same on every
 * replica and in `check`), so the cap is a count of the analysis's own operations. One step is
 * about one pod handled (looked up, grouped, classified), one selector matched, one namespace
 * visited, one (target group × peer class × rule) pairing or one elementary port interval × side
 * of the address delta: each is a few tens of nanoseconds to a microsecond of work.
 *
 * The analysis charges before each loop whose size it knows, and right after each view lookup
 * (whose cost the view's index already makes proportional to its answer), so the work done past
 * the budget is at most one lookup's answer.
 */

/** Thrown inside the analysis when the budget is spent; analyzeEffectWithin turns it into a result. */
export class WorkBudgetExceeded extends Error {
  constructor(
    readonly budget: number,
    /** What the analysis was doing when the budget ran out (for the message). */
    readonly stage: string,
  ) {
    super(`effect analysis needs more than ${budget} steps (at: ${stage})`);
    this.name = 'WorkBudgetExceeded';
  }
}

export class WorkMeter {
  private used = 0;

  /** `budget`: steps allowed; Infinity for an unbounded analysis (offline tools that may take their time). */
  constructor(readonly budget: number) {}

  /** Steps spent so far. */
  get spent(): number {
    return this.used;
  }

  /** Counts `steps` of work about to be done (or just done by a lookup); throws past the budget. */
  charge(steps: number, stage: string): void {
    this.used += steps;
    if (this.used > this.budget) throw new WorkBudgetExceeded(this.budget, stage);
  }
}

/** A meter that never runs out (the analysis as offline tools and existing callers run it). */
export function unboundedMeter(): WorkMeter {
  return new WorkMeter(Infinity);
}
