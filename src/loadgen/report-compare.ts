import { readFile } from 'node:fs/promises';
import { formatNumber } from './figures.js';
import { BenchUsageError } from './options.js';
import type { PointResult } from './point-summary.js';
import { alignColumns } from './report-table.js';
import type { BenchResult } from './sweep.js';

const FIGURES: [string, (p: PointResult) => number | null | undefined][] = [
  ['req/s', (p) => p.throughput.requestsPerS],
  ['output tok/s', (p) => p.throughput.outputTokensPerS],
  ['steps/s', (p) => p.throughput.stepsPerS],
  ['e2e p50 s', (p) => p.latencyS.e2e?.p50],
  ['e2e p99 s', (p) => p.latencyS.e2e?.p99],
  ['TTFT p50 s', (p) => p.latencyS.ttft?.p50],
  ['TTFT p99 s', (p) => p.latencyS.ttft?.p99],
  ['ITL p50 s', (p) => p.latencyS.interToken?.p50],
  ['TPOT p50 s', (p) => p.latencyS.timePerOutputToken?.p50],
  ['queue p50 s', (p) => p.latencyS.queue?.p50],
  ['run p50 s', (p) => p.latencyS.run?.p50],
  ['errors', (p) => p.requests.failed],
];

export async function readBenchResult(path: string): Promise<BenchResult> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new BenchUsageError(`--compare: cannot read ${path} as JSON (${(err as NodeJS.ErrnoException).code ?? (err as Error).name})`);
  }
  if ((parsed as BenchResult)?.tool !== 'infernode-bench' || !Array.isArray((parsed as BenchResult).points)) {
    throw new BenchUsageError(`--compare: ${path} is not an infernode bench --json file`);
  }
  return parsed as BenchResult;
}

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (a === null || a === undefined || b === null || b === undefined) return '-';
  if (a === 0) return b === 0 ? '1.000' : '-';
  return (b / a).toFixed(3);
}

/** Ratios across a type or model are not a before-and-after of one workload: say so rather than refuse. */
function mismatchWarning(a: BenchResult, b: BenchResult): string | null {
  const differ = (['type', 'model'] as const).filter((key) => a.config[key] !== b.config[key]).map((key) => `${key} (${a.config[key]} vs ${b.config[key]})`);
  return differ.length === 0 ? null : `warning: A and B differ in ${differ.join(' and ')}: the ratios compare different workloads`;
}

/** Points are matched by load label (c=8, 10/s); each figure shows A, B and B/A. */
export function renderComparison(a: BenchResult, b: BenchResult, names: [string, string]): string {
  const sections = [`A: ${names[0]} (${a.config.type} ${a.config.model}, ${a.startedAt})`, `B: ${names[1]} (${b.config.type} ${b.config.model}, ${b.startedAt})`];
  const mismatch = mismatchWarning(a, b);
  if (mismatch !== null) sections.push(mismatch);
  const unmatched: string[] = [];
  for (const pa of a.points) {
    const pb = b.points.find((p) => p.label === pa.label);
    if (!pb) {
      unmatched.push(pa.label);
      continue;
    }
    const rows = [[`point ${pa.label}`, 'A', 'B', 'B/A']];
    for (const [name, get] of FIGURES) {
      const va = get(pa);
      const vb = get(pb);
      if ((va === null || va === undefined) && (vb === null || vb === undefined)) continue;
      rows.push([name, formatNumber(va), formatNumber(vb), ratio(va, vb)]);
    }
    sections.push('', alignColumns(rows));
  }
  const onlyB = b.points.filter((pb) => !a.points.some((pa) => pa.label === pb.label)).map((p) => p.label);
  if (unmatched.length > 0) sections.push('', `only in A: ${unmatched.join(', ')}`);
  if (onlyB.length > 0) sections.push('', `only in B: ${onlyB.join(', ')}`);
  return sections.join('\n');
}
