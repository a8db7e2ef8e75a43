import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { DeviceSpec } from './model-types.js';

export class DeviceError extends Error {
  override name = 'DeviceError';
}

const CPU: DeviceSpec = { id: 'cpu', kind: 'cpu', index: 0 };

/** onnxruntime-node ships the CUDA provider only when installed with ONNXRUNTIME_NODE_INSTALL=cuda12. */
export function cudaProviderInstalled(): boolean {
  const require = createRequire(import.meta.url);
  const root = path.dirname(require.resolve('onnxruntime-node/package.json'));
  const binDir = path.join(root, 'bin');
  const stack = [binDir];
  while (stack.length) {
    const dir = stack.pop()!;
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) stack.push(path.join(dir, entry.name));
      else if (entry.name.startsWith('libonnxruntime_providers_cuda')) return true;
    }
  }
  return false;
}

export const CUDA_MISSING =
  'the CUDA execution provider of onnxruntime-node is not installed; on a GPU host run `ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci` (see README), or use --device cpu';

export interface ResolvedDevices {
  devices: DeviceSpec[];
  /** one line for the log when `auto` fell back to the CPU */
  warning: string | null;
}

/** Turns --device into executors to start. `gpuCount` comes from NVML where it is present. */
export function resolveDevices(option: string, gpuCount: number | null, cudaInstalled = cudaProviderInstalled()): ResolvedDevices {
  if (option === 'cpu') return { devices: [CPU], warning: null };
  if (option === 'auto') {
    if (!cudaInstalled) return { devices: [CPU], warning: `no CUDA provider, running on the CPU: ${CUDA_MISSING}` };
    if (gpuCount === 0) return { devices: [CPU], warning: 'the CUDA provider is installed but no GPU was found; running on the CPU' };
    const n = gpuCount ?? 1;
    return { devices: Array.from({ length: n }, (_, i) => ({ id: `cuda:${i}`, kind: 'cuda', index: i })), warning: null };
  }
  if (!cudaInstalled) throw new DeviceError(`--device ${option}: ${CUDA_MISSING}`);
  const devices = option.split(',').map((id): DeviceSpec => ({ id, kind: 'cuda', index: Number(id.slice('cuda:'.length)) }));
  for (const d of devices) {
    if (gpuCount !== null && d.index >= gpuCount) throw new DeviceError(`--device ${d.id}: this host has ${gpuCount} GPU(s)`);
  }
  return { devices, warning: null };
}
