import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { TensorKernels } from './kernels-js.js';

/** What native/ exports (see the comments above each function there). */
export interface NativeAddon extends TensorKernels {
  secureZero(buf: Uint8Array): void;
  lockPages(buf: Uint8Array): { locked: boolean; dontDump: boolean; error?: string };
  allocateSlab(bytes: number): Buffer;
  /** Returns the GPU count; throws with the reason NVML cannot be used. */
  nvmlOpen(path: string): number;
  nvmlPoll(): Promise<NativeGpuReading[]>;
  nvmlClose(): void;
  /** Lowers each of `threads` libuv pool threads to `nice`, never raising one (see native/thread_priority.cc). */
  niceThreadPool(nice: number, threads: number): Promise<{ niced: number; error?: string }>;
  /** Lowers every thread but the main one, as they are now, never raising one; returns how many are at `nice` or lower. */
  niceOtherThreads(nice: number): number;
}

/** A field is null where the GPU does not report it. */
export interface NativeGpuReading {
  index: number;
  name: string;
  uuid: string;
  utilizationPercent: number | null;
  memoryUsedBytes: number | null;
  memoryTotalBytes: number | null;
  temperatureCelsius: number | null;
  powerWatts: number | null;
  energyJoules: number | null;
}

export interface NativeStatus {
  implementation: 'native' | 'js';
  /** one sentence for the start-up log line */
  reason: string;
}

export interface LoadedAddon {
  addon: NativeAddon | null;
  status: NativeStatus;
}

/** `INFERNODE_NATIVE`: unset or `auto` loads the addon when it can; `0` forces JS; `1` makes a load failure fatal. */
export const NATIVE_ENV = 'INFERNODE_NATIVE';

export const ADDON_PATH = fileURLToPath(new URL('../../../build/Release/infernode_native.node', import.meta.url));

export function loadAddon(mode: string | undefined, path: string): LoadedAddon {
  if (mode === '0') return { addon: null, status: { implementation: 'js', reason: `${NATIVE_ENV}=0 selects the JS kernels` } };
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    return { addon, status: { implementation: 'native', reason: `native addon loaded from ${path}` } };
  } catch (err) {
    if (mode === '1') throw new Error(`${NATIVE_ENV}=1 but the native addon cannot load: ${(err as Error).message}`);
    const firstLine = (err as Error).message.split('\n')[0];
    return { addon: null, status: { implementation: 'js', reason: `native addon cannot load (${firstLine}); using the JS kernels (run \`npx node-gyp rebuild\`)` } };
  }
}

let loaded: LoadedAddon | undefined;

function current(): LoadedAddon {
  loaded ??= loadAddon(process.env[NATIVE_ENV], ADDON_PATH);
  return loaded;
}

/** The addon, or null where the JS fallbacks run. Loaded on first use, once per thread. */
export function nativeAddon(): NativeAddon | null {
  return current().addon;
}

/** Which implementation runs and why, for one log line at start. */
export function nativeStatus(): NativeStatus {
  return current().status;
}
