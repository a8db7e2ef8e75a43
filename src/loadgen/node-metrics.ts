import { request } from 'undici';
import { type MetricSample, parsePrometheusText, sumSamples } from './prometheus-text.js';

export interface Gauge {
  mean: number;
  max: number;
}

/** What the node itself said about its load while a point ran. */
export interface NodeMetricsSummary {
  scrapes: number;
  scrapeErrors: number;
  queueDepth: Gauge | null;
  gpuUtilization: Gauge | null;
  gpuMemoryUsedBytes: Gauge | null;
}

function gauge(values: number[]): Gauge | null {
  if (values.length === 0) return null;
  return { mean: values.reduce((a, b) => a + b, 0) / values.length, max: Math.max(...values) };
}

function meanOf(samples: readonly MetricSample[], name: string): number | null {
  const values = samples.filter((s) => s.name === name).map((s) => s.value);
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Scrapes `/metrics` at start, every interval and at stop, so even a short point has two readings. */
export class NodeMetricsScraper {
  private readonly queueDepth: number[] = [];
  private readonly gpuUtilization: number[] = [];
  private readonly gpuMemory: number[] = [];
  private scrapes = 0;
  private scrapeErrors = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly url: URL,
    private readonly headers: Record<string, string>,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.scrapeInBackground();
    this.timer = setInterval(() => this.scrapeInBackground(), this.intervalMs);
  }

  private stopped: Promise<NodeMetricsSummary> | null = null;

  /** Idempotent: a second call returns the first call's summary. */
  stop(): Promise<NodeMetricsSummary> {
    this.stopped ??= this.finalScrape();
    return this.stopped;
  }

  private async finalScrape(): Promise<NodeMetricsSummary> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.scrapeInBackground();
    await Promise.all(this.inFlight);
    return {
      scrapes: this.scrapes,
      scrapeErrors: this.scrapeErrors,
      queueDepth: gauge(this.queueDepth),
      gpuUtilization: gauge(this.gpuUtilization),
      gpuMemoryUsedBytes: gauge(this.gpuMemory),
    };
  }

  private scrapeInBackground(): void {
    const pending = this.scrape().finally(() => this.inFlight.delete(pending));
    this.inFlight.add(pending);
  }

  private async scrape(): Promise<void> {
    try {
      const res = await request(this.url, { headers: this.headers, signal: AbortSignal.timeout(5000) });
      const body = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      this.record(parsePrometheusText(body));
    } catch {
      this.scrapeErrors++;
    }
  }

  private record(samples: MetricSample[]): void {
    this.scrapes++;
    const queued = sumSamples(samples, 'infernode_jobs_queued');
    if (queued !== null) this.queueDepth.push(queued);
    const utilization = meanOf(samples, 'infernode_gpu_utilization_ratio');
    if (utilization !== null) this.gpuUtilization.push(utilization);
    const memory = sumSamples(samples, 'infernode_gpu_memory_used_bytes');
    if (memory !== null) this.gpuMemory.push(memory);
  }
}
