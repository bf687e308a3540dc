/**
 * The watch-mode schedule: which grants are due when. Holds only what deleting a grant needs,
 * never whole objects, so memory stays flat however large the policies are.
 */
export interface ScheduledGrant {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  /** When the grant expires (from expires-at), for lag accounting. */
  expiresAtMs: number;
  /** When to act: normally expiresAtMs, later when a failed deletion is being retried. */
  dueMs: number;
}

interface HeapNode {
  dueMs: number;
  uid: string;
  /** Matches the entry's generation only while this node is the entry's current position. */
  generation: number;
}

interface Entry {
  grant: ScheduledGrant;
  generation: number;
  /** The resync pass that last saw this grant; see sweepUnseen. */
  pass: number;
}

/**
 * A min-heap on due time with lazy deletion: updating or removing a grant leaves its old heap node
 * behind, recognised as stale by its generation and dropped when it surfaces. The heap is rebuilt
 * when stale nodes outnumber live ones, so churn cannot grow it without bound.
 */
export class GrantSchedule {
  private readonly entries = new Map<string, Entry>();
  private heap: HeapNode[] = [];
  private nextGeneration = 1;

  get size(): number {
    return this.entries.size;
  }

  has(uid: string): boolean {
    return this.entries.has(uid);
  }

  get(uid: string): ScheduledGrant | undefined {
    return this.entries.get(uid)?.grant;
  }

  /** Add or replace the grant with this uid, recording that resync pass `pass` saw it. */
  upsert(grant: ScheduledGrant, pass = 0): void {
    const existing = this.entries.get(grant.uid);
    if (existing && existing.grant.dueMs === grant.dueMs) {
      existing.grant = { ...grant };
      existing.pass = Math.max(existing.pass, pass);
      return;
    }
    const generation = this.nextGeneration++;
    this.entries.set(grant.uid, { grant: { ...grant }, generation, pass: Math.max(existing?.pass ?? 0, pass) });
    this.push({ dueMs: grant.dueMs, uid: grant.uid, generation });
    this.compactIfStale();
  }

  remove(uid: string): boolean {
    return this.entries.delete(uid);
  }

  /** Due time of the earliest grant, or undefined when nothing is scheduled. */
  nextDueMs(): number | undefined {
    this.dropStaleTop();
    return this.heap[0]?.dueMs;
  }

  /** Remove and return every grant due at or before `nowMs`, earliest first. */
  takeDue(nowMs: number): ScheduledGrant[] {
    const due: ScheduledGrant[] = [];
    for (;;) {
      this.dropStaleTop();
      const top = this.heap[0];
      if (top === undefined || top.dueMs > nowMs) break;
      this.pop();
      const entry = this.entries.get(top.uid);
      if (entry === undefined) continue;
      this.entries.delete(top.uid);
      due.push(entry.grant);
    }
    return due;
  }

  /** After a full relist: forget grants that pass `pass` did not see (deleted while unwatched). */
  sweepUnseen(pass: number): ScheduledGrant[] {
    const gone: ScheduledGrant[] = [];
    for (const [uid, entry] of this.entries) {
      if (entry.pass < pass) {
        this.entries.delete(uid);
        gone.push(entry.grant);
      }
    }
    this.compactIfStale();
    return gone;
  }

  private dropStaleTop(): void {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined) return;
      const entry = this.entries.get(top.uid);
      if (entry !== undefined && entry.generation === top.generation) return;
      this.pop();
    }
  }

  private compactIfStale(): void {
    if (this.heap.length <= 64 || this.heap.length <= 2 * this.entries.size) return;
    const live: HeapNode[] = [];
    for (const [uid, entry] of this.entries) live.push({ dueMs: entry.grant.dueMs, uid, generation: entry.generation });
    this.heap = [];
    for (const node of live) this.push(node);
  }

  private push(node: HeapNode): void {
    const heap = this.heap;
    heap.push(node);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.dueMs <= node.dueMs) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = node;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && heap[right]!.dueMs < heap[left]!.dueMs ? right : left;
      if (heap[child]!.dueMs >= last.dueMs) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}
