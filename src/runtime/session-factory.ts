import ort from 'onnxruntime-node';
import type { SessionFactory } from '../pipelines/executor-types.js';
import type { DeviceSpec } from './model-types.js';

function executionProviders(device: DeviceSpec): ort.InferenceSession.ExecutionProviderConfig[] {
  return device.kind === 'cuda' ? [{ name: 'cuda', deviceId: device.index } as ort.InferenceSession.ExecutionProviderConfig] : ['cpu'];
}

export function createSessionFactory(device: DeviceSpec): SessionFactory {
  return {
    device,
    create: (file) =>
      ort.InferenceSession.create(file, {
        executionProviders: executionProviders(device),
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
      }),
  };
}
