import t from 'tap';
import { EventLog, type SequencedEvent } from '../../src/jobs/event-log.js';
import type { JobView } from '../../src/jobs/types.js';

const view = {} as JobView;

t.test('events are numbered from 1 and replayed after a Last-Event-ID without repeats', async (t) => {
  const log = new EventLog();
  log.append({ event: 'status', data: view });
  log.append({ event: 'progress', data: { step: 1, total: 2 } });
  log.append({ event: 'progress', data: { step: 2, total: 2 } });
  const seen: SequencedEvent[] = [];
  const stop = log.subscribe(2, (e) => seen.push(e));
  log.append({ event: 'token', data: { text: 'x', index: 0 } });
  stop();
  log.append({ event: 'token', data: { text: 'y', index: 1 } });
  t.same(seen.map((e) => e.id), [3, 4]);
});

t.test('after the end only the final done is kept, and a late subscriber gets it at once', async (t) => {
  const log = new EventLog();
  log.append({ event: 'token', data: { text: 'secret', index: 0 } });
  log.append({ event: 'done', data: view });
  const seen: SequencedEvent[] = [];
  log.subscribe(0, (e) => seen.push(e));
  t.same(seen.map((e) => [e.id, e.event.event]), [[2, 'done']]);
  const late: SequencedEvent[] = [];
  log.subscribe(2, (e) => late.push(e));
  t.equal(late.length, 1, 'done comes even to a client that saw it, so the stream can end');
});
