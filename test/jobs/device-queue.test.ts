import t from 'tap';
import { DeviceQueue } from '../../src/jobs/device-queue.js';
import type { Job } from '../../src/jobs/job.js';
import type { JobType } from '../../src/jobs/types.js';

const job = (id: string, priority: number, type: JobType = 'tensor'): Job => ({ id, type, options: { priority } }) as unknown as Job;
const drain = (q: DeviceQueue, canRun: (t: JobType) => boolean = () => true): string[] => {
  const out: string[] = [];
  for (let j = q.take(canRun); j; j = q.take(canRun)) out.push(j.id);
  return out;
};

t.test('a higher priority leaves first, FIFO within a level', async (t) => {
  const q = new DeviceQueue(10);
  [job('a', 5), job('b', 9), job('c', 5), job('d', 0), job('e', 9)].forEach((j) => q.push(j));
  t.same(drain(q), ['b', 'e', 'a', 'c', 'd']);
});

t.test('FIFO holds across types within a level', async (t) => {
  const q = new DeviceQueue(10);
  [job('a', 5, 'image'), job('b', 5, 'chat'), job('c', 5, 'image')].forEach((j) => q.push(j));
  t.same(drain(q), ['a', 'b', 'c']);
});

t.test('a type at its concurrency bound does not block other types behind it', async (t) => {
  const q = new DeviceQueue(10);
  [job('img', 9, 'image'), job('chat', 1, 'chat')].forEach((j) => q.push(j));
  t.same(drain(q, (type) => type !== 'image'), ['chat']);
  t.equal(q.size, 1);
});

t.test('the queue reports full at its bound and removes queued jobs', async (t) => {
  const q = new DeviceQueue(2);
  const a = job('a', 5);
  q.push(a);
  q.push(job('b', 5));
  t.ok(q.full);
  t.ok(q.remove(a));
  t.notOk(q.remove(a));
  t.notOk(q.full);
  t.same(drain(q), ['b']);
});
