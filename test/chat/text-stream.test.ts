import t from 'tap';
import { Detokenizer, StopMatcher } from '../../src/pipelines/chat/text-stream.js';

t.test('text that may begin a stop string is held back until it is known not to', async (t) => {
  const stops = new StopMatcher(['END']);
  t.same(stops.push('abc E'), { text: 'abc ', stopped: false });
  t.same(stops.push('N'), { text: '', stopped: false });
  t.same(stops.push('X!'), { text: 'ENX!', stopped: false });
});

t.test('a stop string split over chunks ends the text before it', async (t) => {
  const stops = new StopMatcher(['</answer>', 'STOP']);
  t.same(stops.push('yes </ans'), { text: 'yes ', stopped: false });
  t.same(stops.push('wer> and more'), { text: '', stopped: true });
});

t.test('the earliest of several stop strings wins', async (t) => {
  const stops = new StopMatcher(['b', 'a']);
  t.same(stops.push('xxab'), { text: 'xx', stopped: true });
});

t.test('held-back text comes out when generation ends without a stop', async (t) => {
  const stops = new StopMatcher(['END']);
  t.same(stops.push('the E'), { text: 'the ', stopped: false });
  t.equal(stops.flush(), 'E');
});

// a byte-level vocabulary: token i is byte i; decoding replaces incomplete UTF-8 with U+FFFD, as tokenizers do
const decodeBytes = (ids: number[]): string => new TextDecoder().decode(Uint8Array.from(ids));

t.test('a character spread over byte tokens comes out whole, once complete', async (t) => {
  const detok = new Detokenizer(decodeBytes, []);
  const bytes = [...new TextEncoder().encode('a€b')];
  t.same(bytes.map((b) => detok.push(b)), ['a', '', '', '€', 'b']);
});

t.test('an incomplete character left at the end is flushed as a replacement character', async (t) => {
  const detok = new Detokenizer(decodeBytes, []);
  t.equal(detok.push(0xe2), '');
  t.equal(detok.flush(), '\uFFFD');
});

t.test('prompt context is decoded along but never emitted', async (t) => {
  const detok = new Detokenizer(decodeBytes, [...new TextEncoder().encode('hi ')]);
  t.equal(detok.push(0x78), 'x');
});
