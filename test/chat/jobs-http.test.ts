import t from 'tap';
import { call, readEvents } from '../helpers/http.js';
import { startNode } from '../helpers/node.js';

const node = await startNode({ models: ['tiny-chat', 'tiny-tensor', 'busy-tensor'] });
t.teardown(() => node.close());
const chat = (input: Record<string, unknown>, model = 'tiny-chat') => ({ type: 'chat', model, input });
const hello = [{ role: 'user', content: 'Tell me about the river' }];

t.test('a chat job streams token events that add up to its result', async (t) => {
  // a long tensor run holds the device's executor thread, so the chat job cannot produce a token before
  // the test has subscribed to its events
  const busy = { type: 'tensor', model: 'busy-tensor', input: { inputs: [
    { name: 'input', datatype: 'FP32', shape: [8, 512], data: new Array(8 * 512).fill(0.5) },
    { name: 'iterations', datatype: 'INT64', shape: [1], data: [15000] },
  ] } };
  await call(node, 'POST', '/v1/jobs', { body: busy });
  const submitted = await call(node, 'POST', '/v1/jobs', { body: chat({ messages: hello, max_tokens: 10, temperature: 0 }) });
  t.equal(submitted.status, 202);
  const reading = readEvents(node, `/v1/jobs/${submitted.body.id}/events`);
  const events = await reading;
  t.ok(events.some((e) => e.event === 'token'), 'token events were streamed');
  const done = events.at(-1)!;
  t.equal(done.event, 'done');
  t.equal(done.data.status, 'succeeded');
  const text = events.filter((e) => e.event === 'token').map((e) => e.data.text).join('');
  t.equal(text, done.data.result.text);
  t.match(done.data.result, { finish_reason: 'length', usage: { completion_tokens: 10 } });
});

t.test('a canceled chat job keeps the text streamed so far, with finish_reason cancel', async (t) => {
  const submitted = await call(node, 'POST', '/v1/jobs', { body: chat({ messages: hello, max_tokens: 1000, ignore_eos: true }) });
  const stream = (await fetch(`${node.url}/v1/jobs/${submitted.body.id}/events`)).body!.pipeThrough(new TextDecoderStream()).getReader();
  let seen = '';
  while (!seen.includes('event: token')) seen += (await stream.read()).value ?? '';
  const canceled = await call(node, 'DELETE', `/v1/jobs/${submitted.body.id}`);
  for (let part = await stream.read(); !part.done; part = await stream.read()) seen += part.value;
  t.equal(canceled.status, 200);
  t.equal(canceled.body.status, 'canceled');
  const result = canceled.body.result;
  t.equal(result.finish_reason, 'cancel');
  const tokens = seen.split('\n\n').filter((block) => block.includes('event: token')).map((block) => JSON.parse(block.slice(block.indexOf('data: ') + 6)).text);
  t.equal(result.text, tokens.join(''), 'the result is the text the stream carried');
  t.ok(result.usage.completion_tokens > 0 && result.usage.completion_tokens < 1000);
  t.match((await call(node, 'GET', `/v1/jobs/${submitted.body.id}`)).body, { status: 'canceled', error: { code: 'canceled' }, result: { finish_reason: 'cancel' } });
});

const BAD: Array<[string, Record<string, unknown>, string, string?]> = [
  ['empty messages', { messages: [] }, 'input.messages'],
  ['an unknown role', { messages: [{ role: 'robot', content: 'x' }] }, 'input.messages[0].role'],
  ['non-string content', { messages: [{ role: 'user', content: ['x'] }] }, 'input.messages[0].content'],
  ['both prompt and messages', { messages: hello, prompt: 'x' }, 'input.prompt'],
  ['neither prompt nor messages', {}, 'input.messages'],
  ['max_tokens of 0', { prompt: 'x', max_tokens: 0 }, 'input.max_tokens'],
  ['max_tokens over the limit', { prompt: 'x', max_tokens: 5000 }, 'input.max_tokens'],
  ['a negative temperature', { prompt: 'x', temperature: -1 }, 'input.temperature'],
  ['top_p outside (0, 1]', { prompt: 'x', top_p: 1.5 }, 'input.top_p'],
  ['a negative top_k', { prompt: 'x', top_k: -2 }, 'input.top_k'],
  ['too many stop strings', { prompt: 'x', stop: Array.from({ length: 20 }, (_, i) => `s${i}`) }, 'input.stop'],
  ['a too long stop string', { prompt: 'x', stop: ['y'.repeat(1000)] }, 'input.stop[0]'],
  ['a prompt longer than the context', { prompt: 'river '.repeat(3000) }, 'input.prompt'],
  ['a lone surrogate in content', { messages: [{ role: 'user', content: 'a\ud800b' }] }, 'input.messages[0].content'],
  ['a model that is not a chat model', { prompt: 'x' }, 'model', 'tiny-tensor'],
];
for (const [what, input, field, model] of BAD) {
  t.test(`${what} gets a 400 naming ${field}`, async (t) => {
    const res = await call(node, 'POST', '/v1/jobs', { body: chat(input, model) });
    t.equal(res.status, 400);
    t.equal(res.body.error.field, field);
  });
}

t.test('a prompt that fits by characters but not by tokens fails its job as invalid input', async (t) => {
  // 'x ' is two tokens per two characters: under the cheap bound, over the exact count
  const res = await call(node, 'POST', '/v1/jobs', { body: chat({ prompt: 'x '.repeat(500), max_tokens: 100 }), headers: { prefer: 'wait=30' } });
  t.equal(res.body.status, 'failed');
  t.equal(res.body.error.code, 'invalid_input');
  t.match(res.body.error.message, /context of 1024 tokens/);
  t.equal(res.body.error.field, 'input.prompt', "the job's error names the field at fault");
});

t.test('the daemon stays healthy after the bad input', async (t) => {
  t.equal((await call(node, 'GET', '/healthz')).status, 200);
  const res = await call(node, 'POST', '/v1/jobs', { body: chat({ prompt: 'The cat', max_tokens: 3 }), headers: { prefer: 'wait=30' } });
  t.equal(res.body.status, 'succeeded');
});
