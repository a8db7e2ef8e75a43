import { rmdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import type { DestinationStream, Logger } from 'pino';
import type { Config } from '../config/options.js';
import { JobService, type WebhookSink } from '../jobs/job-service.js';
import { createMetrics, type Metrics } from '../metrics/registry.js';
import { registerGpuMetrics } from '../metrics/gpu-metrics.js';
import type { Nvml } from '../native/nvml.js';
import { MediaPool } from '../media/pool.js';
import { createJobHandlers } from '../pipelines/handlers.js';
import type { FfmpegUnavailable, VideoEncoding } from '../media/ffmpeg-binary.js';
import { Executor } from '../runtime/executor.js';
import { ModelRegistry } from '../runtime/model-registry.js';
import type { DeviceSpec } from '../runtime/model-types.js';
import { reapDeadRoots } from '../scratch/dead-roots.js';
import { claimScratchRoot } from '../scratch/scratch-claim.js';
import { resolveScratchRoot } from '../scratch/scratch-root.js';
import { ScratchStore } from '../scratch/scratch-store.js';
import { memoryFiles, pooledFiles } from '../scratch/scratch-files.js';
import { installAccessLog } from './access-log.js';
import { clientErrorHandler } from './client-errors.js';
import { installErrorHandling } from './error-handler.js';
import { createLogger } from './logger.js';
import { Readiness } from './readiness.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { kserveRoutes } from './routes/kserve.js';
import { metricsRoutes } from './routes/metrics.js';
import { modelRoutes } from './routes/models.js';
import { openaiImageRoutes } from './routes/openai-images.js';
import { openaiTextRoutes } from './routes/openai-text.js';
import { openapiRoutes } from './routes/openapi.js';
import type { RouteContext } from './routes/route-context.js';
import './fastify-types.js';
import { lowerComputeThreads } from '../runtime/thread-priority.js';
import { countRejections } from './rejection-metrics.js';

export interface NodeOptions {
  config: Config;
  devices: DeviceSpec[];
  /** where pino writes (tests capture it); stdout by default */
  logStream?: DestinationStream;
  /** made once the logger exists; throws ConfigError for a bad --webhook-allow or a missing secret */
  webhooks: (log: Logger) => WebhookSink;
  /** registers the auth plugin */
  auth: (app: FastifyInstance) => Promise<void>;
  https?: Record<string, unknown> | null;
  /** NVML, where the host has it: GPU metrics and /readyz device facts */
  nvml?: Nvml | null;
  /** lines for the start-up log (device fallback, native addon, NVML, ffmpeg) */
  startupNotes?: Array<{ level: 'info' | 'warn'; msg: string; facts?: Record<string, unknown> }>;
  /** extra facts shown in /readyz (ffmpeg binary and version, ...) */
  readyFacts?: Record<string, unknown>;
  /** ffmpeg and its encoders for video jobs, or why video jobs cannot run */
  videoEncoding: VideoEncoding | FfmpegUnavailable;
}

/** One inference node: its services and its HTTP faces. Built the same way by the CLI and by the tests. */
export interface InfernodeNode {
  app: FastifyInstance;
  config: Config;
  log: Logger;
  metrics: Metrics;
  jobs: JobService;
  registry: ModelRegistry;
  scratch: ScratchStore;
  readiness: Readiness;
  executors: Executor[];
  media: MediaPool;
  /** sweeps scratch (claimed by buildNode), starts listening (unless `listen` is false), then loads the preloaded models */
  start(options?: { listen?: boolean }): Promise<void>;
  /** SIGTERM: drain, erase everything, close */
  shutdown(): Promise<void>;
}

export async function buildNode(options: NodeOptions): Promise<InfernodeNode> {
  const { config } = options;
  const log = createLogger(config.logLevel, options.logStream);
  // before the executors and the media pool exist: their threads would keep a refused start from exiting
  const webhooks = options.webhooks(log);
  const metrics = createMetrics();
  const unlowered = await lowerComputeThreads(config.computeNice);
  if (unlowered) log.warn({ reason: unlowered }, 'compute threads keep the main thread\'s priority');
  const root = await resolveScratchRoot(config.scratchDir, config.port);
  // before anything else is built: a root that another daemon holds stops this one here, its files untouched
  const claim = await claimScratchRoot(root.dir);
  if (!root.memoryBacked) log.warn({ scratchDir: root.dir }, 'scratch storage is not on tmpfs; ciphertext of job inputs will reach a disk');
  const scratch = new ScratchStore(root.dir, {
    usage: (bytes) => metrics.scratchBytes.set(bytes),
    erased: (reason) => metrics.scratchErasures.inc({ reason }),
    eraseFailed: (err) => {
      metrics.scratchEraseFailures.inc();
      log.error({ errorClass: err instanceof Error ? err.name : typeof err }, 'scratch erase failed');
    },
    lockRefused: (reason) => log.info({ reason }, 'per-job keys are not locked in memory'),
  }, root.memoryBacked ? memoryFiles : pooledFiles);
  const executors = options.devices.map((d) => new Executor(d, config.computeNice));
  for (const executor of executors) {
    executor.on('runs', (model: string, runs: Array<[string, number]>) => {
      for (const [graph, seconds] of runs) metrics.modelRunSeconds.observe({ model, graph }, seconds);
    });
    executor.on('batch', (model: string, size: number) => metrics.llmBatchSize.observe({ model }, size));
  }
  const registry = new ModelRegistry(config.modelsDir, executors, metrics, log);
  const media = new MediaPool({ nice: config.computeNice });
  const jobs = new JobService({
    registry,
    executors,
    scratch,
    media,
    metrics,
    log,
    handlers: createJobHandlers({ videoEncoding: options.videoEncoding, computeNice: config.computeNice }),
    webhooks,
    limits: { uploadLimitBytes: config.uploadLimitBytes, bodyLimitBytes: config.bodyLimitBytes },
    queueSize: config.queueSize,
    concurrency: config.concurrency,
  });
  const gpu = registerGpuMetrics(metrics.registry, options.nvml ?? null, { onPollError: (err) => log.warn({ errorClass: err instanceof Error ? err.name : 'error' }, 'NVML poll failed') });
  const readiness = new Readiness(options.devices, registry, () => gpu.deviceFacts());
  Object.assign(readiness.facts, options.readyFacts ?? {});
  for (const note of options.startupNotes ?? []) log[note.level](note.facts ?? {}, note.msg);

  const app = Fastify({
    loggerInstance: log,
    // our access log (access-log.ts) replaces Fastify's request lines, which would carry URLs and query strings
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    // Fastify turns Node's own bound off: a client that stops sending mid-upload would hold its partial upload
    // in scratch for good
    requestTimeout: config.requestTimeoutS * 1000,
    clientErrorHandler: clientErrorHandler(log),
    ...(options.https ? { https: options.https } : {}),
  }) as unknown as FastifyInstance;
  // JSON and multipart only: a text/plain body is a 415, not a string that reaches a handler
  app.removeContentTypeParser('text/plain');
  installErrorHandling(app);
  installAccessLog(app);
  await app.register(multipart, {
    limits: { fileSize: config.uploadLimitBytes, files: 16, fields: 1, parts: 17, fieldSize: config.bodyLimitBytes, fieldNameSize: 64, headerPairs: 64 },
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'infernode', version: '0.1.0', description: 'Inference node daemon: jobs, OpenAI-compatible and KServe v2 routes' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  countRejections(app, (reason) => metrics.jobsRejected.inc({ reason }));
  await options.auth(app);
  const ctx: RouteContext = { config, jobs, registry, metrics, readiness };
  await app.register(healthRoutes, ctx);
  await app.register(metricsRoutes, { registry: metrics.registry, requireScope: true });
  await app.register(jobRoutes, ctx);
  await app.register(kserveRoutes, ctx);
  await app.register(modelRoutes, ctx);
  await app.register(openaiTextRoutes, ctx);
  await app.register(openaiImageRoutes, ctx);
  await app.register(openapiRoutes);

  let metricsApp: FastifyInstance | null = null;
  // a shutdown waits for the sweep and the listeners (a listener opened after it closed them would keep the process
  // alive), but not for the preload: it ends the start instead
  let opened: Promise<unknown> = Promise.resolve();
  let stopRequested = (): void => undefined;
  const stopping = new Promise<void>((resolve) => (stopRequested = resolve));

  const open = async (listen: boolean): Promise<void> => {
    const { swept, left } = await scratch.sweep();
    if (swept) log.warn({ swept }, 'erased job scratch left by an earlier process');
    if (left) log.warn({ left }, 'the scratch root holds entries the node did not make; they are left as they are (is --scratch-dir shared?)');
    // only beside a default root: what lies beside an operator's --scratch-dir is none of the node's business
    if (config.scratchDir === null) {
      const reaped = await reapDeadRoots(root.dir, scratch);
      if (reaped.roots || reaped.swept) log.warn(reaped, 'erased the scratch roots of dead daemons on --port 0');
    }
    readiness.sweepDone = true;
    if (!listen || readiness.draining) return;
    await app.listen({ host: config.host, port: config.port });
    if (config.metricsPort === null || readiness.draining) return;
    metricsApp = Fastify({ logger: false });
    installErrorHandling(metricsApp);
    await metricsApp.register(metricsRoutes, { registry: metrics.registry, requireScope: false });
    await metricsApp.listen({ host: config.host, port: config.metricsPort });
  };

  return {
    app, config, log, metrics, jobs, registry, scratch, readiness, executors, media,
    async start({ listen = true } = {}) {
      const opening = open(listen);
      opened = opening.catch(() => undefined);
      await opening;
      if (readiness.draining) return;
      await Promise.race([registry.init(config.preload), stopping]);
      if (readiness.draining) return;
      readiness.preloadDone = true;
      metrics.ready.set(readiness.ready ? 1 : 0);
      log.info({ models: registry.list().map((m) => ({ name: m.name, status: m.status })) }, 'node ready');
    },
    async shutdown() {
      readiness.draining = true;
      stopRequested();
      metrics.ready.set(0);
      log.info({ graceS: config.drainTimeoutS }, 'draining');
      const graceMs = config.drainTimeoutS * 1000;
      // requests still in flight at the drain's end (a slow upload) are cut off: closing waits for them otherwise
      const cutOff = setTimeout(() => app.server.closeAllConnections(), graceMs);
      await opened;
      // loads in flight (a preload cut short) get the drain's grace too: closing an executor inside one aborts
      const loadsGrace = sleep(graceMs, undefined, { ref: false });
      await Promise.all([jobs.drain(config.drainTimeoutS), Promise.race([registry.stopLoading(), loadsGrace])]);
      await app.close();
      clearTimeout(cutOff);
      await metricsApp?.close();
      await Promise.all(executors.map((e) => e.close()));
      await media.destroy();
      await claim.release();
      // the default per-port root under /dev/shm goes too (rmdir: only when empty); an operator's --scratch-dir stays
      if (config.scratchDir === null) await rmdir(root.dir).catch(() => undefined);
      gpu.stop();
      options.nvml?.close();
      log.info('shut down; scratch erased');
    },
  };
}
