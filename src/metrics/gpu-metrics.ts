/**
 * The infernode_gpu_* metrics of API.md. A timer polls NVML (off the main thread) into a cache; scrapes
 * read the cache, so /metrics never waits on the driver.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { GpuReading, Nvml } from '../native/nvml.js';

export interface GpuMetricsOptions {
  /** between polls; default 5000 */
  intervalMs?: number;
  /** a failed poll empties the cache (stale figures would mislead); this hears why */
  onPollError?: (err: Error) => void;
}

/** What /readyz shows of a GPU, keyed by device id `cuda:<NVML index>`. */
export interface GpuDeviceFacts {
  gpu: {
    name: string;
    uuid: string;
    utilization_ratio: number | null;
    memory_used_bytes: number | null;
    memory_total_bytes: number | null;
    temperature_celsius: number | null;
    power_watts: number | null;
  };
}

export interface GpuMetrics {
  latestReadings(): readonly GpuReading[];
  /** for Readiness's deviceExtras */
  deviceFacts(): Record<string, GpuDeviceFacts>;
  /** polls now; the timer calls it too */
  refresh(): Promise<void>;
  stop(): void;
}

const DEFAULT_INTERVAL_MS = 5000;
const LABELS = ['gpu', 'uuid'] as const;
type Field = 'utilizationPercent' | 'memoryUsedBytes' | 'memoryTotalBytes' | 'temperatureCelsius' | 'powerWatts';

const GAUGES: ReadonlyArray<{ name: string; help: string; field: Field; scale: number }> = [
  { name: 'infernode_gpu_utilization_ratio', help: 'Fraction of the last sample period the GPU was busy (NVML).', field: 'utilizationPercent', scale: 0.01 },
  { name: 'infernode_gpu_memory_used_bytes', help: 'GPU memory in use.', field: 'memoryUsedBytes', scale: 1 },
  { name: 'infernode_gpu_memory_total_bytes', help: 'GPU memory in all.', field: 'memoryTotalBytes', scale: 1 },
  { name: 'infernode_gpu_temperature_celsius', help: 'GPU core temperature.', field: 'temperatureCelsius', scale: 1 },
  { name: 'infernode_gpu_power_watts', help: 'GPU power draw.', field: 'powerWatts', scale: 1 },
];

function labelsOf(r: GpuReading) {
  return { gpu: String(r.index), uuid: r.uuid };
}

const NO_GPU_METRICS: GpuMetrics = {
  latestReadings: () => [],
  deviceFacts: () => ({}),
  refresh: async () => {},
  stop: () => {},
};

/** Without NVML nothing is registered and every reading is empty. */
export function registerGpuMetrics(registry: Registry, nvml: Nvml | null, options: GpuMetricsOptions = {}): GpuMetrics {
  if (!nvml) return NO_GPU_METRICS;
  let latest: readonly GpuReading[] = [];
  const registers = [registry];

  for (const { name, help, field, scale } of GAUGES) {
    new Gauge({
      name,
      help,
      labelNames: LABELS,
      registers,
      collect() {
        this.reset();
        for (const r of latest) {
          const value = r[field];
          if (value !== null) this.set(labelsOf(r), value * scale);
        }
      },
    });
  }
  // NVML's figure is the total since the driver loaded, which is what a counter exports.
  new Counter({
    name: 'infernode_gpu_energy_joules_total',
    help: 'GPU energy used since the driver loaded (NVML total energy consumption).',
    labelNames: LABELS,
    registers,
    collect() {
      this.reset();
      for (const r of latest) if (r.energyJoules !== null) this.inc(labelsOf(r), r.energyJoules);
    },
  });

  let inFlight: Promise<void> | null = null;
  const refresh = (): Promise<void> => {
    inFlight ??= nvml
      .poll()
      .then(
        (readings) => {
          latest = readings;
        },
        (err: Error) => {
          latest = [];
          options.onPollError?.(err);
        },
      )
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  };
  void refresh();
  const timer = setInterval(() => void refresh(), options.intervalMs ?? DEFAULT_INTERVAL_MS);
  timer.unref();

  return {
    latestReadings: () => latest,
    deviceFacts: () =>
      Object.fromEntries(
        latest.map((r): [string, GpuDeviceFacts] => [
          `cuda:${r.index}`,
          {
            gpu: {
              name: r.name,
              uuid: r.uuid,
              utilization_ratio: r.utilizationPercent === null ? null : r.utilizationPercent / 100,
              memory_used_bytes: r.memoryUsedBytes,
              memory_total_bytes: r.memoryTotalBytes,
              temperature_celsius: r.temperatureCelsius,
              power_watts: r.powerWatts,
            },
          },
        ]),
      ),
    refresh,
    stop: () => clearInterval(timer),
  };
}
