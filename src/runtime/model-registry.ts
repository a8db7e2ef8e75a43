import path from 'node:path';
import type { Logger } from 'pino';
import { ApiError } from '../server/errors.js';
import type { Metrics } from '../metrics/registry.js';
import type { Executor } from './executor.js';
import { MODEL_NAME, detectModel, scanModels } from './model-catalog.js';
import type { ModelMetadata, ModelSpec, ModelStatus, ModelType } from './model-types.js';

export interface ModelEntry {
  readonly name: string;
  spec: ModelSpec | null;
  status: ModelStatus;
  /** set once a load succeeded; a failed reload keeps serving with the old metadata */
  metadata: ModelMetadata | null;
  /** devices holding a loaded copy */
  devices: string[];
  lastError: string | null;
  createdUnix: number;
}

/** The models of --models-dir and where each is loaded. Main thread; the executors hold the sessions. */
export class ModelRegistry {
  private readonly entries = new Map<string, ModelEntry>();
  private readonly loadsInFlight = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(
    private readonly modelsDir: string,
    private readonly executors: Executor[],
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    for (const executor of executors) executor.on('crashed', () => void this.reloadOn(executor));
  }

  /** Scans the models dir and loads the preloaded ones; resolves when every preload settled. */
  async init(preload: 'all' | 'none' | string[]): Promise<void> {
    for (const found of await scanModels(this.modelsDir)) {
      this.entries.set(found.name, {
        name: found.name,
        spec: found.spec,
        status: found.spec ? 'unloaded' : 'failed',
        metadata: null,
        devices: [],
        lastError: found.problem,
        createdUnix: Math.floor(Date.now() / 1000),
      });
      if (found.problem) this.log.warn({ model: found.name, problem: found.problem }, 'model directory skipped');
    }
    // a warning, not a refusal: the models volume changes apart from the flags, and one model gone from it should
    // not keep every node of a fleet from starting
    const unknown = Array.isArray(preload) ? preload.filter((name) => !this.entries.has(name)) : [];
    if (unknown.length) this.log.warn({ models: unknown }, '--preload names models that --models-dir does not have');
    const wanted = [...this.entries.values()].filter(
      (e) => e.spec && (preload === 'all' ? e.spec.manifest.preload !== false : preload !== 'none' && preload.includes(e.name)),
    );
    if (!this.stopped) await Promise.all(wanted.map((e) => this.load(e.name)));
  }

  list(): ModelEntry[] {
    return [...this.entries.values()];
  }

  get(name: string): ModelEntry | undefined {
    return this.entries.get(name);
  }

  /** The model a job may run on, or the 4xx that says why not. */
  require(name: string, type?: ModelType): ModelEntry & { spec: ModelSpec; metadata: ModelMetadata } {
    const entry = MODEL_NAME.test(name) ? this.entries.get(name) : undefined;
    if (!entry) throw new ApiError('model_not_found', 'no model of that name on this node (GET /v1/models lists them)', 'model');
    // listed as failed by /v1/models, so not "not found": the operator has a model to fix
    if (!entry.spec) throw new ApiError('not_ready', `model cannot be used: ${entry.lastError}`, 'model', 5);
    if (type && entry.spec.type !== type) {
      throw new ApiError('invalid_input', `model is a ${entry.spec.type} model, not a ${type} model`, 'model');
    }
    if (!entry.metadata || entry.devices.length === 0) throw new ApiError('not_ready', `model ${this.unreadyReason(entry)}`, 'model', 5);
    return entry as ModelEntry & { spec: ModelSpec; metadata: ModelMetadata };
  }

  executorsFor(entry: ModelEntry): Executor[] {
    return this.executors.filter((e) => entry.devices.includes(e.device.id));
  }

  /**
   * Shutdown: starts no more loads, and resolves once none is in flight (an executor terminated inside a model load
   * aborts the whole process).
   */
  async stopLoading(): Promise<void> {
    this.stopped = true;
    while (this.loadsInFlight.size > 0) await Promise.allSettled([...this.loadsInFlight]);
  }

