import { Pool } from 'undici';
import type { JobType } from '../jobs/types.js';
import { infernodeDriver } from './drivers/infernode.js';
import { openaiDriver } from './drivers/openai.js';
import { type DriverContext, type RequestRecord, type SendRequest, get, thrownKind } from './drivers/record.js';
import { type BenchInput, BUILT_IN_INPUTS, readInputsFile, tensorInputFromMetadata, withChatLimits } from './inputs.js';
import { runLoad } from './load-patterns.js';
import { NodeMetricsScraper } from './node-metrics.js';
import { type BenchApi, BenchUsageError, type LoadLevel, type RunOptions } from './options.js';
import { type PointResult, summarizePoint } from './point-summary.js';

/** A whole run as written by --json and read by --compare. */
export interface BenchResult {
  tool: 'infernode-bench';
  version: 1;
  startedAt: string;
  config: {
    url: string;
    type: JobType;
    model: string;
    api: BenchApi;
    durationS: number | null;
    requests: number | null;
    warmup: number;
    inputs: string;
    maxTokens: number | null;
    ignoreEos: boolean;
    timeoutS: number;
    seed: number;
    metricsUrl: string | null;
  };
  warmup: { requests: number; failed: number };
  points: PointResult[];
  /** Stopped early (Ctrl-C): the last point covers only the requests sent before, later points are missing. */
  interrupted: boolean;
}

export interface SweepObserver {
  onPointStart?(index: number, load: LoadLevel): void;
  onRecord?(record: RequestRecord): void;
}

function authHeaders(token: string | null): Record<string, string> {
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

/** The token is for the node at --url: another origin (an exporter, a proxy) never sees it. */
function metricsHeaders(options: RunOptions, metricsUrl: URL): Record<string, string> {
  return metricsUrl.origin === options.url.origin ? authHeaders(options.token) : {};
}

function driverContext(options: RunOptions, dispatcher: Pool): DriverContext {
  return {
    dispatcher,
    origin: options.url.origin,
    basePath: options.url.pathname.replace(/\/+$/, ''),
    headers: authHeaders(options.token),
    model: options.model,
    timeoutMs: options.timeoutS * 1000,
  };
}

function driverFor(options: RunOptions, ctx: DriverContext): SendRequest {
  return options.api === 'openai' ? openaiDriver(ctx, options.type) : infernodeDriver(ctx, options.type);
}

/** A pool with one connection per request in flight; open-loop load gets as many as it needs. */
function poolFor(options: RunOptions, load: LoadLevel): Pool {
  return new Pool(options.url.origin, { connections: load.mode === 'concurrency' ? load.value : null, pipelining: 1 });
}

/** The tensor inputs are shaped from the model's KServe metadata, so an unreachable node stops the run here. */
async function tensorInputs(options: RunOptions): Promise<BenchInput[]> {
  const pool = new Pool(options.url.origin, { connections: 1 });
  try {
    const res = await get(driverContext(options, pool), `/v2/models/${encodeURIComponent(options.model)}`).catch((err: unknown) => {
      throw new BenchUsageError(`--url: cannot read the model metadata (${thrownKind(err)}); give --inputs to run without it`);
    });
    const body = await res.body.text();
    if (res.statusCode !== 200) throw new BenchUsageError(`--model: ${options.model} metadata answered HTTP ${res.statusCode}; is it a tensor model?`);
    try {
      return [tensorInputFromMetadata(JSON.parse(body))];
    } catch (err) {
      if (err instanceof BenchUsageError) throw err;
      throw new BenchUsageError(`--model: the metadata of ${options.model} is not JSON`);
    }
  } finally {
    await pool.close();
  }
}

export async function resolveInputs(options: RunOptions): Promise<BenchInput[]> {
  if (options.inputsFile !== null) return withChatLimits(await readInputsFile(options.inputsFile), options.maxTokens, options.ignoreEos);
  if (options.type === 'tensor') return tensorInputs(options);
  return withChatLimits(BUILT_IN_INPUTS[options.type], options.maxTokens, options.ignoreEos);
}

async function warmUp(options: RunOptions, inputs: BenchInput[]): Promise<BenchResult['warmup']> {
  if (options.warmup === 0) return { requests: 0, failed: 0 };
  const first = options.loads[0];
  const load: LoadLevel = { mode: 'concurrency', value: Math.min(options.warmup, first?.mode === 'concurrency' ? first.value : 1) };
  const pool = poolFor(options, load);
  try {
    const send = driverFor(options, driverContext(options, pool));
    const run = await runLoad({ load, durationMs: null, requests: options.warmup, seed: options.seed }, (i) => send(inputs[i % inputs.length] as BenchInput));
    return { requests: run.records.length, failed: run.records.filter((r) => r.error !== null).length };
  } finally {
    await pool.close();
  }
}

async function runPoint(options: RunOptions, inputs: BenchInput[], load: LoadLevel, observer: SweepObserver, stop: AbortSignal | undefined): Promise<PointResult> {
  const pool = poolFor(options, load);
  const scraper = options.metricsUrl === null ? null : new NodeMetricsScraper(options.metricsUrl, metricsHeaders(options, options.metricsUrl));
  try {
    const send = driverFor(options, driverContext(options, pool));
    scraper?.start();
    const run = await runLoad(
      { load, durationMs: options.durationS === null ? null : options.durationS * 1000, requests: options.requests, seed: options.seed, stop },
      (i) => send(inputs[i % inputs.length] as BenchInput),
      observer.onRecord,
    );
    const node = scraper === null ? null : await scraper.stop();
    return summarizePoint(options.type, load, run, node, options.api === 'infernode');
  } finally {
    await scraper?.stop();
    await pool.close();
  }
}

function withoutCredentials(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

/** Warm-up, then each load level in turn, each on a fresh connection pool, until done or `stop` aborts. */
export async function runSweep(options: RunOptions, observer: SweepObserver = {}, stop?: AbortSignal): Promise<BenchResult> {
  const inputs = await resolveInputs(options);
  const startedAt = new Date().toISOString();
  const warmup = await warmUp(options, inputs);
  const points: PointResult[] = [];
  for (const [index, load] of options.loads.entries()) {
    if (stop?.aborted) break;
    observer.onPointStart?.(index, load);
    points.push(await runPoint(options, inputs, load, observer, stop));
  }
  return {
    tool: 'infernode-bench',
    version: 1,
    startedAt,
    config: {
      url: withoutCredentials(options.url),
      type: options.type,
      model: options.model,
      api: options.api,
      durationS: options.durationS,
      requests: options.requests,
      warmup: options.warmup,
      inputs: options.inputsFile ?? 'built-in',
      maxTokens: options.maxTokens,
      ignoreEos: options.ignoreEos,
      timeoutS: options.timeoutS,
      seed: options.seed,
      metricsUrl: options.metricsUrl === null ? null : withoutCredentials(options.metricsUrl),
    },
    warmup,
    points,
    interrupted: stop?.aborted === true,
  };
}
