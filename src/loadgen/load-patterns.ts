import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadLevel } from './options.js';
import { type RequestRecord, now } from './drivers/record.js';
import { poissonGapsMs, seededRandom } from './random.js';

export interface PointPlan {
  load: LoadLevel;
  /** The point stops issuing requests at whichever limit comes first; requests in flight are awaited. */
  durationMs: number | null;
  requests: number | null;
  seed: number;
  /** Aborted: issue no more requests (those in flight are still awaited). */
  stop?: AbortSignal;
}

export interface PointRun {
  startMs: number;
  records: RequestRecord[];
}

/** Sends request number `i` of the point and resolves when its answer is complete. */
export type Fire = (i: number) => Promise<RequestRecord>;

function limits(plan: PointPlan, startMs: number): (issued: number, atMs: number) => boolean {
  const maxRequests = plan.requests ?? Infinity;
  const deadline = plan.durationMs === null ? Infinity : startMs + plan.durationMs;
  return (issued, atMs) => issued < maxRequests && atMs < deadline && plan.stop?.aborted !== true;
}

/** Closed loop: `concurrency` senders, each sending its next request as soon as the previous one ends. */
async function closedLoop(concurrency: number, plan: PointPlan, fire: Fire, onRecord: (r: RequestRecord) => void): Promise<PointRun> {
  const startMs = now();
  const mayIssue = limits(plan, startMs);
  const records: RequestRecord[] = [];
  let issued = 0;
  const sender = async (): Promise<void> => {
    while (mayIssue(issued, now())) {
      const record = await fire(issued++);
      records.push(record);
      onRecord(record);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  return { startMs, records };
}

/** Open loop: Poisson arrivals at `rate` per second, sent whether or not earlier ones have answered. */
async function openLoop(rate: number, plan: PointPlan, fire: Fire, onRecord: (r: RequestRecord) => void): Promise<PointRun> {
  const gaps = poissonGapsMs(rate, seededRandom(plan.seed));
  const startMs = now();
  const mayIssue = limits(plan, startMs);
  const records: RequestRecord[] = [];
  const pending: Promise<void>[] = [];
  let nextAt = startMs;
  for (let i = 0; mayIssue(i, nextAt); i++) {
    const wait = nextAt - now();
    if (wait > 0) await sleep(wait, undefined, plan.stop ? { signal: plan.stop } : {}).catch(() => undefined);
    if (plan.stop?.aborted) break;
    pending.push(
      fire(i).then((record) => {
        records.push(record);
        onRecord(record);
      }),
    );
    nextAt += gaps.next().value;
  }
  await Promise.all(pending);
  return { startMs, records };
}

export function runLoad(plan: PointPlan, fire: Fire, onRecord: (r: RequestRecord) => void = () => undefined): Promise<PointRun> {
  return plan.load.mode === 'concurrency' ? closedLoop(plan.load.value, plan, fire, onRecord) : openLoop(plan.load.value, plan, fire, onRecord);
}
