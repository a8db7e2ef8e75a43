/** GPU telemetry through NVML (libnvidia-ml), read off the main thread by the addon. */
import { nativeAddon, type NativeGpuReading } from './addon.js';

/** Path of the NVML library to load instead of `libnvidia-ml.so.1` from the loader's search path. */
export const NVML_LIB_ENV = 'INFERNODE_NVML_LIB';
const DEFAULT_NVML_LIB = 'libnvidia-ml.so.1';

/** One GPU at one poll; a field is null where the GPU does not report it. */
export type GpuReading = Readonly<NativeGpuReading>;

export interface Nvml {
  readonly gpuCount: number;
  /** Reads every GPU on the libuv thread pool. */
  poll(): Promise<GpuReading[]>;
  /** Shuts NVML down once no poll is in flight. Idempotent. */
  close(): void;
}

/** `reason` is one line for the log either way. */
export type NvmlOpenResult = { nvml: Nvml; reason: string } | { nvml: null; reason: string };

export function openNvml(libPath: string = process.env[NVML_LIB_ENV] || DEFAULT_NVML_LIB): NvmlOpenResult {
  const addon = nativeAddon();
  if (!addon) return { nvml: null, reason: 'no GPU telemetry: the native addon is not loaded' };
  let gpuCount: number;
  try {
    gpuCount = addon.nvmlOpen(libPath);
  } catch (err) {
    return { nvml: null, reason: `no GPU telemetry: NVML unavailable (${(err as Error).message})` };
  }
  let open = true;
  const nvml: Nvml = {
    gpuCount,
    poll: () => (open ? addon.nvmlPoll() : Promise.reject(new Error('NVML is closed'))),
    close() {
      if (!open) return;
      open = false;
      addon.nvmlClose();
    },
  };
  return { nvml, reason: `GPU telemetry from NVML (${libPath}): ${gpuCount} GPU(s)` };
}
