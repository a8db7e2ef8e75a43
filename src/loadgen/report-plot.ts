import { LATENCY_LABELS, type LatencyName } from './figures.js';
import type { PointResult } from './point-summary.js';
import { renderTable } from './report-table.js';
import type { BenchResult } from './sweep.js';

const WIDTH = 720;
const PANEL_HEIGHT = 380;
const MARGIN = { left: 80, right: 150, top: 44, bottom: 56 };
const SERIES = [
  { stat: 'p50', color: '#1f77b4', dash: '' },
  { stat: 'p90', color: '#ff7f0e', dash: '6 3' },
  { stat: 'p99', color: '#d62728', dash: '2 3' },
] as const;

const tickLabel = (v: number): string => String(Number(v.toPrecision(6)));
const escapeXml = (text: string): string => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Round tick positions (1, 2 or 5 times a power of ten) covering [0, max]. */
export function niceTicks(max: number, target = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power);
  const ticks: number[] = [];
  for (let t = 0; t < max + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  if ((ticks.at(-1) ?? 0) < max) ticks.push(Number(((ticks.at(-1) ?? 0) + step).toPrecision(12)));
  return ticks;
}

function panel(points: PointResult[], metric: LatencyName, offsetY: number): string {
  // Joined in sweep order: past saturation throughput can fall while latency climbs, and the curve should show it.
  const plotted = points.filter((p) => p.latencyS[metric] !== null);
  const xTicks = niceTicks(Math.max(...plotted.map((p) => p.throughput.requestsPerS)));
  const yTicks = niceTicks(Math.max(...plotted.map((p) => (p.latencyS[metric]?.p99 ?? 0) * 1000)));
  const innerW = WIDTH - MARGIN.left - MARGIN.right;
  const innerH = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const xMax = xTicks.at(-1) as number;
  const yMax = yTicks.at(-1) as number;
  const x = (v: number): number => MARGIN.left + (v / xMax) * innerW;
  const y = (v: number): number => offsetY + MARGIN.top + innerH - (v / yMax) * innerH;
  const out: string[] = [];
  out.push(`<text x="${WIDTH / 2}" y="${offsetY + 24}" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(LATENCY_LABELS[metric])} against throughput</text>`);
  for (const t of yTicks) {
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + innerW}" y1="${y(t)}" y2="${y(t)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${MARGIN.left - 8}" y="${y(t) + 4}" text-anchor="end" font-size="12">${tickLabel(t)}</text>`);
  }
  for (const t of xTicks) {
    out.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${y(0)}" y2="${y(0) + 5}" stroke="#333"/>`);
    out.push(`<text x="${x(t)}" y="${y(0) + 20}" text-anchor="middle" font-size="12">${tickLabel(t)}</text>`);
  }
  out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + innerW}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`);
  out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${y(0)}" y2="${y(yMax)}" stroke="#333"/>`);
  out.push(`<text x="${MARGIN.left + innerW / 2}" y="${y(0) + 42}" text-anchor="middle" font-size="13">throughput (successful requests/s)</text>`);
  out.push(`<text transform="translate(22 ${y(yMax / 2)}) rotate(-90)" text-anchor="middle" font-size="13">latency (ms)</text>`);
  SERIES.forEach(({ stat, color, dash }, i) => {
    const coords = plotted.map((p) => `${x(p.throughput.requestsPerS).toFixed(1)},${y((p.latencyS[metric]?.[stat] ?? 0) * 1000).toFixed(1)}`);
    out.push(`<polyline class="series-${stat}" fill="none" stroke="${color}" stroke-width="2" stroke-dasharray="${dash}" points="${coords.join(' ')}"/>`);
    for (const c of coords) {
      const [cx, cy] = c.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="3.5" fill="${color}"/>`);
    }
    const ly = offsetY + MARGIN.top + 10 + i * 20;
    out.push(`<line x1="${WIDTH - MARGIN.right + 16}" x2="${WIDTH - MARGIN.right + 44}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2" stroke-dasharray="${dash}"/>`);
    out.push(`<text x="${WIDTH - MARGIN.right + 50}" y="${ly + 4}" font-size="12">${stat}</text>`);
  });
  for (const p of plotted) {
    const top = y((p.latencyS[metric]?.p99 ?? 0) * 1000);
    out.push(`<text x="${x(p.throughput.requestsPerS)}" y="${top - 8}" text-anchor="middle" font-size="11" fill="#555">${escapeXml(p.label)}</text>`);
    if (p.saturated) {
      out.push(`<circle cx="${x(p.throughput.requestsPerS)}" cy="${top}" r="8" fill="none" stroke="#d62728" stroke-width="2"><title>saturated: the node answered 429</title></circle>`);
    }
  }
  if (plotted.some((p) => p.saturated)) {
    const ly = offsetY + MARGIN.top + 10 + SERIES.length * 20;
    out.push(`<circle cx="${WIDTH - MARGIN.right + 30}" cy="${ly}" r="7" fill="none" stroke="#d62728" stroke-width="2"/>`);
    out.push(`<text x="${WIDTH - MARGIN.right + 50}" y="${ly + 4}" font-size="12">saturated (429)</text>`);
  }
  return out.join('\n');
}

/** Latency percentiles against throughput, one panel per latency the run measured; self-contained SVG. */
export function renderSvg(result: BenchResult): string {
  const metrics = (['e2e', 'ttft', 'interToken'] as const).filter((m) => result.points.some((p) => p.latencyS[m] !== null));
  const height = Math.max(1, metrics.length) * PANEL_HEIGHT + 30;
  const title = `infernode bench: ${result.config.type} ${result.config.model} (${result.config.api} API), ${result.startedAt}`;
  const body = metrics.length === 0
    ? `<text x="${WIDTH / 2}" y="${PANEL_HEIGHT / 2}" text-anchor="middle" font-size="14">no successful requests: nothing to plot</text>`
    : metrics.map((m, i) => panel(result.points, m, 20 + i * PANEL_HEIGHT)).join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="16" font-size="12" fill="#555">${escapeXml(title)}</text>`,
    body,
    '</svg>',
    '',
  ].join('\n');
}

/** The SVG and the terminal table in one HTML page, for a browser. */
export function renderHtml(result: BenchResult): string {
  return [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"><title>infernode bench</title></head><body>',
    renderSvg(result),
    `<pre>${escapeXml(renderTable(result))}</pre>`,
    '</body></html>',
    '',
  ].join('\n');
}
