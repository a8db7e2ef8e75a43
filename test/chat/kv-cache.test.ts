import t from 'tap';
import { readFile } from 'node:fs/promises';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { Decoder, describeDecoder, gatherCache, type KvCache } from '../../src/pipelines/chat/decoder.js';
import { readChatModelFiles } from '../../src/pipelines/chat/model-files.js';
import { chatModelDir, sessions } from './chat-model.js';

const PROMPT = [5, 263, 347, 335, 332, 300, 301];
const NEXT = [320, 321, 322, 323];
const none = () => undefined;

async function decoderOf(name: string): Promise<Decoder> {
  const files = await readChatModelFiles(await chatModelDir(name), undefined);
  const session = await sessions.create(files.graph);
  return new Decoder(session, describeDecoder(session, files.config));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

for (const name of ['tiny-chat', 'tiny-chat-merged', 'tiny-chat-no-position-ids', 'tiny-chat-fp16-kv']) {
  t.test(`${name}: decoding with the cache gives the logits of recomputing the whole sequence`, async (t) => {
    const decoder = await decoderOf(name);
    let { cache } = await decoder.prefill([PROMPT], none);
    const tolerance = decoder.shape.kvType === 'float16' ? 2e-2 : 1e-4;
    for (let i = 0; i < NEXT.length; i++) {
      const step = await decoder.step([NEXT[i]!], [cache.length], cache, none);
      cache = step.cache;
      const full = await decoder.prefill([[...PROMPT, ...NEXT.slice(0, i + 1)]], none);
      t.ok(maxDiff(step.logits, full.logits) < tolerance, `step ${i}`);
    }
  });
}

t.test('the cache matters: a zeroed past changes the logits', async (t) => {
  const decoder = await decoderOf('tiny-chat');
  const { cache } = await decoder.prefill([PROMPT], none);
  const good = await decoder.step([NEXT[0]!], [cache.length], cache, none);
  const zeroed: KvCache = {
    length: cache.length,
    tensors: cache.tensors.map((x) => new ort.Tensor('float32', new Float32Array((x.data as Float32Array).length), x.dims)),
  };
  const bad = await decoder.step([NEXT[0]!], [cache.length], zeroed, none);
  t.ok(maxDiff(good.logits, bad.logits) > 0.1);
});

t.test('a left-padded row in a batch gets the logits it gets alone', async (t) => {
  const decoder = await decoderOf('tiny-chat');
  const short = await decoder.prefill([PROMPT.slice(0, 3)], none);
  const long = await decoder.prefill([PROMPT], none);
  const batch = gatherCache(decoder.shape, [
    { cache: short.cache, row: 0, length: 3 },
    { cache: long.cache, row: 0, length: PROMPT.length },
  ]);
  const together = await decoder.step([NEXT[0]!, NEXT[1]!], [3, PROMPT.length], batch, none);
  const alone = await decoder.step([NEXT[0]!], [3], short.cache, none);
  const vocab = decoder.shape.vocabSize;
  t.ok(maxDiff(together.logits.subarray(0, vocab), alone.logits) < 1e-5);
});

t.test('prompts prefilled together, left-padded, get the logits and cache they get alone', async (t) => {
  const decoder = await decoderOf('tiny-chat');
  const vocab = decoder.shape.vocabSize;
  const together = await decoder.prefill([PROMPT.slice(0, 2), PROMPT], none);
  const alone = await decoder.prefill([PROMPT.slice(0, 2)], none);
  t.ok(maxDiff(together.logits.subarray(0, vocab), alone.logits) < 1e-5);
  const batch = gatherCache(decoder.shape, [{ cache: together.cache, row: 0, length: 2 }]);
  const next = await decoder.step([NEXT[0]!], [2], batch, none);
  const reference = await decoder.step([NEXT[0]!], [2], alone.cache, none);
  t.ok(maxDiff(next.logits, reference.logits) < 1e-5);
});

/** Every node's op type, subgraphs (the merged decoder's If branches) included. */
function opTypes(graph: onnxProto.onnx.IGraphProto): string[] {
  return (graph.node ?? []).flatMap((n) => [n.opType!, ...(n.attribute ?? []).flatMap((a) => (a.g ? opTypes(a.g) : []))]);
}

for (const name of ['tiny-chat', 'tiny-chat-merged']) {
  t.test(`${name}: the present outputs come straight from the attention, with no Identity copying the cache`, async (t) => {
    const files = await readChatModelFiles(await chatModelDir(name), undefined);
    const model = onnxProto.onnx.ModelProto.decode(await readFile(files.graph));
    const ops = opTypes(model.graph!);
    t.ok(ops.includes('Concat'));
    t.notOk(ops.includes('Identity'), 'an Identity on a graph output is a full copy of the cache every step');
  });
}
