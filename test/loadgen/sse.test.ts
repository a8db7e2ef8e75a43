import t from 'tap';
import { parseSse } from '../../src/loadgen/sse.js';

async function collect(chunks: string[]) {
  const out = [];
  for await (const m of parseSse((async function* () { yield* chunks.map((c) => new TextEncoder().encode(c)); })())) out.push(m);
  return out;
}

t.test('events split across chunks arrive whole, in order', async (t) => {
  const events = await collect(['id: 1\nevent: tok', 'en\ndata: {"text":"a"}\n', '\nid: 2\nevent: done\ndata: {}\n\n']);
  t.same(events, [
    { event: 'token', data: '{"text":"a"}', id: '1' },
    { event: 'done', data: '{}', id: '2' },
  ]);
});

t.test('CRLF line ends, a CRLF split between chunks, comments and multi-line data follow the SSE rules', async (t) => {
  const events = await collect([': keep-alive\r\ndata: one\r', '\ndata: two\r\n\r\n', 'data: [DONE]\n\n']);
  t.same(events, [
    { event: 'message', data: 'one\ntwo', id: null },
    { event: 'message', data: '[DONE]', id: null },
  ]);
});

t.test('an event without its blank line at the end of the stream is not dispatched', async (t) => {
  t.same(await collect(['data: partial\n']), []);
});
