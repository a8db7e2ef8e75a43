import type { PointResult } from './point-summary.js';
import type { Summary } from './stats.js';

export type LatencyName = keyof PointResult['latencyS'];

/** Names used in every output (table, CSV, plot, compare), so the four agree. */
export const LATENCY_LABELS: Record<LatencyName, string> = {
  e2e: 'end-to-end latency',
  ttft: 'time to first token',
  interToken: 'inter-token latency',
  timePerOutputToken: 'time per output token',
  queue: 'server queue time',
  run: 'server run time',
};

export const LATENCY_NAMES = Object.keys(LATENCY_LABELS) as LatencyName[];
export const SUMMARY_STATS = ['mean', 'p50', 'p90', 'p99'] as const satisfies readonly (keyof Summary)[];

export function formatNumber(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  if (Number.isInteger(value)) return String(value);
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  return value.toFixed(Math.max(0, Math.min(6, digits - 1 - magnitude)));
}

export const ms = (seconds: number | undefined): string => formatNumber(seconds === undefined ? null : seconds * 1000);

export function formatErrors(errors: Record<string, number>): string {
  return Object.entries(errors)
    .sort(([, a], [, b]) => b - a)
    .map(([kind, n]) => `${kind}=${n}`)
    .join(' ');
}

export function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${formatNumber(bytes / 2 ** 30)} GiB` : `${formatNumber(bytes / 2 ** 20)} MiB`;
}
