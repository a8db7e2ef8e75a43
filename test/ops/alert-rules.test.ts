import t from 'tap';
import { stringify } from 'yaml';
import { PROMTOOL_MISSING, manifest, promtool, rulesFileText, rulesWithoutAnnotations } from './deploy-files.js';

/** Labels a series carries once Prometheus scraped it through the ServiceMonitor. */
const TARGET = { job: 'infernode', namespace: 'infernode', pod: 'infernode-x7k2p', node: 'gpu-node-1', instance: '10.0.3.7:9090' };
const { job: _job, instance: _instance, ...PER_POD } = TARGET;

function series(name: string, labels: Record<string, string>, values: string) {
  const all = { ...TARGET, ...labels };
  return { series: `${name}{${Object.entries(all).map(([k, v]) => `${k}="${v}"`).join(',')}}`, values };
}

interface AlertCheck {
  at: string;
  /** label sets of the alerts expected at that time (besides alertname); empty: none */
  firing: Array<Record<string, string>>;
}

/** Runs promtool's unit test of one alert over the series, every minute from 0. */
async function alertTest(alertname: string, inputSeries: ReturnType<typeof series>[], checks: AlertCheck[]) {
  const tests = {
    rule_files: ['rules.yml'],
    evaluation_interval: '1m',
    tests: [
      {
        interval: '1m',
        input_series: inputSeries,
        alert_rule_test: checks.map((c) => ({ eval_time: c.at, alertname, exp_alerts: c.firing.map((labels) => ({ exp_labels: labels })) })),
      },
    ],
  };
  return promtool(['test', 'rules', 'tests.yml'], { 'rules.yml': await rulesWithoutAnnotations(), 'tests.yml': stringify(tests) });
}

const skip = PROMTOOL_MISSING;

t.test('the PrometheusRule names the five alerts of the issue and a scrape-down alert', async (t) => {
  const rule = await manifest('PrometheusRule');
  const names = rule['spec']['groups'].flatMap((g: { rules: Array<{ alert: string }> }) => g.rules.map((r) => r.alert));
  t.same(names, ['InfernodeQueueSaturated', 'InfernodeHighErrorRatio', 'InfernodeScratchEraseFailed', 'InfernodeGpuMemoryNearlyFull', 'InfernodeNotReady', 'InfernodeDown']);
});

t.test('the rules pass promtool check rules, annotation templates included', { skip }, async (t) => {
  const result = await promtool(['check', 'rules', 'rules.yml'], { 'rules.yml': await rulesFileText() });
  t.equal(result.status, 0, result.output);
  t.match(result.output, /SUCCESS: 6 rules found/);
});

t.test('InfernodeQueueSaturated fires after 5 minutes of queue_full rejections and not for other rejections', { skip }, async (t) => {
  const result = await alertTest(
    'InfernodeQueueSaturated',
    [
      series('infernode_jobs_rejected_total', { reason: 'queue_full' }, '0x10 0+30x30'),
      series('infernode_jobs_rejected_total', { reason: 'invalid', pod: 'infernode-other' }, '0+50x40'),
      series('infernode_jobs_rejected_total', { reason: 'draining', pod: 'infernode-other' }, '0+50x40'),
    ],
    [
      { at: '10m', firing: [] },
      { at: '13m', firing: [] },
      { at: '20m', firing: [{ severity: 'warning', ...PER_POD }] },
      { at: '35m', firing: [{ severity: 'warning', ...PER_POD }] },
    ],
  );
  t.equal(result.status, 0, result.output);
});

t.test('InfernodeQueueSaturated resolves once rejections stop', { skip }, async (t) => {
  const result = await alertTest('InfernodeQueueSaturated', [series('infernode_jobs_rejected_total', { reason: 'queue_full' }, '0+30x15 450x30')], [
    { at: '14m', firing: [{ severity: 'warning', ...PER_POD }] },
    { at: '25m', firing: [] },
  ]);
  t.equal(result.status, 0, result.output);
});

