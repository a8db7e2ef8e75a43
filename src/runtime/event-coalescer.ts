// Messages from the executor to the main thread, coalesced. Posting a message wakes the main thread, and where idle
// cores sleep deeply the sender pays for that wake: a few µs on bare metal, ~50 µs on a small VM, as long as a
// decode step of a small model. So events go out at most once an interval, sized so that posting takes at most
// POST_SHARE of the executor's time: the measured cost of a post divided by that share, kept between MIN and MAX.
// A model whose steps are longer than the interval still streams each token as it is sampled. A run's first message
// (its first token: the time to first token) and a message that ends a run go out at the end of the current task,
// with whatever is pending before them, in one post with the others of the same task (a batch of sequences often
// ends together).

export const MIN_INTERVAL_MS = 1;
export const MAX_INTERVAL_MS = 10;
export const POST_SHARE = 0.02;
/** weight of the newest measurement in the moving average of a post's cost */
const SMOOTHING = 0.2;

export interface CoalescerDeps<M> {
  send(batch: M[], transfer: ArrayBuffer[]): void;
  now(): number;
  /** runs `flush` after `delayMs` (at once, after pending I/O, when it is not positive) */
  schedule(flush: () => void, delayMs: number): void;
  /** runs `flush` once the current task and its microtasks are done, before any other task */
  soon(flush: () => void): void;
}

export class EventCoalescer<M> {
  private pending: M[] = [];
  private transfer = new Set<ArrayBuffer>();
  private scheduled = false;
  private flushingSoon = false;
  /** runs that have had their first message */
  private readonly started = new Set<string>();
  private lastFlush = -Infinity;
  /** ms; starts at the floor's cost, so that the first interval is MIN_INTERVAL_MS */
  private postCost = MIN_INTERVAL_MS * POST_SHARE;

  constructor(private readonly deps: CoalescerDeps<M>) {}

  get intervalMs(): number {
    return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, this.postCost / POST_SHARE));
  }

  /** Queues a message for the next interval's post; the first one of `run` goes out at the end of the task. */
  post(message: M, transfer: readonly ArrayBuffer[] = [], run?: string): void {
    if (run !== undefined && !this.started.has(run)) {
      this.started.add(run);
      this.postNow(message, transfer);
      return;
    }
    this.add(message, transfer);
    if (this.scheduled) return;
    this.scheduled = true;
    this.deps.schedule(() => this.flush(true), this.lastFlush + this.intervalMs - this.deps.now());
  }

  /** Sends a message at the end of the current task, after everything pending; `run`, if given, has ended. */
  postNow(message: M, transfer: readonly ArrayBuffer[] = [], run?: string): void {
    if (run !== undefined) this.started.delete(run);
    this.add(message, transfer);
    if (this.flushingSoon) return;
    this.flushingSoon = true;
    this.deps.soon(() => {
      this.flushingSoon = false;
      this.flush(false);
    });
  }

  private add(message: M, transfer: readonly ArrayBuffer[]): void {
    this.pending.push(message);
    for (const buffer of transfer) this.transfer.add(buffer);
  }

  /** `timed`: an interval's post, whose cost sets the interval (one that ends a run may carry a large result) */
  private flush(timed: boolean): void {
    if (timed) this.scheduled = false;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    const transfer = [...this.transfer];
    this.pending = [];
    this.transfer = new Set();
    const started = this.deps.now();
    this.deps.send(batch, transfer);
    this.lastFlush = this.deps.now();
    if (timed) this.postCost += (this.lastFlush - started - this.postCost) * SMOOTHING;
  }
}
