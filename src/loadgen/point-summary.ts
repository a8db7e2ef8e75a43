import type { JobType } from '../jobs/types.js';
import type { RequestRecord } from './drivers/record.js';
import type { NodeMetricsSummary } from './node-metrics.js';
import { type LoadLevel, loadLabel } from './options.js';
import type { PointRun } from './load-patterns.js';
import { type Summary, summarize } from './stats.js';

/** Every figure of one point of the sweep; latencies in seconds, over successful requests only. */
export interface PointResult {
  label: string;
  load: LoadLevel;
  durationS: number;
  requests: { total: number; succeeded: number; failed: number };
  /** Failures by kind (`http_429`, `timeout`, ...): none is ever dropped. */
  errors: Record<string, number>;
  /** The node answered 429 (queue full) at this load. */
  saturated: boolean;
  throughput: { requestsPerS: number; outputTokensPerS: number | null; stepsPerS: number | null };
  totals: { outputTokens: number; steps: number };
  latencyS: {
    e2e: Summary | null;
    ttft: Summary | null;
    interToken: Summary | null;
    timePerOutputToken: Summary | null;
    queue: Summary | null;
    run: Summary | null;
  };
  /**
   * chat: n, the successful requests each token latency covers. A job that ended before its event stream
   * connected streams no tokens (the node keeps only `done`), so n can fall below `requests.succeeded`.
   */
  latencyN: Record<TokenLatencyName, number> | null;
  node: NodeMetricsSummary | null;
}

const seconds = (ms: number): number => ms / 1000;

function timeToFirstTokenS(record: RequestRecord): number[] {
  const first = record.tokenTimesMs[0];
  return first === undefined ? [] : [seconds(first - record.startMs)];
}

function interTokenGapsS(record: RequestRecord): number[] {
  const t = record.tokenTimesMs;
  return t.slice(1).map((time, i) => seconds(time - (t[i] as number)));
}

function timePerOutputTokenS(record: RequestRecord): number[] {
  const first = record.tokenTimesMs[0];
  if (first === undefined || record.outputTokens < 2) return [];
  return [seconds(record.endMs - first) / (record.outputTokens - 1)];
}

/** The latencies measured from streamed tokens, each as the values one request gives (none when it streamed too few). */
const TOKEN_LATENCIES = {
  ttft: timeToFirstTokenS,
  interToken: interTokenGapsS,
  timePerOutputToken: timePerOutputTokenS,
} satisfies Record<string, (record: RequestRecord) => number[]>;

export type TokenLatencyName = keyof typeof TOKEN_LATENCIES;
export const TOKEN_LATENCY_NAMES = Object.keys(TOKEN_LATENCIES) as TokenLatencyName[];

function tokenLatencyN(ok: readonly RequestRecord[]): Record<TokenLatencyName, number> {
  const covered = TOKEN_LATENCY_NAMES.map((name) => [name, ok.filter((r) => TOKEN_LATENCIES[name](r).length > 0).length]);
  return Object.fromEntries(covered) as Record<TokenLatencyName, number>;
}

function countErrors(records: readonly RequestRecord[]): Record<string, number> {
  const errors: Record<string, number> = {};
  for (const r of records) if (r.error !== null) errors[r.error] = (errors[r.error] ?? 0) + 1;
  return errors;
}

export function summarizePoint(type: JobType, load: LoadLevel, run: PointRun, node: NodeMetricsSummary | null, stepsReported: boolean): PointResult {
  const ok = run.records.filter((r) => r.error === null);
  const lastEnd = run.records.reduce((max, r) => Math.max(max, r.endMs), run.startMs);
  const durationS = seconds(lastEnd - run.startMs);
  const perS = (n: number): number => (durationS > 0 ? n / durationS : 0);
  const outputTokens = ok.reduce((n, r) => n + r.outputTokens, 0);
  const steps = ok.reduce((n, r) => n + r.steps, 0);
  const errors = countErrors(run.records);
  const defined = (values: (number | null)[]): number[] => values.filter((v): v is number => v !== null);
  return {
    label: loadLabel(load),
    load,
    durationS,
    requests: { total: run.records.length, succeeded: ok.length, failed: run.records.length - ok.length },
    errors,
    saturated: (errors.http_429 ?? 0) > 0,
    throughput: {
      requestsPerS: perS(ok.length),
      outputTokensPerS: type === 'chat' ? perS(outputTokens) : null,
      stepsPerS: stepsReported && (type === 'image' || type === 'video') ? perS(steps) : null,
    },
    totals: { outputTokens, steps },
    latencyS: {
      e2e: summarize(ok.map((r) => seconds(r.endMs - r.startMs))),
      ttft: summarize(ok.flatMap(TOKEN_LATENCIES.ttft)),
      interToken: summarize(ok.flatMap(TOKEN_LATENCIES.interToken)),
      timePerOutputToken: summarize(ok.flatMap(TOKEN_LATENCIES.timePerOutputToken)),
      queue: summarize(defined(ok.map((r) => r.queueS))),
      run: summarize(defined(ok.map((r) => r.runS))),
    },
    latencyN: type === 'chat' ? tokenLatencyN(ok) : null,
    node,
  };
}
