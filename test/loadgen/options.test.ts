import t from 'tap';
import { chatCompletionBody, imageGenerationBody } from '../../src/loadgen/drivers/openai.js';
import { parseBenchArgs } from '../../src/loadgen/options.js';

const run = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const command = parseBenchArgs(argv, env);
  if (command.kind !== 'run') throw new Error('expected a run');
  return command.options;
};

t.test('defaults: one sender, 10 s a point, one warm-up request, the jobs API, metrics beside the URL', async (t) => {
  const o = run(['--url', 'http://127.0.0.1:8080', '--type', 'chat', '--model', 'm'], { INFERNODE_TOKEN: 'from-env' });
  t.same(o.loads, [{ mode: 'concurrency', value: 1 }]);
  t.equal(o.durationS, 10);
  t.equal(o.requests, null);
  t.equal(o.warmup, 1);
  t.equal(o.api, 'infernode');
  t.equal(o.token, 'from-env');
  t.equal(o.metricsUrl?.href, 'http://127.0.0.1:8080/metrics');
});

t.test('--ignore-eos is off by default and applies to chat only', async (t) => {
  t.equal(run(['--url', 'http://h:1', '--type', 'chat', '--model', 'm']).ignoreEos, false);
  t.equal(run(['--url', 'http://h:1', '--type', 'chat', '--model', 'm', '--ignore-eos']).ignoreEos, true);
  t.throws(() => run(['--url', 'http://h:1', '--type', 'image', '--model', 'm', '--ignore-eos']), /--ignore-eos: applies to --type chat only/);
});

t.test('a request count alone bounds the point, without a duration', async (t) => {
  const o = run(['--url', 'http://h:1', '--type', 'image', '--model', 'm', '--requests', '50', '--rate', '0.5,2']);
  t.equal(o.durationS, null);
  t.equal(o.requests, 50);
  t.same(o.loads, [{ mode: 'rate', value: 0.5 }, { mode: 'rate', value: 2 }]);
});

t.test('a URL path prefix is kept for the routes and the metrics', async (t) => {
  const o = run(['--url', 'https://gw.example/nodes/7', '--type', 'tensor', '--model', 'm', '--duration', '2m', '--timeout', '1500ms']);
  t.equal(o.metricsUrl?.href, 'https://gw.example/nodes/7/metrics');
  t.equal(o.durationS, 120);
  t.equal(o.timeoutS, 1.5);
});

t.test('a --timeout over 3600 s is refused for jobs only: the tensor and OpenAI routes send no timeout_s', async (t) => {
  t.equal(run(['--url', 'http://h:1', '--type', 'image', '--model', 'm', '--timeout', '1h']).timeoutS, 3600);
  t.throws(() => run(['--url', 'http://h:1', '--type', 'video', '--model', 'm', '--timeout', '3601s']), /--timeout: at most 3600s for video jobs/);
  t.equal(run(['--url', 'http://h:1', '--type', 'tensor', '--model', 'm', '--timeout', '2h']).timeoutS, 7200);
  t.equal(run(['--url', 'http://h:1', '--type', 'chat', '--model', 'm', '--api', 'openai', '--timeout', '2h']).timeoutS, 7200);
});

t.test('--help asks for the usage text', async (t) => {
  t.same(parseBenchArgs(['--help'], {}), { kind: 'help' });
});

t.test('a job input becomes an OpenAI streamed chat request, a raw prompt a user message', async (t) => {
  t.same(chatCompletionBody('m', { prompt: 'hi', max_tokens: 5, temperature: 0 }), {
    max_tokens: 5, temperature: 0, model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true },
  });
  const messages = [{ role: 'system', content: 's' }, { role: 'user', content: 'u' }];
  t.same(chatCompletionBody('m', { messages }).messages, messages);
});

t.test('an image input keeps only the fields the OpenAI images API defines, with its size as WxH', async (t) => {
  t.same(imageGenerationBody('m', { prompt: 'a red apple', width: 64, height: 32, n: 2, steps: 8, seed: 1 }), { model: 'm', prompt: 'a red apple', n: 2, size: '64x32' });
  t.same(imageGenerationBody('m', { prompt: 'p' }), { model: 'm', prompt: 'p' });
});
