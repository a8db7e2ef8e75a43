import t from 'tap';
import { firstToken, loadChat, payload, recordingContext } from './chat-model.js';

const seeded = (seed: number) => payload({ temperature: 0.9, top_p: 0.95, seed, max_tokens: 30 });

t.test('a seeded request gives the same text alone and inside a batch of 8', async (t) => {
  const model = await loadChat();
  t.teardown(() => model.dispose());
  const alone = (await model.run(seeded(3), recordingContext())).result.text;
  const contexts = Array.from({ length: 8 }, () => recordingContext());
  // different prompts and lengths around it, so its row is padded and masked
  const others = contexts.slice(1).map((ctx, i) =>
    model.run(payload({ prompt: 'The river runs past the old mill '.repeat(i + 1), temperature: 1, seed: 100 + i, max_tokens: 20 + i * 3 }), ctx),
  );
  const inBatch = model.run(seeded(3), contexts[0]!);
  const [mine] = await Promise.all([inBatch, ...others]);
  t.equal(mine.result.text, alone);
  t.ok(Math.max(...contexts.flatMap((c) => c.batches)) > 1, 'the runs were batched');
});

t.test('a sequence arriving while others decode joins the running batch', async (t) => {
  const model = await loadChat();
  t.teardown(() => model.dispose());
  // The first sequence cannot end on its own before the late one is done (no EOS, far more tokens), and the late one
  // arrives once the first is decoding: a sleep instead raced the first sequence's end on a fast host.
  const first = recordingContext();
  const decoding = firstToken(first);
  const running = model.run(payload({ max_tokens: 800, ignore_eos: true }), first);
  await decoding;
  const late = recordingContext();
  await model.run(payload({ max_tokens: 10, ignore_eos: true }), late);
  first.cancel();
  t.equal((await running).result.finish_reason, 'cancel');
  t.ok(first.batches.includes(2), 'a step ran both sequences together');
});

t.test('the running batch never exceeds max_batch and the rest wait their turn', async (t) => {
  const model = await loadChat('tiny-chat', { max_batch: 2 });
  t.teardown(() => model.dispose());
  const contexts = Array.from({ length: 5 }, () => recordingContext());
  const results = await Promise.all(contexts.map((ctx, i) => model.run(payload({ max_tokens: 8 + i, temperature: 0 }), ctx)));
  t.equal(results.length, 5);
  t.ok(Math.max(...contexts.flatMap((c) => c.batches)) <= 2);
});

t.test('a canceled sequence leaves the batch and the others finish', async (t) => {
  const model = await loadChat();
  t.teardown(() => model.dispose());
  const doomed = recordingContext();
  const other = recordingContext();
  // canceled while decoding, and it could not have ended by itself first (a timer raced its end on a fast host)
  void firstToken(doomed).then(() => doomed.cancel());
  const a = model.run(payload({ max_tokens: 800, ignore_eos: true }), doomed);
  const b = model.run(payload({ max_tokens: 40, temperature: 0 }), other);
  t.equal((await a).result.finish_reason, 'cancel');
  t.equal((await b).result.usage.completion_tokens > 0, true);
});
