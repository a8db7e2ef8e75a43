import { type LatencyName, formatBytes, formatErrors, formatNumber, ms } from './figures.js';
import { type PointResult, TOKEN_LATENCY_NAMES, type TokenLatencyName } from './point-summary.js';
import type { BenchApi } from './options.js';
import type { BenchResult } from './sweep.js';

interface Column {
  header: string;
  cell(p: PointResult): string | null;
}

function percentiles(p: PointResult, name: LatencyName): string | null {
  const s = p.latencyS[name];
  return s === null ? null : `${ms(s.p50)}/${ms(s.p90)}/${ms(s.p99)}`;
}

const latencyColumn = (header: string, name: LatencyName, withMean = false): Column => ({
  header,
  cell: (p) => {
    const cell = percentiles(p, name);
    return cell !== null && withMean ? `${ms(p.latencyS[name]?.mean)} ${cell}` : cell;
  },
});

const TOKEN_LATENCY_SHORT: Record<TokenLatencyName, string> = { ttft: 'TTFT', interToken: 'ITL', timePerOutputToken: 'TPOT' };

/** Shown with n, and shown even when n is 0: a figure over fewer requests than succeeded must not pass for all of them. */
const tokenLatencyColumn = (name: TokenLatencyName): Column => ({
  header: `${TOKEN_LATENCY_SHORT[name]} ms p50/p90/p99 (n)`,
  cell: (p) => (p.latencyN === null ? null : `${percentiles(p, name) ?? '-'} (${p.latencyN[name]})`),
});

const WHY_FEWER: Record<BenchApi, string> = {
  infernode: 'a job that ended before its event stream connected streamed no tokens (--api openai times every request)',
  openai: 'a request that streamed no content has no token times',
};

function tokenCoverageWarning(p: PointResult, api: BenchApi): string | null {
  const n = p.latencyN;
  if (n === null || TOKEN_LATENCY_NAMES.every((name) => n[name] >= p.requests.succeeded)) return null;
  const counts = TOKEN_LATENCY_NAMES.map((name) => `${TOKEN_LATENCY_SHORT[name]} covers ${n[name]}`).join(', ');
  return `warning: ${p.label}: of ${p.requests.succeeded} successful requests, ${counts}: ${WHY_FEWER[api]}; ITL and TPOT also leave out one-token answers`;
}

const COLUMNS: Column[] = [
  { header: 'load', cell: (p) => p.label },
  { header: 'ok/sent', cell: (p) => `${p.requests.succeeded}/${p.requests.total}` },
  { header: 'errors', cell: (p) => String(p.requests.failed) },
  { header: 'req/s', cell: (p) => formatNumber(p.throughput.requestsPerS) },
  { header: 'tok/s', cell: (p) => (p.throughput.outputTokensPerS === null ? null : formatNumber(p.throughput.outputTokensPerS)) },
  { header: 'steps/s', cell: (p) => (p.throughput.stepsPerS === null ? null : formatNumber(p.throughput.stepsPerS)) },
  ...TOKEN_LATENCY_NAMES.map(tokenLatencyColumn),
  latencyColumn('e2e ms mean p50/p90/p99', 'e2e', true),
  latencyColumn('queue ms p50/p90/p99', 'queue'),
  latencyColumn('run ms p50/p90/p99', 'run'),
  { header: 'node queue mean/max', cell: (p) => (p.node?.queueDepth ? `${formatNumber(p.node.queueDepth.mean)}/${formatNumber(p.node.queueDepth.max)}` : null) },
  { header: 'GPU util mean/max', cell: (p) => (p.node?.gpuUtilization ? `${formatNumber(p.node.gpuUtilization.mean * 100)}%/${formatNumber(p.node.gpuUtilization.max * 100)}%` : null) },
  { header: 'GPU mem max', cell: (p) => (p.node?.gpuMemoryUsedBytes ? formatBytes(p.node.gpuMemoryUsedBytes.max) : null) },
  { header: 'saturated', cell: (p) => (p.saturated ? 'yes (429)' : 'no') },
];

/** Rows of cells padded into aligned columns. */
export function alignColumns(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** The terminal table: one row per point; columns with nothing to show at any point are left out. */
export function renderTable(result: BenchResult): string {
  const columns = COLUMNS.filter((c) => result.points.some((p) => c.cell(p) !== null));
  const rows = [columns.map((c) => c.header), ...result.points.map((p) => columns.map((c) => c.cell(p) ?? '-'))];
  const { config, warmup } = result;
  const lines = [
    `infernode bench: ${config.type} ${config.model} at ${config.url} (${config.api} API), ${warmup.requests} warm-up request(s)${warmup.failed ? `, ${warmup.failed} failed` : ''}`,
    alignColumns(rows),
  ];
  if (result.interrupted) lines.push('interrupted: the last point covers only the requests sent before Ctrl-C; later points were not run');
  for (const p of result.points) {
    if (p.requests.failed > 0) lines.push(`${p.label} errors: ${formatErrors(p.errors)}`);
    const coverage = tokenCoverageWarning(p, config.api);
    if (coverage !== null) lines.push(coverage);
    if (p.node && p.node.scrapeErrors > 0) lines.push(`${p.label}: ${p.node.scrapeErrors} /metrics scrape(s) failed`);
  }
  return lines.join('\n');
}
