import os from 'node:os';
import ort from 'onnxruntime-node';
import type { SessionFactory } from '../pipelines/executor-types.js';
import type { DeviceSpec } from './model-types.js';

function executionProviders(device: DeviceSpec): ort.InferenceSession.ExecutionProviderConfig[] {
  return device.kind === 'cuda' ? [{ name: 'cuda', deviceId: device.index } as ort.InferenceSession.ExecutionProviderConfig] : ['cpu'];
}

/**
 * On the CPU, ONNX Runtime leaves one core to the main thread and the media pool, and its idle threads sleep
 * instead of spinning: a spinning pool starves HTTP, SSE and /metrics on small hosts.
 */
export function cpuThreading(): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: Math.max(1, os.availableParallelism() - 1),
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

export function createSessionFactory(device: DeviceSpec): SessionFactory {
  return {
    device,
    create: (file) =>
      ort.InferenceSession.create(file, {
        executionProviders: executionProviders(device),
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
        ...(device.kind === 'cpu' ? cpuThreading() : {}),
      }),
  };
}
