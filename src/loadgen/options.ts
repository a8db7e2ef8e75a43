import { parseArgs } from 'node:util';
import { JOB_TYPES, type JobType } from '../jobs/types.js';
import { DEFAULT_CONFIG } from '../config/options.js';
import { parseDuration } from '../config/units.js';

export type BenchApi = 'infernode' | 'openai';

/** How load is applied at one point of the sweep. */
export type LoadLevel = { mode: 'concurrency'; value: number } | { mode: 'rate'; value: number };

export interface RunOptions {
  url: URL;
  token: string | null;
  type: JobType;
  model: string;
  api: BenchApi;
  loads: LoadLevel[];
  /** Each point ends at whichever comes first; at least one is set. */
  durationS: number | null;
  requests: number | null;
  warmup: number;
  inputsFile: string | null;
  maxTokens: number | null;
  /** chat: generate max_tokens whatever the model samples (fixed-length completions, as vLLM's benchmark) */
  ignoreEos: boolean;
  timeoutS: number;
  seed: number;
  metricsUrl: URL | null;
  jsonFile: string | null;
  csvFile: string | null;
  plotFile: string | null;
}

export type BenchCommand = { kind: 'run'; options: RunOptions } | { kind: 'compare'; baseline: string; candidate: string } | { kind: 'help' };

export class BenchUsageError extends Error {
  override name = 'BenchUsageError';
}

export const USAGE = `usage: infernode bench --url URL --type chat|image|video|tensor --model M [options]
       infernode bench --compare a.json b.json

  --url URL              node (or OpenAI-compatible server) to drive, e.g. http://127.0.0.1:8080
  --token T              bearer token (default: $INFERNODE_TOKEN)
  --type TYPE            chat, image, video or tensor
  --model M              model name
  --api A                infernode (default: jobs API, SSE, KServe) or openai (chat and image only)
  --concurrency LIST     closed-loop sweep, requests in flight: 1,8,32 (default 1)
  --rate LIST            open-loop sweep, Poisson arrivals per second: 5,10,20
  --duration D           length of each point: 10s, 2m (default 10s unless --requests)
  --requests N           requests per point (with --duration, whichever ends first)
  --warmup N             requests sent before the sweep and not counted (default 1)
  --inputs FILE          JSONL, one job input object a line (default: built-in set for the type)
  --max-tokens N         chat: max_tokens for every request
  --ignore-eos           chat: generate max_tokens whatever the model samples (fixed lengths)
  --timeout D            per-request timeout (default 300s; at most ${DEFAULT_CONFIG.maxTimeoutS}s for jobs)
  --seed N               seed for the Poisson arrivals (default 1)
  --metrics-url URL      where to scrape Prometheus metrics (default: URL/metrics)
  --no-metrics           do not scrape metrics
  --json FILE            write every figure as JSON
  --csv FILE             write one row per point as CSV
  --plot FILE            latency percentiles against throughput, .svg or .html
  --compare A B          print the ratios of run B to run A (two --json files)
`;

const fail = (flag: string, why: string): never => {
  throw new BenchUsageError(`--${flag}: ${why}`);
};

function positiveList(raw: string, flag: string, integer: boolean): number[] {
  const values = raw.split(',').map((s) => Number(s.trim()));
  const ok = values.length > 0 && values.every((v) => Number.isFinite(v) && v > 0 && (!integer || Number.isInteger(v)));
  return ok ? values : fail(flag, `expected a comma list of positive ${integer ? 'integers' : 'numbers'}, got "${raw}"`);
}

function count(raw: string | undefined, flag: string, min: number): number | null {
  if (raw === undefined) return null;
  const n = Number(raw);
  return Number.isInteger(n) && n >= min ? n : fail(flag, `expected an integer of at least ${min}, got "${raw}"`);
}

function seconds(raw: string | undefined, flag: string): number | null {
  if (raw === undefined) return null;
  const s = parseDuration(raw);
  return s !== null && s > 0 ? s : fail(flag, `expected a duration such as 10s or 2m, got "${raw}"`);
}

function httpUrl(raw: string, flag: string): URL {
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    // reported below
  }
  return url && (url.protocol === 'http:' || url.protocol === 'https:') ? url : fail(flag, `expected an http(s) URL, got "${raw}"`);
}

