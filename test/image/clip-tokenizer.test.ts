import path from 'node:path';
import t from 'tap';
import { loadClipTokenizer } from '../../src/pipelines/diffusion/clip-tokenizer.js';
import { fixtureModelsDir } from '../helpers/fixtures.js';

const models = await fixtureModelsDir(['tiny-sd', 'tiny-sd-tokenizer-json']);
const fromVocab = await loadClipTokenizer(path.join(models, 'tiny-sd', 'tokenizer'));
const fromJson = await loadClipTokenizer(path.join(models, 'tiny-sd-tokenizer-json', 'tokenizer'));
// ids of the fixture's vocabulary: 512 byte tokens, then merged words, then <|startoftext|>, <|endoftext|>
const BOS = 575;
const EOS = 576;
const RED = 513;
const SQUARE = 545;
const A = 353; // "a</w>": a one-letter word is its byte token with the word end

t.test('a prompt becomes BOS, its lower-cased words with word ends, EOS, then EOS padding to 77', async (t) => {
  const { ids, truncated } = fromVocab.encode('A  RED Square');
  t.same(ids.slice(0, 5), [BOS, A, RED, SQUARE, EOS]);
  t.equal(ids.length, 77);
  t.ok(ids.slice(5).every((id) => id === EOS));
  t.equal(truncated, 0);
});

t.test('words outside the vocabulary fall back to byte tokens, the last one with its word end', async (t) => {
  const { ids } = fromVocab.encode('zq');
  // the fixture orders its byte tokens by byte value: "z" is 122 and "q</w>" 256 + 113
  t.same(ids.slice(0, 4), [BOS, 122, 256 + 113, EOS]);
});

t.test('vocab.json + merges.txt and tokenizer.json give the same ids', async (t) => {
  for (const prompt of ['a red square', 'Green-ish CIRCLE, on a white background!', 'naïve 3 photos']) {
    t.same(fromJson.encode(prompt), fromVocab.encode(prompt), prompt);
  }
});

t.test('a prompt over 75 tokens keeps its first 75 and says how many it dropped', async (t) => {
  const { ids, truncated } = fromVocab.encode(Array.from({ length: 80 }, () => 'red').join(' '));
  t.equal(ids.length, 77);
  t.same([ids[0], ids[75], ids[76]], [BOS, RED, EOS]);
  t.equal(truncated, 5);
});
