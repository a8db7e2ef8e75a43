// Feeds a real daemon's /metrics, scraped as its state changes, to `promtool test rules`: each alert of
// deploy/kubernetes/prometheusrule.yaml fires when its condition holds and at no other time. Each scrape
// stands for one minute of Prometheus time; the target labels are those the ServiceMonitor adds.
import t, { type Test } from 'tap';
import { stringify } from 'yaml';
import { DEFAULT_CONCURRENCY } from '../../src/config/options.js';
import { parsePrometheusText } from '../../src/loadgen/prometheus-text.js';
import { registerGpuMetrics } from '../../src/metrics/gpu-metrics.js';
import { openNvml } from '../../src/native/nvml.js';
import { TENSOR_JOB, call } from '../helpers/http.js';
import { startNode, type TestNode } from '../helpers/node.js';
import { buildFakeNvml, setFakeGpus } from '../native/fake-nvml/build.js';
import { PROMTOOL_MISSING, promtool, rulesWithoutAnnotations } from './deploy-files.js';

const TARGET = { job: 'infernode', namespace: 'infernode', pod: 'infernode-x7k2p', node: 'gpu-node-1', instance: '10.0.3.7:9090' };
const { job: _job, instance: _instance, ...PER_POD } = TARGET;
const GPU = { name: 'NVIDIA H200', uuid: 'GPU-5f2e', util: 80, mem_total: 150_000_000_000, temp: 60, power_mw: 400_000, energy_mj: 1_000_000 };
const ALERTS = ['InfernodeQueueSaturated', 'InfernodeHighErrorRatio', 'InfernodeScratchEraseFailed', 'InfernodeGpuMemoryNearlyFull', 'InfernodeNotReady', 'InfernodeDown'];

/** Scrapes of one target, one a minute; a failed scrape is `up` 0 and no samples, as Prometheus records it. */
class ScrapeTimeline {
  private readonly scrapes: Array<Map<string, number> | null> = [];

  constructor(private readonly node: TestNode, private readonly beforeScrape: () => Promise<void>) {}

  get minute(): number {
    return this.scrapes.length;
  }

  async scrape(): Promise<void> {
    await this.beforeScrape();
    const samples = await fetch(`${this.node.url}/metrics`)
      .then((res) => (res.ok ? res.text() : Promise.reject(new Error(String(res.status)))))
      .then(parsePrometheusText, () => null);
    if (!samples) {
      this.scrapes.push(null);
      return;
    }
    const scrape = new Map<string, number>();
    for (const s of samples) {
      const labels = { ...s.labels, ...TARGET };
      scrape.set(`${s.name}{${Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`, s.value);
    }
    this.scrapes.push(scrape);
  }

  async scrapeFor(minutes: number, eachMinute: () => Promise<unknown> = async () => {}): Promise<void> {
    for (let i = 0; i < minutes; i++) {
      await eachMinute();
      await this.scrape();
    }
  }

  /**
   * promtool input_series: every series seen; a series gone from a scrape (or a failed scrape) gets a
   * staleness marker, as Prometheus writes one, then no samples.
   */
  inputSeries(): Array<{ series: string; values: string }> {
    const keys = new Set(this.scrapes.flatMap((s) => (s ? [...s.keys()] : [])));
    const values = (key: string): string =>
      this.scrapes
        .map((s, i) => (s?.has(key) ? String(s.get(key)) : i > 0 && this.scrapes[i - 1]?.has(key) ? 'stale' : '_'))
        .join(' ');
    const up = { series: `up{${Object.entries(TARGET).map(([k, v]) => `${k}="${v}"`).join(',')}}`, values: this.scrapes.map((s) => (s ? '1' : '0')).join(' ') };
    return [up, ...[...keys].map((series) => ({ series, values: values(series) }))];
  }
}

// The node's own NVML polls on a timer; this test polls a fake NVML into the node's registry itself, once
// before each scrape, so the node must not open a real one.
process.env['INFERNODE_NVML_LIB'] = '/nonexistent/libnvidia-ml.so.1';
const fake = buildFakeNvml();
t.teardown(fake.remove);
setFakeGpus([{ ...GPU, mem_used: 60_000_000_000 }]);

const node = await startNode({
  models: ['tiny-tensor', 'busy-tensor'],
  config: { queueSize: 1, concurrency: { ...DEFAULT_CONCURRENCY, tensor: 1 }, drainTimeoutS: 30 },
});
let shutDown: Promise<void> | null = null;
t.teardown(async () => {
  await (shutDown ?? node.close());
});

const { nvml, reason } = openNvml(fake.path);
if (!nvml) throw new Error(reason);
t.teardown(() => nvml.close());
const gpuMetrics = registerGpuMetrics(node.node.metrics.registry, nvml, { intervalMs: 3_600_000 });
t.teardown(gpuMetrics.stop);

const timeline = new ScrapeTimeline(node, () => gpuMetrics.refresh());

const submit = (body: object, wait = true) => call(node, 'POST', '/v1/jobs', { body, headers: wait ? { prefer: 'wait=30' } : {} });
/** one after another: with a queue of one, jobs sent together would be refused */
async function okJobs(t: Test, n: number): Promise<void> {
  for (let i = 0; i < n; i++) t.equal((await submit(TENSOR_JOB)).body?.status, 'succeeded', 'a job succeeds');
}

