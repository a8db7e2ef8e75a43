import t from 'tap';
import OpenAI from 'openai';
import { call } from '../helpers/http.js';
import { startNode } from '../helpers/node.js';

const node = await startNode({ models: ['tiny-chat', 'tiny-tensor'] });
t.teardown(() => node.close());
const client = new OpenAI({ baseURL: `${node.url}/v1`, apiKey: 'unused-on-loopback', maxRetries: 0 });
const messages = [{ role: 'user' as const, content: 'Tell me about the river' }];

t.test('the openai client gets a chat completion', async (t) => {
  const res = await client.chat.completions.create({ model: 'tiny-chat', messages, max_tokens: 8, temperature: 0 });
  t.equal(res.object, 'chat.completion');
  t.equal(res.choices[0]!.message.role, 'assistant');
  t.match(res.choices[0]!.message.content!, /^The miller keeps bread/);
  t.equal(res.choices[0]!.finish_reason, 'length');
  t.equal(res.usage!.completion_tokens, 8);
});

t.test('the openai client streams a chat completion, with usage and the same text', async (t) => {
  const whole = await client.chat.completions.create({ model: 'tiny-chat', messages, max_tokens: 12, temperature: 0 });
  const stream = await client.chat.completions.create({ model: 'tiny-chat', messages, max_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let role: string | undefined;
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | null | undefined;
  for await (const chunk of stream) {
    t.equal(chunk.object, 'chat.completion.chunk');
    role ??= chunk.choices[0]?.delta.role;
    text += chunk.choices[0]?.delta.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    if (chunk.usage) usage = chunk.usage;
  }
  t.equal(role, 'assistant');
  t.equal(text, whole.choices[0]!.message.content);
  t.equal(finish, 'length');
  t.same(usage, whole.usage);
});

t.test('the openai client gets text completions, streamed and not', async (t) => {
  const res = await client.completions.create({ model: 'tiny-chat', prompt: 'The cat', max_tokens: 4, temperature: 0 });
  t.equal(res.object, 'text_completion');
  t.match(res.choices[0]!.text, /^ \S+/);
  const stream = await client.completions.create({ model: 'tiny-chat', prompt: 'The cat', max_tokens: 4, temperature: 0, stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
  t.equal(text, res.choices[0]!.text);
});

t.test('ignore_eos (as vLLM takes it) generates exactly max_tokens', async (t) => {
  const body = { model: 'tiny-chat', prompt: 'Ask me about them.', max_tokens: 60, temperature: 0 };
  const natural = await call(node, 'POST', '/v1/completions', { body });
  t.equal(natural.body.choices[0].finish_reason, 'stop');
  const fixed = await call(node, 'POST', '/v1/completions', { body: { ...body, ignore_eos: true } });
  t.equal(fixed.body.choices[0].finish_reason, 'length');
  t.equal(fixed.body.usage.completion_tokens, 60);
});

t.test('a stream ends with data: [DONE]', async (t) => {
  const res = await call(node, 'POST', '/v1/completions', { body: { model: 'tiny-chat', prompt: 'The cat', max_tokens: 2, stream: true } });
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /text\/event-stream/);
  t.match(res.text.trimEnd(), /data: \[DONE\]$/);
});

t.test('bad input gets a 400 in OpenAI error shape naming the parameter', async (t) => {
  const err = await client.chat.completions.create({ model: 'tiny-chat', messages, temperature: -1 }).catch((e: unknown) => e);
  t.ok(err instanceof OpenAI.BadRequestError);
  const body = (err as InstanceType<typeof OpenAI.BadRequestError>).error as { type: string; param: string; code: string };
  t.equal(body.type, 'invalid_request_error');
  t.equal(body.param, 'temperature');
  t.equal(body.code, 'invalid_input');
  t.notMatch((err as Error).message, /input\./, "the message names the request's field, not the job input's");
});

t.test('each route names the fields of its own request in refusals', async (t) => {
  const noPrompt = await call(node, 'POST', '/v1/completions', { body: { model: 'tiny-chat', max_tokens: 2 } });
  t.equal(noPrompt.status, 400);
  t.equal(noPrompt.body.error.param, 'prompt', '/v1/completions takes prompt, not messages');
  const noMessages = await call(node, 'POST', '/v1/chat/completions', { body: { model: 'tiny-chat' } });
  t.equal(noMessages.body.error.param, 'messages');
  const badRole = await call(node, 'POST', '/v1/chat/completions', { body: { model: 'tiny-chat', messages: [{ role: 'robot', content: 'x' }] } });
  t.equal(badRole.body.error.param, 'messages[0].role');
  t.match(badRole.body.error.message, /^messages\[0\]\.role must be/);
  const job = await call(node, 'POST', '/v1/jobs', { body: { type: 'chat', model: 'tiny-chat', input: { messages, max_tokens: 0 } } });
  t.equal(job.body.error.field, 'input.max_tokens', 'a job names the field inside its input');
  const infer = await call(node, 'POST', '/v2/models/tiny-tensor/infer', { body: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 5], data: [1, 2, 3, 4, 5] }] } });
  t.equal(infer.status, 400);
  t.equal(infer.body.error.field, 'inputs[0].shape', 'an infer body has no input field');
});

