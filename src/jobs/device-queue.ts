import type { Job } from './job.js';
import type { JobType } from './types.js';
import { JOB_TYPES } from './types.js';

const LEVELS = 10;

/**
 * A device's bounded queue: priority 9 leaves first, FIFO within a level. Kept per type so that a type at
 * its concurrency bound does not hold back the others behind it.
 */
export class DeviceQueue {
  private readonly lanes = new Map<JobType, Job[][]>(JOB_TYPES.map((t) => [t, Array.from({ length: LEVELS }, () => [])]));
  private readonly order = new WeakMap<Job, number>();
  private counter = 0;
  private count = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.count;
  }
  get full(): boolean {
    return this.count >= this.capacity;
  }

  push(job: Job): void {
    this.order.set(job, this.counter++);
    this.lanes.get(job.type)![job.options.priority]!.push(job);
    this.count++;
  }

  remove(job: Job): boolean {
    const lane = this.lanes.get(job.type)![job.options.priority]!;
    const at = lane.indexOf(job);
    if (at < 0) return false;
    lane.splice(at, 1);
    this.count--;
    return true;
  }

  /** Takes the next job among the types that `canRun` admits: highest priority, then oldest. */
  take(canRun: (type: JobType) => boolean): Job | null {
    let best: Job | null = null;
    for (const type of JOB_TYPES) {
      if (!canRun(type)) continue;
      const levels = this.lanes.get(type)!;
      for (let level = LEVELS - 1; level >= 0; level--) {
        const head = levels[level]![0];
        if (!head) continue;
        if (!best || level > best.options.priority || (level === best.options.priority && this.order.get(head)! < this.order.get(best)!)) best = head;
        break;
      }
    }
    if (best) this.remove(best);
    return best;
  }
}
