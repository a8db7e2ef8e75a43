import type { ModelRegistry } from '../runtime/model-registry.js';
import type { DeviceSpec } from '../runtime/model-types.js';

export interface DeviceReport {
  id: string;
  kind: DeviceSpec['kind'];
  provider: 'CUDAExecutionProvider' | 'CPUExecutionProvider';
  [extra: string]: unknown;
}

/** /readyz: ready once the scratch sweep ran, the executors are up and the preloads settled. */
export class Readiness {
  sweepDone = false;
  preloadDone = false;
  draining = false;
  /** extra facts for /readyz (ffmpeg, GPU telemetry), filled in by whoever knows them */
  readonly facts: Record<string, unknown> = {};

  constructor(
    private readonly devices: DeviceSpec[],
    private readonly registry: ModelRegistry,
    private readonly deviceExtras: () => Record<string, object> = () => ({}),
  ) {}

  get ready(): boolean {
    return this.sweepDone && this.preloadDone && !this.draining;
  }

  reasons(): string[] {
    const reasons: string[] = [];
    if (this.draining) reasons.push('draining: the node is shutting down');
    if (!this.sweepDone) reasons.push('the start-up sweep of scratch storage has not finished');
    if (!this.preloadDone) reasons.push(`models still loading: ${this.registry.pendingLoads.join(', ') || 'preload in progress'}`);
    return reasons;
  }

  report(): { devices: DeviceReport[]; models: Array<{ name: string; type: string | null; status: string; devices: string[]; error?: string }> } {
    const extras = this.deviceExtras();
    return {
      devices: this.devices.map((d) => ({
        id: d.id,
        kind: d.kind,
        provider: d.kind === 'cuda' ? 'CUDAExecutionProvider' : 'CPUExecutionProvider',
        ...(extras[d.id] ?? {}),
      })),
      models: this.registry.list().map((m) => ({ name: m.name, type: m.spec?.type ?? null, status: m.status, devices: m.devices, ...(m.lastError ? { error: m.lastError } : {}) })),
    };
  }
}
