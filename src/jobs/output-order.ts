/**
 * Publishes a job's outputs in the order they were asked for, whatever order their writes end in: a job's images are
 * encoded and sealed in parallel on the media pool's threads, and image i must stay output i (the OpenAI images
 * answer lists the outputs in this order, and image i is the one made with seed + i).
 * A failed write rejects its own call only; the outputs after it are still published in turn.
 */
export type PublishInOrder = <T>(write: Promise<T>, publish: (written: T) => void) => Promise<void>;

export function publishInCallOrder(): PublishInOrder {
  let previous: Promise<unknown> = Promise.resolve();
  return (write, publish) => {
    const turn = Promise.all([write, previous]).then(([written]) => publish(written));
    previous = turn.catch(() => undefined);
    return turn;
  };
}
