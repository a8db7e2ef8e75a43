import t, { type Test } from 'tap';
import { chatJobHandler, MAX_STOP_LENGTH, MAX_STOP_STRINGS } from '../../src/pipelines/chat/job-handler.js';
import type { ParseContext } from '../../src/pipelines/job-handler.js';
import type { ChatModelInfo } from '../../src/pipelines/chat/protocol.js';

const INFO: ChatModelInfo = { context_length: 1024, max_tokens: 512, max_token_chars: 10, message_marker_chars: 10, has_chat_template: true };
const ctx = (info: Partial<ChatModelInfo> = {}): ParseContext => ({
  model: { spec: { name: 'tiny-chat', type: 'chat', dir: '/nowhere', manifest: {} }, metadata: { inputs: [], outputs: [], info: { ...INFO, ...info } } },
  uploads: { has: () => false, size: () => 0 },
  limits: { uploadLimitBytes: 1 << 20, bodyLimitBytes: 1 << 20 },
});
const hello = [{ role: 'user', content: 'hello' }];
const parse = (input: unknown, info?: Partial<ChatModelInfo>) => chatJobHandler.parse(input, ctx(info));

function refuses(t: Test, input: unknown, field: string, info?: Partial<ChatModelInfo>) {
  t.throws(() => parse(input, info), { name: 'ApiError', code: 'invalid_input', statusCode: 400, field });
}

t.test('a chat input gets the defaults of API.md and a seed', async (t) => {
  const p = parse({ messages: hello });
  t.same(p.messages, hello);
  t.match(p, { max_tokens: 256, temperature: 1, top_p: 1, top_k: 0, min_p: 0, repetition_penalty: 1, presence_penalty: 0, frequency_penalty: 0, stop: [] });
  t.ok(Number.isSafeInteger(p.seed));
});

t.test('a single stop string becomes a list', async (t) => {
  t.same(parse({ prompt: 'x', stop: 'END' }).stop, ['END']);
});

t.test('empty messages are refused', async (t) => refuses(t, { messages: [] }, 'input.messages'));
t.test('an unknown role is refused', async (t) => refuses(t, { messages: [{ role: 'wizard', content: 'x' }] }, 'input.messages[0].role'));
t.test('non-string content is refused', async (t) => refuses(t, { messages: [{ role: 'user', content: 42 }] }, 'input.messages[0].content'));
t.test('both prompt and messages are refused', async (t) => refuses(t, { messages: hello, prompt: 'x' }, 'input.prompt'));
t.test('neither prompt nor messages is refused', async (t) => refuses(t, { max_tokens: 3 }, 'input.messages'));
t.test('max_tokens of 0 is refused', async (t) => refuses(t, { prompt: 'x', max_tokens: 0 }, 'input.max_tokens'));
t.test('max_tokens over the limit is refused', async (t) => refuses(t, { prompt: 'x', max_tokens: 513 }, 'input.max_tokens'));
t.test('a fractional max_tokens is refused', async (t) => refuses(t, { prompt: 'x', max_tokens: 2.5 }, 'input.max_tokens'));
t.test('a negative temperature is refused', async (t) => refuses(t, { prompt: 'x', temperature: -0.1 }, 'input.temperature'));
t.test('top_p of 0 is refused', async (t) => refuses(t, { prompt: 'x', top_p: 0 }, 'input.top_p'));
t.test('top_p over 1 is refused', async (t) => refuses(t, { prompt: 'x', top_p: 1.01 }, 'input.top_p'));
t.test('an ignore_eos that is not a boolean is refused', async (t) => refuses(t, { prompt: 'x', ignore_eos: 'yes' }, 'input.ignore_eos'));
t.test('a negative top_k is refused', async (t) => refuses(t, { prompt: 'x', top_k: -1 }, 'input.top_k'));
t.test('too many stop strings are refused', async (t) => refuses(t, { prompt: 'x', stop: Array.from({ length: MAX_STOP_STRINGS + 1 }, (_, i) => `s${i}`) }, 'input.stop'));
t.test('a too long stop string is refused', async (t) => refuses(t, { prompt: 'x', stop: ['a', 'b'.repeat(MAX_STOP_LENGTH + 1)] }, 'input.stop[1]'));
t.test('a lone surrogate in content is refused', async (t) => refuses(t, { messages: [{ role: 'user', content: 'bad \ud800 text' }] }, 'input.messages[0].content'));
t.test('a lone surrogate in a prompt is refused', async (t) => refuses(t, { prompt: '\udc00' }, 'input.prompt'));
t.test('a paired surrogate (an emoji) is accepted', async (t) => {
  t.equal(parse({ prompt: 'river \u{1F30A}' }).prompt, 'river \u{1F30A}');
});
t.test('a prompt that cannot fit the context with max_tokens is refused', async (t) => refuses(t, { prompt: 'x'.repeat(10 * 1000), max_tokens: 100 }, 'input.prompt'));
t.test("many empty messages that cannot fit the context for their template's markers are refused", async (t) => {
  const empty = Array.from({ length: 1100 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: '' }));
  refuses(t, { messages: empty, max_tokens: 1 }, 'input.messages');
  t.equal(parse({ messages: empty.slice(0, 1000), max_tokens: 1 }).messages?.length, 1000, 'as many as fit are taken');
});
t.test('messages on a model without a chat template are refused', async (t) => refuses(t, { messages: hello }, 'input.messages', { has_chat_template: false }));
t.test('an unknown field is refused', async (t) => refuses(t, { prompt: 'x', temprature: 0 }, 'input.temprature'));
t.test('a non-integer seed is refused', async (t) => refuses(t, { prompt: 'x', seed: 'abc' }, 'input.seed'));

t.test('run reports the seed and executes the parsed input', async (t) => {
  const input = parse({ prompt: 'x', seed: 5 });
  let seed = -1;
  let executed: unknown;
  const result = await chatJobHandler.run(input, {
    reportSeed: (s: number) => (seed = s),
    execute: async (payload: unknown) => {
      executed = payload;
      return { text: 'ok' };
    },
  } as never);
  t.equal(seed, 5);
  t.equal(executed, input);
  t.same(result, { text: 'ok' });
});
