/**
 * Shared run state of one server: whether it is shutting down. Readiness reads it, shutdown sets
 * it; kept apart from both so neither needs the other.
 */
export class ServerLifecycle {
  #shuttingDown = false;

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Marks the server as shutting down; returns false if it already was. */
  beginShutdown(): boolean {
    if (this.#shuttingDown) return false;
    this.#shuttingDown = true;
    return true;
  }
}
