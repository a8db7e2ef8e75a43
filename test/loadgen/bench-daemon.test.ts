import t from 'tap';
import { parsePrometheusText, sumSamples } from '../../src/loadgen/prometheus-text.js';
import { parseBenchArgs, type RunOptions } from '../../src/loadgen/options.js';
import { runSweep } from '../../src/loadgen/sweep.js';
import { startNode, type TestNode } from '../helpers/node.js';

const TOKEN = 'bench-token-0123456789abcdef';

async function counters(node: TestNode): Promise<(name: string, labels: Record<string, string>) => number> {
  const res = await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const samples = parsePrometheusText(await res.text());
  return (name, labels) => sumSamples(samples, name, labels) ?? 0;
}

function optionsFor(node: TestNode, args: string[]): RunOptions {
  const command = parseBenchArgs(['--url', node.url, '--token', TOKEN, '--warmup', '0', ...args], {});
  if (command.kind !== 'run') throw new Error('expected a run');
  return command.options;
}

async function daemon(t: { teardown(fn: () => unknown): void }, models: string[]): Promise<TestNode> {
  const node = await startNode({ models, tokens: `${TOKEN} jobs:write,jobs:read,metrics bench\n` });
  t.teardown(() => node.close());
  return node;
}

t.test('tensor inferences counted by the client match the jobs the daemon finished', async (t) => {
  const node = await daemon(t, ['tiny-tensor']);
  const result = await runSweep(optionsFor(node, ['--type', 'tensor', '--model', 'tiny-tensor', '--concurrency', '1,4', '--requests', '20']));
  const count = await counters(node);
  t.same(result.points.map((p) => p.requests), [{ total: 20, succeeded: 20, failed: 0 }, { total: 20, succeeded: 20, failed: 0 }]);
  t.equal(count('infernode_jobs_finished_total', { type: 'tensor', status: 'succeeded' }), 40);
  const scrape = result.points[0]?.node;
  t.equal(scrape?.scrapeErrors, 0, 'the token with the metrics scope reads /metrics');
  t.ok(scrape?.queueDepth, 'the node queue depth was read');
});

t.test('chat jobs: output tokens and jobs match the daemon’s own counts', async (t) => {
  const node = await daemon(t, ['tiny-chat']);
  const result = await runSweep(optionsFor(node, ['--type', 'chat', '--model', 'tiny-chat', '--concurrency', '1,3', '--requests', '6', '--max-tokens', '12']));
  const count = await counters(node);
  const succeeded = result.points.reduce((n, p) => n + p.requests.succeeded, 0);
  const tokens = result.points.reduce((n, p) => n + p.totals.outputTokens, 0);
  t.equal(succeeded, 12);
  t.equal(count('infernode_jobs_finished_total', { type: 'chat', status: 'succeeded' }), succeeded);
  t.equal(count('infernode_llm_tokens_total', { model: 'tiny-chat', kind: 'completion' }), tokens);
  for (const p of result.points) {
    t.ok(p.latencyS.ttft && p.latencyS.ttft.count > 0, `${p.label}: time to first token measured from the stream`);
    t.ok(p.latencyS.run, `${p.label}: the node's run time reported`);
  }
});

t.test('--ignore-eos: every chat request generates exactly --max-tokens', async (t) => {
  const node = await daemon(t, ['tiny-chat']);
  const result = await runSweep(optionsFor(node, ['--type', 'chat', '--model', 'tiny-chat', '--concurrency', '2', '--requests', '4', '--max-tokens', '80', '--ignore-eos']));
  const [p] = result.points;
  t.same(p?.requests, { total: 4, succeeded: 4, failed: 0 });
  t.equal(p?.totals.outputTokens, 4 * 80, 'the built-in prompts end well before 80 tokens without it');
});

t.test('image jobs: steps and jobs match the daemon’s own counts', async (t) => {
  const node = await daemon(t, ['tiny-sd']);
  const result = await runSweep(optionsFor(node, ['--type', 'image', '--model', 'tiny-sd', '--concurrency', '2', '--requests', '4']));
  const count = await counters(node);
  const [p] = result.points;
  t.same(p?.requests, { total: 4, succeeded: 4, failed: 0 });
  t.equal(count('infernode_jobs_finished_total', { type: 'image', status: 'succeeded' }), 4);
  t.equal(count('infernode_diffusion_steps_total', { model: 'tiny-sd' }), p?.totals.steps);
  t.equal(p?.totals.steps, 4 * 8, 'the built-in image inputs ask for 8 steps');
});

t.test('OpenAI streamed chat completions: output tokens match the daemon’s own count', async (t) => {
  const node = await daemon(t, ['tiny-chat']);
  const result = await runSweep(optionsFor(node, ['--api', 'openai', '--type', 'chat', '--model', 'tiny-chat', '--concurrency', '2', '--requests', '4', '--max-tokens', '10']));
  const count = await counters(node);
  const [p] = result.points;
  t.same(p?.requests, { total: 4, succeeded: 4, failed: 0 });
  t.equal(count('infernode_jobs_finished_total', { type: 'chat', status: 'succeeded' }), 4);
  t.equal(count('infernode_llm_tokens_total', { model: 'tiny-chat', kind: 'completion' }), p?.totals.outputTokens);
  t.ok(p?.latencyS.interToken, 'inter-token latency measured from the chunks');
});
