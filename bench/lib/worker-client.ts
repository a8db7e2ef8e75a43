// A benchmark reference (a bare loop, a peer library) served from a worker thread of its own, as the daemon's
// executor runs, so it shares neither a heap nor an event loop with the benchmark's HTTP client. The worker posts
// one message when ready (or instead of it, why it cannot be), then answers each request with one message.
import { Worker } from 'node:worker_threads';

export interface WorkerClient<Req, Res> {
  request(message: Req): Promise<Res>;
  close(): Promise<number>;
}

/** Starts the worker module `file` with `data`; resolves once it posts its first message, with that message. */
export async function startWorkerClient<Req, Res>(file: string, data: unknown): Promise<{ first: unknown; client: WorkerClient<Req, Res> }> {
  const worker = new Worker(file, { workerData: data });
  // one request at a time: each reply answers the one waiter
  let waiter: { resolve(v: unknown): void; reject(e: unknown): void } | null = null;
  worker.on('message', (m) => waiter?.resolve(m));
  worker.on('error', (e) => waiter?.reject(e));
  worker.on('exit', (code) => waiter?.reject(new Error(`the benchmark worker exited with ${code}`)));
  const reply = () => new Promise<unknown>((resolve, reject) => (waiter = { resolve, reject }));
  const first = await reply();
  return {
    first,
    client: {
      request: async (message) => {
        const answer = reply();
        worker.postMessage(message);
        return (await answer) as Res;
      },
      close: () => worker.terminate(),
    },
  };
}