/** polls the job until its status is one of `statuses` */
async function until(id: string, ...statuses: string[]): Promise<void> {
  while (!statuses.includes((await call(node, 'GET', `/v1/jobs/${id}`)).body?.status)) await new Promise((r) => setTimeout(r, 10));
}
/** a job that runs as long as `iterations` says (a few seconds for 100 000 here) */
const busyJob = (iterations: number, extra: { timeout_s?: number } = {}, wait = false) =>
  submit(
    {
      type: 'tensor',
      model: 'busy-tensor',
      input: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 512], data: new Array(512).fill(0.1) }, { name: 'iterations', datatype: 'INT64', shape: [1], data: [iterations] }] },
      ...extra,
    },
    wait,
  );
const LONG_RUN = 100_000;

/** expected firing alerts at a minute: alertname → label sets */
const checks: Array<{ minute: number; firing: Record<string, Array<Record<string, string>>> }> = [];
const expectAt = (minute: number, firing: Record<string, Array<Record<string, string>>> = {}) => checks.push({ minute, firing });

t.test('a real daemon\'s metrics fire each alert when its condition holds and not otherwise', { skip: PROMTOOL_MISSING }, async (t) => {
  // 12 minutes of healthy traffic
  await timeline.scrapeFor(12, () => okJobs(t, 3));
  expectAt(11);

  // 16 minutes where every busy-tensor job fails (it runs past its 10 ms timeout) and tiny-tensor jobs succeed
  const errorsFrom = timeline.minute;
  await timeline.scrapeFor(16, async () => {
    for (let i = 0; i < 2; i++) t.equal((await busyJob(5_000, { timeout_s: 0.01 }, true)).body?.error?.code, 'timeout', 'a job runs past its timeout');
    await okJobs(t, 3);
  });
  expectAt(errorsFrom + 14, { InfernodeHighErrorRatio: [{ severity: 'warning', ...PER_POD, type: 'tensor', model: 'busy-tensor' }] });

  // 16 minutes with the device busy and its queue full, and GPU memory at 97%
  setFakeGpus([{ ...GPU, mem_used: 145_500_000_000 }]);
  const fullFrom = timeline.minute;
  const running = (await busyJob(LONG_RUN)).body.id as string;
  await until(running, 'running');
  const queued = await busyJob(1);
  t.equal(queued.status, 202, 'another job waits in the queue');
  await timeline.scrapeFor(16, async () => {
    for (let i = 0; i < 2; i++) t.equal((await submit(TENSOR_JOB, false)).status, 429, 'the queue is full');
  });
  t.equal((await call(node, 'DELETE', `/v1/jobs/${running}`)).body?.status, 'canceled');
  expectAt(fullFrom + 12, { InfernodeQueueSaturated: [{ severity: 'warning', ...PER_POD }] });

  // 12 minutes after a failed erasure (the scratch store reports one through this counter)
  const eraseFrom = timeline.minute;
  node.node.metrics.scratchEraseFailures.inc();
  await timeline.scrapeFor(12);
  expectAt(eraseFrom + 6, {
    InfernodeScratchEraseFailed: [{ severity: 'critical', ...TARGET }],
    InfernodeGpuMemoryNearlyFull: [{ severity: 'warning', ...TARGET, gpu: '0', uuid: GPU.uuid }],
  });

  // 13 minutes of a drain that does not end: /readyz and infernode_ready say not ready (the drain waits for
  // the running job, which ends on its own well within --drain-timeout)
  setFakeGpus([{ ...GPU, mem_used: 60_000_000_000 }]);
  const drainFrom = timeline.minute;
  await until(queued.body.id, 'succeeded');
  const draining = (await busyJob(LONG_RUN)).body.id as string;
  await until(draining, 'running');
  shutDown = node.close();
  await timeline.scrapeFor(13);
  t.equal((await call(node, 'GET', `/v1/jobs/${draining}`)).body?.status, 'running', 'the drain still waits for the job at the last scrape');
  expectAt(drainFrom + 12, { InfernodeNotReady: [{ severity: 'warning', ...TARGET }] });

  // 8 minutes after the process stopped answering
  await shutDown;
  const downFrom = timeline.minute;
  await timeline.scrapeFor(8);
  expectAt(downFrom + 7, { InfernodeDown: [{ severity: 'critical', ...TARGET }] });

  const tests = {
    rule_files: ['rules.yml'],
    evaluation_interval: '1m',
    tests: [
      {
        interval: '1m',
        input_series: timeline.inputSeries(),
        alert_rule_test: checks.flatMap(({ minute, firing }) =>
          ALERTS.map((alertname) => ({ eval_time: `${minute}m`, alertname, exp_alerts: (firing[alertname] ?? []).map((labels) => ({ exp_labels: labels })) })),
        ),
      },
    ],
  };
  const result = await promtool(['test', 'rules', 'tests.yml'], { 'rules.yml': await rulesWithoutAnnotations(), 'tests.yml': stringify(tests) });
  t.equal(result.status, 0, result.output);
});