function loadLevels(concurrency: string | undefined, rate: string | undefined): LoadLevel[] {
  if (concurrency !== undefined && rate !== undefined) fail('rate', 'give either --concurrency or --rate, not both');
  if (rate !== undefined) return positiveList(rate, 'rate', false).map((value) => ({ mode: 'rate', value }));
  return positiveList(concurrency ?? '1', 'concurrency', true).map((value) => ({ mode: 'concurrency', value }));
}

export function parseBenchArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        url: { type: 'string' }, token: { type: 'string' }, type: { type: 'string' }, model: { type: 'string' },
        api: { type: 'string' }, concurrency: { type: 'string' }, rate: { type: 'string' },
        duration: { type: 'string' }, requests: { type: 'string' }, warmup: { type: 'string' },
        inputs: { type: 'string' }, 'max-tokens': { type: 'string' }, timeout: { type: 'string' },
        seed: { type: 'string' }, 'metrics-url': { type: 'string' }, 'no-metrics': { type: 'boolean' }, 'ignore-eos': { type: 'boolean' },
        json: { type: 'string' }, csv: { type: 'string' }, plot: { type: 'string' },
        compare: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new BenchUsageError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) return { kind: 'help' };
  if (v.compare) {
    if (positionals.length !== 2) fail('compare', 'expected two JSON files: --compare a.json b.json');
    return { kind: 'compare', baseline: positionals[0] as string, candidate: positionals[1] as string };
  }
  if (positionals.length > 0) throw new BenchUsageError(`unexpected argument "${positionals[0]}"`);

  const url = httpUrl(v.url ?? fail('url', 'required'), 'url');
  const type = v.type ?? fail('type', `required: one of ${JOB_TYPES.join(', ')}`);
  if (!(JOB_TYPES as readonly string[]).includes(type)) fail('type', `expected one of ${JOB_TYPES.join(', ')}, got "${type}"`);
  const api = v.api ?? 'infernode';
  if (api !== 'infernode' && api !== 'openai') return fail('api', `expected infernode or openai, got "${api}"`);
  if (api === 'openai' && type !== 'chat' && type !== 'image') fail('api', `the OpenAI API has no ${type} route; use --api infernode`);
  const model = v.model ?? fail('model', 'required');

  const requests = count(v.requests, 'requests', 1);
  const durationS = seconds(v.duration, 'duration') ?? (requests === null ? 10 : null);
  const metricsUrl = v['no-metrics'] ? null : httpUrl(v['metrics-url'] ?? new URL('metrics', withTrailingSlash(url)).href, 'metrics-url');
  const plot = v.plot ?? null;
  if (plot !== null && !/\.(svg|html?)$/i.test(plot)) fail('plot', `expected a file ending in .svg or .html, got "${plot}"`);
  const maxTokens = count(v['max-tokens'], 'max-tokens', 1);
  if (maxTokens !== null && type !== 'chat') fail('max-tokens', 'applies to --type chat only');
  const ignoreEos = v['ignore-eos'] === true;
  if (ignoreEos && type !== 'chat') fail('ignore-eos', 'applies to --type chat only');
  const timeoutS = seconds(v.timeout, 'timeout') ?? 300;
  // Jobs carry it as timeout_s, and a node answers 400 to one over its --max-timeout: every job would fail.
  const { maxTimeoutS } = DEFAULT_CONFIG;
  if (api === 'infernode' && type !== 'tensor' && timeoutS > maxTimeoutS) {
    fail('timeout', `at most ${maxTimeoutS}s for ${type} jobs: a node refuses a timeout_s over its --max-timeout (default ${maxTimeoutS}s)`);
  }

  return {
    kind: 'run',
    options: {
      url, token: v.token ?? env.INFERNODE_TOKEN ?? null, type: type as JobType, model, api, loads: loadLevels(v.concurrency, v.rate),
      durationS, requests, warmup: count(v.warmup, 'warmup', 0) ?? 1, inputsFile: v.inputs ?? null, maxTokens, ignoreEos,
      timeoutS, seed: count(v.seed, 'seed', 0) ?? 1, metricsUrl,
      jsonFile: v.json ?? null, csvFile: v.csv ?? null, plotFile: plot,
    },
  };
}

export function withTrailingSlash(url: URL): URL {
  const copy = new URL(url.href);
  if (!copy.pathname.endsWith('/')) copy.pathname += '/';
  return copy;
}

export function loadLabel(load: LoadLevel): string {
  return load.mode === 'concurrency' ? `c=${load.value}` : `${load.value}/s`;
}
