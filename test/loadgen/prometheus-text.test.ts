import t from 'tap';
import { parsePrometheusText, sumSamples } from '../../src/loadgen/prometheus-text.js';

const BODY = `# HELP infernode_jobs_queued Jobs waiting in the device queue.
# TYPE infernode_jobs_queued gauge
infernode_jobs_queued{device="cuda:0"} 3
infernode_jobs_queued{device="cuda:1"} 4
infernode_llm_tokens_total{model="tiny-chat",kind="completion"} 120
infernode_llm_tokens_total{model="tiny-chat",kind="prompt"} 30
infernode_job_run_seconds_bucket{type="chat",model="tiny-chat",le="+Inf"} 7
odd_label{path="a \\"quoted\\" \\\\ name\\nnext"} 1.5e3 1700000000000
process_start_time_seconds 1764380000
`;

t.test('samples keep their names, labels and values, timestamps dropped', async (t) => {
  const samples = parsePrometheusText(BODY);
  t.equal(samples.length, 7);
  t.same(samples[0], { name: 'infernode_jobs_queued', labels: { device: 'cuda:0' }, value: 3 });
  t.same(samples[5], { name: 'odd_label', labels: { path: 'a "quoted" \\ name\nnext' }, value: 1500 });
  t.same(samples[6], { name: 'process_start_time_seconds', labels: {}, value: 1764380000 });
});

t.test('a metric sums across its label sets, optionally filtered', async (t) => {
  const samples = parsePrometheusText(BODY);
  t.equal(sumSamples(samples, 'infernode_jobs_queued'), 7);
  t.equal(sumSamples(samples, 'infernode_llm_tokens_total', { kind: 'completion' }), 120);
  t.equal(sumSamples(samples, 'infernode_gpu_utilization_ratio'), null, 'an absent metric is null, not 0');
});

t.test('lines that are not samples are skipped, not thrown on', async (t) => {
  t.same(parsePrometheusText('garbage line here\n{x="1"} 2\nok 1\n'), [{ name: 'ok', labels: {}, value: 1 }]);
});