  get pendingLoads(): string[] {
    return this.list().filter((e) => e.status === 'loading').map((e) => e.name);
  }

  /** Loads (or reloads) a model; a load failure is reported in the entry (status, lastError), not thrown. */
  async load(name: string): Promise<ModelEntry> {
    if (!MODEL_NAME.test(name)) throw new ApiError('model_not_found', 'no model of that name on this node', 'name');
    let spec: ModelSpec;
    try {
      spec = await detectModel(path.join(this.modelsDir, name));
    } catch (err) {
      if (!this.entries.has(name)) throw new ApiError('model_not_found', 'no model directory of that name under --models-dir', 'name');
      return this.failed(this.entries.get(name)!, err);
    }
    // checked after the last await before the load is in flight, so that stopLoading() cannot miss it
    if (this.stopped) throw new ApiError('draining', 'the node is shutting down', undefined, 5);
    const entry = this.entries.get(name) ?? {
      name, spec, status: 'unloaded' as ModelStatus, metadata: null, devices: [], lastError: null, createdUnix: Math.floor(Date.now() / 1000),
    };
    this.entries.set(name, entry);
    entry.spec = spec;
    entry.status = 'loading';
    const targets = this.targetsFor(spec);
    const started = performance.now();
    try {
      const loaded = await this.inFlight(Promise.all(targets.map((executor) => executor.load(spec))));
      entry.metadata = loaded[0]!.metadata;
      entry.devices = targets.map((t) => t.device.id);
      entry.status = 'loaded';
      entry.lastError = null;
      for (const id of entry.devices) this.metrics.modelLoaded.set({ model: name, device: id }, 1);
      this.metrics.modelLoadSeconds.set({ model: name }, (performance.now() - started) / 1000);
      this.log.info({ model: name, type: spec.type, devices: entry.devices }, 'model loaded');
      return entry;
    } catch (err) {
      return this.failed(entry, err);
    }
  }

  async unload(name: string): Promise<ModelEntry> {
    const entry = MODEL_NAME.test(name) ? this.entries.get(name) : undefined;
    if (!entry) throw new ApiError('model_not_found', 'no model of that name on this node', 'name');
    const holders = this.executorsFor(entry);
    entry.devices = [];
    entry.metadata = null;
    entry.status = 'unloaded';
    await Promise.all(holders.map((e) => e.unload(name)));
    for (const e of holders) this.metrics.modelLoaded.set({ model: name, device: e.device.id }, 0);
    this.log.info({ model: name }, 'model unloaded');
    return entry;
  }

  private unreadyReason(entry: ModelEntry): string {
    if (entry.status === 'loading') return 'is still loading';
    return entry.status === 'failed' ? `failed to load: ${entry.lastError}` : 'is not loaded';
  }

  private targetsFor(spec: ModelSpec): Executor[] {
    const pinned = spec.manifest.device;
    if (typeof pinned !== 'string' || pinned === 'auto') return this.executors;
    const chosen = this.executors.filter((e) => e.device.id === pinned || e.device.kind === pinned);
    return chosen.length ? chosen : this.executors;
  }

  private failed(entry: ModelEntry, err: unknown): ModelEntry {
    entry.lastError = err instanceof Error ? err.message : String(err);
    // a failed reload keeps the copy that was serving
    entry.status = entry.metadata && entry.devices.length ? 'loaded' : 'failed';
    this.log.warn({ model: entry.name, error: entry.lastError }, 'model load failed');
    return entry;
  }

  private async reloadOn(executor: Executor): Promise<void> {
    const held = this.list().filter((e) => e.devices.includes(executor.device.id) && e.spec);
    this.log.error({ device: executor.device.id, models: held.map((e) => e.name) }, 'executor restarted; reloading its models');
    await Promise.all(held.map((e) => this.inFlight(executor.load(e.spec!)).catch((err) => this.failed(e, err))));
  }

  private async inFlight<T>(load: Promise<T>): Promise<T> {
    this.loadsInFlight.add(load);
    try {
      return await load;
    } finally {
      this.loadsInFlight.delete(load);
    }
  }
}