t.test('fields that would change the answer and that the node does not carry out are refused, naming them', async (t) => {
  const refused: [string, Record<string, unknown>][] = [
    ['/v1/chat/completions', { logprobs: true, top_logprobs: 3 }],
    ['/v1/chat/completions', { response_format: { type: 'json_object' } }],
    ['/v1/chat/completions', { tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'required' }],
    ['/v1/completions', { echo: true }],
    ['/v1/completions', { best_of: 3 }],
    ['/v1/completions', { suffix: 'the end' }],
    ['/v1/completions', { logprobs: 5 }],
  ];
  for (const [route, fields] of refused) {
    const prompt = route === '/v1/completions' ? { prompt: 'The cat' } : { messages };
    const res = await call(node, 'POST', route, { body: { model: 'tiny-chat', ...prompt, max_tokens: 2, ...fields } });
    t.equal(res.status, 400, `${route} ${JSON.stringify(fields)}`);
    t.equal(res.body.error.param, Object.keys(fields)[0]);
  }
  const harmless = { response_format: { type: 'text' }, logprobs: false, tools: [], user: 'someone', store: false };
  const taken = await call(node, 'POST', '/v1/chat/completions', { body: { model: 'tiny-chat', messages, max_tokens: 2, ...harmless } });
  t.equal(taken.status, 200, 'their defaults, and fields that change nothing, are taken');
  const bestOfOne = await call(node, 'POST', '/v1/completions', { body: { model: 'tiny-chat', prompt: 'The cat', max_tokens: 2, best_of: 1, echo: false } });
  t.equal(bestOfOne.status, 200);
});

t.test('a model that is not a chat model is refused with a 400', async (t) => {
  const res = await call(node, 'POST', '/v1/chat/completions', { body: { model: 'tiny-tensor', messages } });
  t.equal(res.status, 400);
  t.equal(res.body.error.param, 'model');
});

t.test('a prompt over the context is refused with a 400 naming the prompt', async (t) => {
  const res = await call(node, 'POST', '/v1/completions', { body: { model: 'tiny-chat', prompt: 'the river '.repeat(700), max_tokens: 10 } });
  t.equal(res.status, 400);
  t.match(res.body.error.message, /plus max_tokens \(10\) exceed the model's context of 1024 tokens/);
  t.equal(res.body.error.param, 'prompt');
  const noMaxTokens = await call(node, 'POST', '/v1/chat/completions', { body: { model: 'tiny-chat', messages: [{ role: 'user', content: 'the river '.repeat(700) }] } });
  t.equal(noMaxTokens.status, 400);
  t.equal(noMaxTokens.body.error.param, 'messages');
  t.match(noMaxTokens.body.error.message, /leaves no room for a completion/, 'without max_tokens there is no max_tokens to blame');
});

t.test('refusals name the field as the request sent it', async (t) => {
  const refusal = async (body: Record<string, unknown>) => (await call(node, 'POST', '/v1/chat/completions', { body: { model: 'tiny-chat', messages, ...body } })).body.error;
  t.match(await refusal({ max_completion_tokens: 0 }), { param: 'max_completion_tokens', message: /^max_completion_tokens must be/ });
  t.match(await refusal({ stop: '' }), { param: 'stop' }, 'a single stop string is not a list');
  t.match(await refusal({ messages: [{ role: 'user', content: [{ type: 'text', text: 'ok' }, { type: 'text', text: 'bad \ud800' }] }] }), { param: 'messages[0].content[1].text' });
  t.match(await refusal({ seed: 2 ** 53 }), { param: 'seed', message: /2\^53/ });
});

t.test('a streamed request that fails before its first token gets the error status, as without stream', async (t) => {
  const body = { model: 'tiny-chat', prompt: 'the river '.repeat(700), max_tokens: 10, stream: true };
  const res = await call(node, 'POST', '/v1/completions', { body });
  t.equal(res.status, 400);
  t.match(res.headers.get('content-type'), /application\/json/);
  t.match(res.body.error, { type: 'invalid_request_error', code: 'invalid_input', message: /context of 1024 tokens/ });
  const viaClient = await client.completions.create({ ...body, stream: true }).catch((e: unknown) => e);
  t.ok(viaClient instanceof OpenAI.BadRequestError, 'the openai client raises it at create()');
  const health = await call(node, 'GET', '/healthz');
  t.equal(health.status, 200);
});

const canceledJobs = async (): Promise<number> => {
  const line = (await call(node, 'GET', '/metrics')).text.split('\n').find((l) => l.startsWith('infernode_jobs_finished_total{') && l.includes('status="canceled"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

async function disconnectsEarly(stream: boolean): Promise<number> {
  const before = await canceledJobs();
  const controller = new AbortController();
  const request = fetch(`${node.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    // this seed writes 279 tokens before its end token, long enough to be cut off
    body: JSON.stringify({ model: 'tiny-chat', messages, max_tokens: 1000, stream, temperature: 3, seed: 3, repetition_penalty: 10 }),
    signal: controller.signal,
  });
  if (stream) await (await request).body!.getReader().read();
  else await new Promise((r) => setTimeout(r, 20));
  controller.abort();
  await request.catch(() => undefined);
  for (let i = 0; i < 100 && (await canceledJobs()) === before; i++) await new Promise((r) => setTimeout(r, 50));
  return (await canceledJobs()) - before;
}

t.test('a client that disconnects from a stream cancels its job', async (t) => {
  t.equal(await disconnectsEarly(true), 1);
});

t.test('a client that disconnects before a completion is answered cancels its job', async (t) => {
  t.equal(await disconnectsEarly(false), 1);
});

t.test('the node stays healthy after all of it', async (t) => {
  t.equal((await call(node, 'GET', '/healthz')).status, 200);
});
