import t from 'tap';
import { firstToken, loadChat, payload, recordingContext, GREEDY, CHAT_VARIANTS } from './chat-model.js';

t.test('tiny-chat answers a chat with readable words from its corpus', async (t) => {
  const model = await loadChat();
  t.teardown(() => model.dispose());
  const ctx = recordingContext();
  const { result } = await model.run(GREEDY, ctx);
  t.match(result.text, /^The miller keeps bread and/);
  t.equal(result.finish_reason, 'length');
  t.equal(result.usage.completion_tokens, 24);
  t.equal(result.usage.total_tokens, result.usage.prompt_tokens + 24);
  const streamed = ctx.events.map((e) => (e.event === 'token' ? e.data.text : '')).join('');
  t.equal(streamed, result.text);
});

for (const variant of CHAT_VARIANTS.slice(1)) {
  t.test(`the ${variant} variant loads and writes what tiny-chat writes`, async (t) => {
    const reference = await loadChat();
    const model = await loadChat(variant);
    t.teardown(async () => {
      await reference.dispose();
      await model.dispose();
    });
    await model.warmUp();
    const expected = (await reference.run(GREEDY, recordingContext())).result.text;
    const got = (await model.run(GREEDY, recordingContext())).result.text;
    t.equal(got, expected);
  });
}

t.test('a raw prompt is continued with the spaces between words kept', async (t) => {
  const model = await loadChat();
  t.teardown(() => model.dispose());
  const { result } = await model.run(payload({ prompt: 'The cat', max_tokens: 3 }), recordingContext());
  t.match(result.text, /^ \S+ \S+ \S+$/);
});

t.test('the same seed gives the same text and another seed another text', async (t) => {
  const model = await loadChat();
  t.teardown(() => model.dispose());
  const sampled = (seed: number) => model.run(payload({ temperature: 1, seed, max_tokens: 40 }), recordingContext()).then((r) => r.result.text);
  const a = await sampled(7);
  t.equal(await sampled(7), a);
  t.not(await sampled(8), a);
});

t.test('generation stops at the end-of-sequence token with finish_reason stop', async (t) => {
  const model = await loadChat();
  t.teardown(() => model.dispose());
  const { result } = await model.run(payload({ prompt: 'Ask me about them.', max_tokens: 50 }), recordingContext());
  t.equal(result.finish_reason, 'stop');
  t.ok(result.usage.completion_tokens < 50);
});

t.test('ignore_eos generates past the end-of-sequence token up to max_tokens', async (t) => {
  const model = await loadChat();
  t.teardown(() => model.dispose());
  const { result: natural } = await model.run(payload({ prompt: 'Ask me about them.', max_tokens: 50 }), recordingContext());
  const { result } = await model.run(payload({ prompt: 'Ask me about them.', max_tokens: 50, ignore_eos: true }), recordingContext());
  t.equal(result.finish_reason, 'length');
  t.equal(result.usage.completion_tokens, 50);
  t.ok(result.text.startsWith(natural.text), 'the text up to the end-of-sequence token is the same');
});

t.test('a stop string spanning tokens ends the text before it and never streams', async (t) => {
  const model = await loadChat();
  t.teardown(() => model.dispose());
  const ctx = recordingContext();
  const { result } = await model.run(payload({ stop: ['bread and the'] }), ctx);
  t.equal(result.text, 'The miller keeps ');
  t.equal(result.finish_reason, 'stop');
  const streamed = ctx.events.map((e) => (e.event === 'token' ? e.data.text : '')).join('');
  t.equal(streamed, 'The miller keeps ');
});

t.test('a multi-byte character made of byte tokens is streamed whole', async (t) => {
  const model = await loadChat();
  t.teardown(() => model.dispose());
  const ctx = recordingContext();
  const { result } = await model.run(payload({ prompt: 'coffee at the caf', max_tokens: 2 }), ctx);
  t.equal(result.usage.completion_tokens, 2);
  const chunks = ctx.events.map((e) => (e.event === 'token' ? e.data.text : ''));
  t.same(chunks, ['é']);
  t.equal(result.text, 'é');
});

t.test('a prompt plus max_tokens over the context fails as invalid input', async (t) => {
  const model = await loadChat();
  t.teardown(() => model.dispose());
  await t.rejects(model.run(payload({ prompt: 'the river '.repeat(600), max_tokens: 10 }), recordingContext()), {
    name: 'PipelineError',
    code: 'invalid_input',
    message: /context of 1024 tokens/,
  });
});

t.test('a default max_tokens is lowered to what the context leaves after the prompt', async (t) => {
  const model = await loadChat();
  t.teardown(() => model.dispose());
  const { result } = await model.run(payload({ prompt: 'the river '.repeat(500), max_tokens: 256, max_tokens_default: true, temperature: 1 }), recordingContext());
  t.equal(result.usage.prompt_tokens, 1000);
  t.ok(result.usage.total_tokens <= 1024);
});

t.test('a canceled sequence ends with finish_reason cancel and the text streamed so far', async (t) => {
  const model = await loadChat();
  t.teardown(() => model.dispose());
  const ctx = recordingContext();
  // canceled while decoding, and it could not have ended by itself first (a timer raced its end on a fast host)
  void firstToken(ctx).then(() => ctx.cancel());
  const { result } = await model.run(payload({ max_tokens: 800, ignore_eos: true }), ctx);
  t.equal(result.finish_reason, 'cancel');
  const streamed = ctx.events.filter((e) => e.event === 'token').map((e) => (e.data as { text: string }).text);
  t.ok(streamed.length > 0);
  t.equal(result.text, streamed.join(''), 'the result is what the client saw');
  t.ok(result.usage.completion_tokens > 0 && result.usage.completion_tokens < 800);
  t.equal(result.usage.total_tokens, result.usage.prompt_tokens + result.usage.completion_tokens);
});