t.test('InfernodeHighErrorRatio fires for a model failing over 5% of enough jobs, not for rare failures, low traffic or cancellations', { skip }, async (t) => {
  const finished = (model: string, status: string, values: string) => series('infernode_jobs_finished_total', { type: 'chat', model, status }, values);
  const result = await alertTest(
    'InfernodeHighErrorRatio',
    [
      // 1 failure in 11 jobs a minute: 9%
      finished('failing', 'succeeded', '0+10x40'),
      finished('failing', 'failed', '0+1x40'),
      // 1 failure in 51: 2%
      finished('healthy', 'succeeded', '0+50x40'),
      finished('healthy', 'failed', '0+1x40'),
      // every job fails, but only one every 5 minutes
      finished('quiet', 'failed', '0+0.2x40'),
      // clients cancel half their jobs
      finished('canceled', 'succeeded', '0+5x40'),
      finished('canceled', 'canceled', '0+5x40'),
    ],
    [
      { at: '5m', firing: [] },
      { at: '25m', firing: [{ severity: 'warning', ...PER_POD, type: 'chat', model: 'failing' }] },
    ],
  );
  t.equal(result.status, 0, result.output);
});

t.test('InfernodeScratchEraseFailed fires at the first failed erasure, without waiting', { skip }, async (t) => {
  const result = await alertTest('InfernodeScratchEraseFailed', [series('infernode_scratch_erase_failures_total', {}, '0x20 1x30')], [
    { at: '19m', firing: [] },
    { at: '21m', firing: [{ severity: 'critical', ...TARGET }] },
    { at: '45m', firing: [] },
  ]);
  t.equal(result.status, 0, result.output);
});

t.test('InfernodeScratchEraseFailed stays quiet across a restart that resets the counter', { skip }, async (t) => {
  const result = await alertTest('InfernodeScratchEraseFailed', [series('infernode_scratch_erase_failures_total', {}, '2x20 0x20')], [
    { at: '15m', firing: [] },
    { at: '25m', firing: [] },
  ]);
  t.equal(result.status, 0, result.output);
});

t.test('InfernodeGpuMemoryNearlyFull fires for a GPU over 95% for 15 minutes, not for 90% or a short peak', { skip }, async (t) => {
  const gpu = (index: string, usedGiB: string) => [
    series('infernode_gpu_memory_used_bytes', { gpu: index, uuid: `GPU-${index}` }, usedGiB),
    series('infernode_gpu_memory_total_bytes', { gpu: index, uuid: `GPU-${index}` }, '100x40'),
  ];
  const result = await alertTest('InfernodeGpuMemoryNearlyFull', [...gpu('0', '96x40'), ...gpu('1', '90x40'), ...gpu('2', '97x10 50x30')], [
    { at: '10m', firing: [] },
    { at: '20m', firing: [{ severity: 'warning', ...TARGET, gpu: '0', uuid: 'GPU-0' }] },
  ]);
  t.equal(result.status, 0, result.output);
});

t.test('InfernodeNotReady fires when /readyz stays 503 for 10 minutes, not for a start-up', { skip }, async (t) => {
  const result = await alertTest(
    'InfernodeNotReady',
    [series('infernode_ready', {}, '0x4 1x40'), series('infernode_ready', { pod: 'infernode-stuck' }, '1x10 0x30')],
    [
      { at: '5m', firing: [] },
      { at: '15m', firing: [] },
      { at: '25m', firing: [{ severity: 'warning', ...TARGET, pod: 'infernode-stuck' }] },
    ],
  );
  t.equal(result.status, 0, result.output);
});

t.test('InfernodeDown fires when the scrape fails for 5 minutes, not for a restart', { skip }, async (t) => {
  const result = await alertTest('InfernodeDown', [series('up', {}, '1x10 0x2 1x10 0x20')], [
    { at: '15m', firing: [] },
    { at: '30m', firing: [{ severity: 'critical', ...TARGET }] },
  ]);
  t.equal(result.status, 0, result.output);
});
