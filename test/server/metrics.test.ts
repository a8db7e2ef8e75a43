import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import net from 'node:net';
import { startNode } from '../helpers/node.js';
import { TENSOR_JOB, call } from '../helpers/http.js';

const node = await startNode();
t.teardown(() => node.close());

t.test('/metrics carries the contract\'s metrics after jobs ran', async (t) => {
  await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, headers: { prefer: 'wait=10' } });
  const form = new FormData();
  form.append('job', JSON.stringify({ ...TENSOR_JOB, input: { inputs: [{ ...TENSOR_JOB.input.inputs[0], data: 'file:t' }] } }));
  form.append('t', new Blob([new Float32Array(4).buffer]));
  await call(node, 'POST', '/v1/jobs', { body: form, headers: { prefer: 'wait=10' } });
  await call(node, 'POST', '/v1/jobs', { body: { ...TENSOR_JOB, priority: 99 } });
  // refused by Fastify's body parser, before any route code: counted all the same
  await call(node, 'POST', '/v1/jobs', { body: 'not json', headers: { 'content-type': 'application/json' } });
  const text = (await call(node, 'GET', '/metrics')).text;
  t.match(text, /infernode_jobs_submitted_total\{type="tensor",model="tiny-tensor"\} 2/);
  t.match(text, /infernode_jobs_finished_total\{type="tensor",model="tiny-tensor",status="succeeded"\} 2/);
  t.match(text, /infernode_jobs_rejected_total\{reason="invalid"\} 2/);
  t.match(text, /infernode_job_queue_seconds_bucket\{le="0.001",type="tensor",model="tiny-tensor"\}/);
  t.match(text, /infernode_model_run_seconds_count\{model="tiny-tensor",graph="model"\} [1-9]/);
  t.match(text, /infernode_jobs_queued\{device="cpu"\} 0/);
  t.match(text, /infernode_model_loaded\{model="tiny-tensor",device="cpu"\} 1/);
  t.match(text, /infernode_scratch_bytes 0/);
  t.match(text, /infernode_scratch_erasures_total\{reason="finished"\} 1/);
  t.match(text, /infernode_scratch_erase_failures_total 0/);
  t.match(text, /process_resident_memory_bytes/);
  t.notMatch(text, /nodejs_active_handles_total/, 'the lint-failing default gauges are left out');
});

const promtool = spawnSync('promtool', ['--version']).status === 0;
t.test('the output passes promtool check metrics', { skip: promtool ? false : 'promtool is not installed (.ci/run installs it)' }, async (t) => {
  const text = (await call(node, 'GET', '/metrics')).text;
  const out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  t.equal(out.trim(), '');
});

t.test('--metrics-port serves /metrics without a token, and nothing else, in the node\'s error shape', async (t) => {
  const port = await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  const guarded = await startNode({ tokens: 'tok-prometheus-8d1e2f3a4b5c metrics prometheus', config: { metricsPort: port } });
  t.teardown(() => guarded.close());
  t.equal((await call(guarded, 'GET', '/metrics')).status, 401, 'the API port still wants a token');
  const scrape = await fetch(`http://127.0.0.1:${port}/metrics`);
  t.equal(scrape.status, 200);
  t.match(await scrape.text(), /infernode_jobs_queued\{device="cpu"\} 0/);
  const other = await fetch(`http://127.0.0.1:${port}/v1/jobs`);
  t.equal(other.status, 404);
  t.match(await other.json(), { error: { code: 'not_found', message: String } });
});
