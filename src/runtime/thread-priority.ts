// Compute runs below the event loop: every thread but the main one (executors, the media pool, libuv's pool
// where sharp and libvips run, V8's helper threads, which do the workers' garbage collection too) and ffmpeg get
// a nice value above the main thread's 0, so when inference and encoding fill every core, the thread that
// answers HTTP, /healthz and /metrics still gets a core the moment it wakes (bench/RESULTS.md: /healthz p99
// under four image jobs). Linux keeps a nice value per thread and a new thread inherits its creator's, so a
// worker that lowers itself first covers the threads it goes on to make.
import os from 'node:os';
import { nativeAddon } from '../native/addon.js';

/** libuv's pool size: UV_THREADPOOL_SIZE, else 4 (libuv bounds it to 1..1024) */
function threadPoolSize(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1024) : 4;
}

/** Lowers the calling thread (a worker's first act), never raising it; returns why it could not, or null. */
export function lowerThisThread(nice: number): string | null {
  try {
    // pid 0 is the calling thread on Linux; an operator's own `nice` may already have put it lower
    if (os.getPriority(0) < nice) os.setPriority(0, nice);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Lowers every thread of the process but the main one, libuv's pool included even if it does not exist yet
 * (its threads are made by whichever thread first needs them, most often the main one). Once, at start, before
 * anything long runs in the pool; returns why it could not, or null.
 */
export async function lowerComputeThreads(nice: number): Promise<string | null> {
  if (nice === 0) return null;
  const addon = nativeAddon();
  if (!addon) return 'the native addon is not loaded';
  const threads = threadPoolSize();
  const { niced, error } = await addon.niceThreadPool(nice, threads);
  addon.niceOtherThreads(nice);
  return niced === threads ? null : `${niced} of ${threads} pool threads lowered${error ? `: ${error}` : ''}`;
}
