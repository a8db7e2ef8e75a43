import type { Executor } from '../runtime/executor.js';
import type { Metrics } from '../metrics/registry.js';
import { ApiError } from '../server/errors.js';
import { DeviceQueue } from './device-queue.js';
import type { Job } from './job.js';
import type { JobType } from './types.js';

interface DeviceSlot {
  executor: Executor;
  queue: DeviceQueue;
  running: Record<JobType, number>;
  runningTotal: number;
  /** recent run seconds, for Retry-After */
  recentRunS: number;
}

export type StartJob = (job: Job, executor: Executor) => void;

/** Places jobs on devices (least loaded among those holding the model) and starts them within concurrency. */
export class Scheduler {
  private readonly slots: Map<string, DeviceSlot>;
  private readonly placement = new Map<Job, DeviceSlot>();

  constructor(
    executors: Executor[],
    queueSize: number,
    private readonly concurrency: Record<JobType, number>,
    private readonly metrics: Metrics,
    private readonly start: StartJob,
  ) {
    this.slots = new Map(
      executors.map((executor) => [
        executor.device.id,
        { executor, queue: new DeviceQueue(queueSize), running: { chat: 0, image: 0, video: 0, tensor: 0 }, runningTotal: 0, recentRunS: 1 },
      ]),
    );
    for (const id of this.slots.keys()) {
      this.metrics.jobsQueued.set({ device: id }, 0);
      this.metrics.jobsRunning.set({ device: id }, 0);
    }
  }

  /** Enqueues on the least loaded of `devices`, or throws 429 queue_full. */
  submit(job: Job, devices: string[]): void {
    const candidates = devices.map((id) => this.slots.get(id)).filter((s): s is DeviceSlot => !!s);
    const open = candidates.filter((s) => !s.queue.full);
    if (!open.length) {
      const slot = candidates[0];
      const retryAfter = slot ? Math.max(1, Math.ceil((slot.queue.size * slot.recentRunS) / Math.max(1, this.concurrency[job.type]))) : 1;
      throw new ApiError('queue_full', 'the device queue is full; retry later', undefined, Math.min(retryAfter, 60));
    }
    const slot = open.reduce((a, b) => (b.queue.size + b.runningTotal < a.queue.size + a.runningTotal ? b : a));
    job.device = slot.executor.device.id;
    slot.queue.push(job);
    this.placement.set(job, slot);
    this.dispatch(slot);
  }

  /** Removes a queued job; false when it already left the queue. */
  dequeue(job: Job): boolean {
    const slot = this.placement.get(job);
    if (!slot || !slot.queue.remove(job)) return false;
    this.placement.delete(job);
    this.gauges(slot);
    return true;
  }

  /** Frees the job's slot once its run has really stopped (not merely been marked canceled). */
  released(job: Job, runSeconds: number): void {
    const slot = this.placement.get(job);
    if (!slot) return;
    this.placement.delete(job);
    slot.running[job.type]--;
    slot.runningTotal--;
    slot.recentRunS = 0.8 * slot.recentRunS + 0.2 * runSeconds;
    this.dispatch(slot);
  }

  get queuedTotal(): number {
    let n = 0;
    for (const s of this.slots.values()) n += s.queue.size;
    return n;
  }

  private dispatch(slot: DeviceSlot): void {
    for (;;) {
      const job = slot.queue.take((type) => slot.running[type] < this.concurrency[type]);
      if (!job) break;
      slot.running[job.type]++;
      slot.runningTotal++;
      this.start(job, slot.executor);
    }
    this.gauges(slot);
  }

  private gauges(slot: DeviceSlot): void {
    this.metrics.jobsQueued.set({ device: slot.executor.device.id }, slot.queue.size);
    this.metrics.jobsRunning.set({ device: slot.executor.device.id }, slot.runningTotal);
  }
}
