import t from 'tap';
import { EventCoalescer, MAX_INTERVAL_MS, MIN_INTERVAL_MS, POST_SHARE } from '../../src/runtime/event-coalescer.js';

/** A coalescer on a hand-driven clock: each send takes `sendMs`, and scheduled flushes run when the test says. */
function harness(sendMs: number) {
  let clock = 100;
  const sent: { batch: string[]; transfer: ArrayBuffer[] }[] = [];
  const timers: { flush: () => void; delayMs: number }[] = [];
  const soon: (() => void)[] = [];
  const coalescer = new EventCoalescer<string>({
    send: (batch, transfer) => {
      sent.push({ batch, transfer });
      clock += sendMs;
    },
    now: () => clock,
    schedule: (flush, delayMs) => void timers.push({ flush, delayMs }),
    soon: (flush) => void soon.push(flush),
  });
  const runTimer = () => timers.shift()!.flush();
  const endTask = () => soon.splice(0).forEach((flush) => flush());
  return { coalescer, sent, timers, runTimer, endTask, advance: (ms: number) => (clock += ms) };
}

t.test('events posted before the flush go out as one message, in order, with their transfers', async (t) => {
  const { coalescer, sent, timers, runTimer } = harness(0.01);
  const a = new ArrayBuffer(8);
  coalescer.post('token 1', [a]);
  coalescer.post('token 2');
  coalescer.post('token 3', [a]);
  t.equal(timers.length, 1, 'one flush scheduled for all three');
  t.ok(timers[0]!.delayMs <= 0, 'the first event after a quiet spell goes out without waiting');
  t.equal(sent.length, 0, 'nothing sent before the flush runs');
  runTimer();
  t.same(sent, [{ batch: ['token 1', 'token 2', 'token 3'], transfer: [a] }]);
});

t.test('events right after a post wait for the interval', async (t) => {
  const { coalescer, timers, runTimer, advance } = harness(0.01);
  coalescer.post('a');
  runTimer();
  advance(0.25);
  coalescer.post('b');
  t.ok(timers[0]!.delayMs > 0 && timers[0]!.delayMs <= coalescer.intervalMs, `waits ${timers[0]!.delayMs} ms of ${coalescer.intervalMs}`);
});

t.test('a message that ends a run goes out at the end of the task, after what is pending, in the same post', async (t) => {
  const { coalescer, sent, runTimer, endTask } = harness(0.01);
  const image = new ArrayBuffer(16);
  coalescer.post('progress 1');
  coalescer.postNow('done', [image]);
  t.equal(sent.length, 0, 'not before the task ends');
  endTask();
  t.same(sent, [{ batch: ['progress 1', 'done'], transfer: [image] }]);
  runTimer();
  t.equal(sent.length, 1, 'the flush scheduled before finds nothing left to send');
});

t.test('the ends of several runs in one task (a batch finishing together) go out in one post', async (t) => {
  const { coalescer, sent, endTask } = harness(0.01);
  coalescer.post('token a');
  coalescer.postNow('done a');
  coalescer.postNow('done b');
  coalescer.postNow('done c');
  endTask();
  t.same(sent.map((s) => s.batch), [['token a', 'done a', 'done b', 'done c']]);
  coalescer.postNow('done d');
  endTask();
  t.same(sent.map((s) => s.batch), [['token a', 'done a', 'done b', 'done c'], ['done d']], 'the next task posts again');
});

t.test('a run\'s first message goes out at the end of the task even right after a post; its next ones wait', async (t) => {
  const { coalescer, sent, timers, endTask, advance } = harness(0.01);
  coalescer.postNow('done job_A', [], 'job_A');
  endTask();
  advance(0.1);
  coalescer.post('first token of job_B', [], 'job_B');
  t.equal(timers.length, 0, 'no wait for the interval');
  endTask();
  t.same(sent.at(-1)!.batch, ['first token of job_B']);
  coalescer.post('second token of job_B', [], 'job_B');
  t.equal(timers.length, 1, 'the second one waits for the interval');
  t.ok(timers[0]!.delayMs > 0);
  coalescer.postNow('done job_B', [], 'job_B');
  endTask();
  coalescer.post('first token of a new run with the same id', [], 'job_B');
  endTask();
  t.same(sent.at(-1)!.batch, ['first token of a new run with the same id'], 'a run that ended starts afresh');
});

t.test('the interval follows what a post costs: cheap posts keep the floor, dear ones coalesce more, up to the cap', async (t) => {
  for (const [sendMs, expected] of [
    [0.002, MIN_INTERVAL_MS],
    [0.06, 0.06 / POST_SHARE],
    [5, MAX_INTERVAL_MS],
  ] as const) {
    const { coalescer, runTimer, advance } = harness(sendMs);
    t.equal(coalescer.intervalMs, MIN_INTERVAL_MS, 'starts at the floor');
    for (let i = 0; i < 50; i++) {
      coalescer.post(`token ${i}`);
      runTimer();
      advance(20);
    }
    t.ok(Math.abs(coalescer.intervalMs - expected) < 0.01 * expected, `posts of ${sendMs} ms: interval ${coalescer.intervalMs} ms, expected ${expected}`);
  }
});

t.test('a large final message does not stretch the interval', async (t) => {
  const { coalescer, endTask } = harness(3);
  for (let i = 0; i < 20; i++) {
    coalescer.postNow(`done ${i}`);
    endTask();
  }
  t.equal(coalescer.intervalMs, MIN_INTERVAL_MS);
});
