import { LATENCY_NAMES, SUMMARY_STATS, formatErrors } from './figures.js';
import { type PointResult, TOKEN_LATENCY_NAMES } from './point-summary.js';
import type { BenchResult } from './sweep.js';

type Cell = string | number | boolean | null | undefined;

const FIXED: [string, (p: PointResult) => Cell][] = [
  ['label', (p) => p.label],
  ['load_mode', (p) => p.load.mode],
  ['load_value', (p) => p.load.value],
  ['duration_s', (p) => p.durationS],
  ['requests', (p) => p.requests.total],
  ['succeeded', (p) => p.requests.succeeded],
  ['failed', (p) => p.requests.failed],
  ['errors', (p) => formatErrors(p.errors)],
  ['saturated', (p) => p.saturated],
  ['requests_per_s', (p) => p.throughput.requestsPerS],
  ['output_tokens_per_s', (p) => p.throughput.outputTokensPerS],
  ['steps_per_s', (p) => p.throughput.stepsPerS],
  ['output_tokens', (p) => p.totals.outputTokens],
  ['steps', (p) => p.totals.steps],
];

const NODE: [string, (p: PointResult) => Cell][] = [
  ['node_queue_depth_mean', (p) => p.node?.queueDepth?.mean],
  ['node_queue_depth_max', (p) => p.node?.queueDepth?.max],
  ['gpu_utilization_mean', (p) => p.node?.gpuUtilization?.mean],
  ['gpu_utilization_max', (p) => p.node?.gpuUtilization?.max],
  ['gpu_memory_used_bytes_max', (p) => p.node?.gpuMemoryUsedBytes?.max],
];

const LATENCY: [string, (p: PointResult) => Cell][] = LATENCY_NAMES.flatMap((name) =>
  SUMMARY_STATS.map((stat): [string, (p: PointResult) => Cell] => [`${name}_${stat}_s`, (p) => p.latencyS[name]?.[stat]]),
);

const LATENCY_N: [string, (p: PointResult) => Cell][] = TOKEN_LATENCY_NAMES.map((name) => [`${name}_n`, (p) => p.latencyN?.[name]]);

const COLUMNS = [...FIXED, ...LATENCY, ...LATENCY_N, ...NODE];

function csvCell(value: Cell): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One row per point, every figure a column, latencies in seconds; empty where a figure does not apply. */
export function renderCsv(result: BenchResult): string {
  const lines = [COLUMNS.map(([name]) => name).join(',')];
  for (const p of result.points) lines.push(COLUMNS.map(([, get]) => csvCell(get(p))).join(','));
  return `${lines.join('\n')}\n`;
}
