import t from 'tap';
import { ChatText, contextLength, type ChatModelFiles } from '../../src/pipelines/chat/model-files.js';
import { CHAT_TEMPLATE, END_ID, EOS_ID, tokenizerConfigJson, tokenizerJson } from '../../scripts/fixtures/chat/tokenizer.js';

const files = (overrides: Partial<ChatModelFiles> = {}, chatTemplate: unknown = CHAT_TEMPLATE): ChatModelFiles => ({
  graph: 'unused.onnx',
  config: {},
  generation: {},
  tokenizerJson: tokenizerJson(),
  tokenizerConfig: { ...tokenizerConfigJson(), chat_template: chatTemplate },
  ...overrides,
});
const hello = [{ role: 'user' as const, content: 'hello' }];

t.test('a list of named chat templates uses the one named default', async (t) => {
  const text = new ChatText(files({}, [
    { name: 'tool_use', template: 'TOOLS' },
    { name: 'default', template: CHAT_TEMPLATE },
  ]));
  t.equal(text.decode(text.encodePrompt({ messages: hello })), 'hello');
  t.same(text.encodePrompt({ messages: hello }).slice(0, 1), [4]);
});

t.test('end-of-sequence ids come from generation_config, config and the tokenizer', async (t) => {
  const text = new ChatText(files({ generation: { eos_token_id: [EOS_ID] }, config: { eos_token_id: 99 } }));
  t.same([...text.eosIds].sort((a, b) => a - b), [EOS_ID, END_ID, 99].sort((a, b) => a - b));
});

t.test('messages to a model without a chat template fail as invalid input', async (t) => {
  const text = new ChatText(files({}, null));
  t.equal(text.hasChatTemplate, false);
  t.throws(() => text.encodePrompt({ messages: hello }), { name: 'PipelineError', code: 'invalid_input' });
});

t.test('a template that raises an error fails as invalid input', async (t) => {
  const text = new ChatText(files({}, "{{ raise_exception('Conversation roles must alternate') }}"));
  t.throws(() => text.encodePrompt({ messages: hello }), { code: 'invalid_input', message: /roles must alternate/ });
});

t.test('the characters a message adds are the fewest over the roles the template takes', async (t) => {
  // user 4 + content, assistant 9 + content, system refused
  const template =
    "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('no system role') }}{% elif m.role == 'user' %}<u>{{ m.content }}|{% else %}<assist>{{ m.content }}|{% endif %}{% endfor %}";
  t.equal(new ChatText(files({}, template)).messageMarkerChars(), 4);
  t.equal(new ChatText(files({}, '{% for m in messages %}{{ m.content }}{% endfor %}')).messageMarkerChars(), 0, 'a template that adds nothing');
  // consecutive messages of a role merged into one turn, joined by "|": the second adds 1 character, not 6
  const merging = "{% for m in messages %}{% if loop.first or m.role != messages[loop.index0 - 1].role %}<{{ m.role }}>{% else %}|{% endif %}{{ m.content }}{% endfor %}";
  t.equal(new ChatText(files({}, merging)).messageMarkerChars(), 1, 'a template that merges a role\'s consecutive messages');
  t.equal(new ChatText(files({}, "{{ raise_exception('never') }}")).messageMarkerChars(), 0, 'a template that takes nothing');
  t.equal(new ChatText(files({}, null)).messageMarkerChars(), 0, 'no template');
});

t.test('the context length comes from config.json, else the tokenizer, else 2048', async (t) => {
  t.equal(contextLength(files({ config: { max_position_embeddings: 4096 } })), 4096);
  t.equal(contextLength(files({ config: { n_positions: 512 } })), 512);
  t.equal(contextLength(files({ config: {}, tokenizerConfig: { model_max_length: 777 } })), 777);
  t.equal(contextLength(files({ config: {}, tokenizerConfig: { model_max_length: 1e30 } })), 2048);
});
