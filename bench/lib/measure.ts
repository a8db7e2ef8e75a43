import { percentileOfSorted } from '../../src/loadgen/stats.js';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeFixtures } from '../../scripts/make-fixtures.js';

export const median = (values: readonly number[]): number => percentileOfSorted([...values].sort((a, b) => a - b), 50);
export const p90 = (values: readonly number[]): number => percentileOfSorted([...values].sort((a, b) => a - b), 90);
export const p99 = (values: readonly number[]): number => percentileOfSorted([...values].sort((a, b) => a - b), 99);
export const p50 = median;

/** Runs `fn` `runs` times and returns each result (benchmarks report the median of these). */
export async function repeat<T>(runs: number, fn: (run: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < runs; i++) out.push(await fn(i));
  return out;
}

/** A models dir with the named fixture models, for benchmarks. */
export async function benchModels(names: string[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'infernode-bench-models-'));
  await makeFixtures(dir, (f) => names.includes(f.name));
  return dir;
}

export async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if ((await fetch(`${url}/readyz`).catch(() => null))?.status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the node did not become ready');
}

export const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : String(n));

export function machine(): string {
  return `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

/**
 * GET /healthz latencies (ms), probed every 5 ms for `seconds` while `clients` loops keep calling `load`
 * (each with its loop and iteration number); also how many loads completed.
 */
export async function healthzUnderLoad(baseUrl: string, load: (client: number, i: number) => Promise<unknown>, clients: number, seconds: number): Promise<{ latencies: number[]; loads: number }> {
  let stop = false;
  let loads = 0;
  const loaders = Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; !stop; i++) {
      await load(c, i).catch(() => undefined);
      loads++;
    }
  });
  await new Promise((r) => setTimeout(r, 300));
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    const t0 = performance.now();
    await (await fetch(`${baseUrl}/healthz`)).arrayBuffer();
    latencies.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 5));
  }
  stop = true;
  await Promise.all(loaders);
  return { latencies, loads };
}

/** The CPU device, for sessions made with the daemon's own settings (src/runtime/session-factory.ts). */
export const CPU = { id: 'cpu', kind: 'cpu', index: 0 } as const;
