import t from 'tap';
import { publishInCallOrder } from '../../src/jobs/output-order.js';

/** A write that ends when the test says so. */
function pending<T>(): { promise: Promise<T>; resolve(value: T): void; reject(err: Error): void } {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

t.test('outputs are published in the order asked for when their writes end the other way round', async (t) => {
  const inOrder = publishInCallOrder();
  const published: string[] = [];
  const writes = [pending<string>(), pending<string>(), pending<string>()];
  const turns = writes.map((w) => inOrder(w.promise, (name) => void published.push(name)));
  writes[2]!.resolve('image-2');
  writes[1]!.resolve('image-1');
  await new Promise((r) => setImmediate(r));
  t.same(published, [], 'nothing goes out before the first write ends');
  writes[0]!.resolve('image-0');
  await Promise.all(turns);
  t.same(published, ['image-0', 'image-1', 'image-2']);
});

t.test('a failed write rejects its own call and the ones after it are still published in turn', async (t) => {
  const inOrder = publishInCallOrder();
  const published: string[] = [];
  const first = pending<string>();
  const second = pending<string>();
  const a = inOrder(first.promise, (name) => void published.push(name));
  const b = inOrder(second.promise, (name) => void published.push(name));
  second.resolve('image-1');
  first.reject(new Error('encoder failed'));
  await t.rejects(a, /encoder failed/);
  await b;
  t.same(published, ['image-1']);
});
