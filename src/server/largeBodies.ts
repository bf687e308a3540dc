import type { GuardFastify } from './types.js';

/**
 * Large request bodies are received and parsed a few at a time, in arrival order; small ones
 * (every AdmissionReview the API server sends for a real policy) never wait.
 *
 * Why: parsing is the one cost no limit inside the policy can avoid. JSON.parse of a 3.6 MiB body
 * with 100,000 elements blocks the event loop for tens of milliseconds, and twelve clients posting
 * such bodies at once would queue twelve of those ahead of every normal admission, and hold twelve
 * bodies (plus their parsed objects) in memory. Through the gate at most `slots` large bodies are
 * in flight; the rest wait before a byte of their body is read (TCP backpressure keeps it in the
 * kernel), and Node's request timeout ends a wait that lasts too long.
 */
export interface LargeBodyOptions {
  /** A body whose declared length exceeds this (or that has no declared length) is large. */
  thresholdBytes: number;
  /** Large bodies received and parsed at once. */
  slots: number;
}

export function installLargeBodyGate(app: GuardFastify, options: LargeBodyOptions): void {
  const gate = new Gate(options.slots);
  app.addHook('preParsing', (request, reply, payload, done) => {
    const declared = request.headers['content-length'];
    const chunked = request.headers['transfer-encoding'] !== undefined;
    if (declared === undefined && !chunked) return done(null, payload);
    if (!chunked && Number(declared) <= options.thresholdBytes) return done(null, payload);
    const ticket = gate.enter();
    // 'close' fires once the answer is sent or the connection is gone, whichever comes first.
    reply.raw.once('close', () => ticket.leave());
    ticket.admitted.then(() => done(null, payload));
  });
}

interface Ticket {
  /** Resolves when this body may be read. Never rejects. */
  admitted: Promise<void>;
  /** Frees the slot, or gives up the place in the queue; idempotent. */
  leave(): void;
}

/** A counting semaphore whose waiters can leave the queue (a connection closed while waiting). */
export class Gate {
  readonly #slots: number;
  #inUse = 0;
  readonly #queue: Array<{ admit: () => void; left: boolean }> = [];

  constructor(slots: number) {
    if (!(Number.isInteger(slots) && slots > 0)) throw new Error(`slots must be a positive whole number, got ${slots}`);
    this.#slots = slots;
  }

  get inUse(): number {
    return this.#inUse;
  }

  get waiting(): number {
    return this.#queue.filter((w) => !w.left).length;
  }

  enter(): Ticket {
    let state: 'waiting' | 'admitted' | 'left' = 'waiting';
    let admit: () => void = () => undefined;
    const admitted = new Promise<void>((resolve) => (admit = resolve));
    const waiter = {
      admit: () => {
        state = 'admitted';
        this.#inUse += 1;
        admit();
      },
      left: false,
    };
    if (this.#inUse < this.#slots) waiter.admit();
    else this.#queue.push(waiter);
    return {
      admitted,
      leave: () => {
        if (state === 'left') return;
        const wasAdmitted = state === 'admitted';
        state = 'left';
        waiter.left = true;
        if (wasAdmitted) {
          this.#inUse -= 1;
          this.#next();
        }
      },
    };
  }

  #next(): void {
    while (this.#inUse < this.#slots && this.#queue.length > 0) {
      const waiter = this.#queue.shift()!;
      if (!waiter.left) waiter.admit();
    }
  }
}
