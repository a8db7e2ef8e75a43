import t from 'tap';
import path from 'node:path';
import type ort from 'onnxruntime-node';
import type { ExecutorModel, RunContext, SessionFactory } from '../../src/pipelines/executor-types.js';
import { loadImageModel } from '../../src/pipelines/image/executor-model.js';
import type { ImagePayload, ImageResult } from '../../src/pipelines/image/protocol.js';
import { detectModel } from '../../src/runtime/model-catalog.js';
import { createSessionFactory } from '../../src/runtime/session-factory.js';
import { fixtureModelsDir } from '../helpers/fixtures.js';

// The VAE decoder's output is the picture as floats. The run hands it back to `release`, which the executor calls
// once the result has left, so zeroing it is off the job's latency but still happens.
const vaeOutputs: Float32Array[] = [];
const cpu = createSessionFactory({ id: 'cpu', kind: 'cpu', index: 0 });
const watching: SessionFactory = {
  device: cpu.device,
  async create(file) {
    const session = await cpu.create(file);
    if (!file.includes('vae_decoder')) return session;
    const run = session.run.bind(session) as (feeds: ort.InferenceSession.FeedsType) => Promise<ort.InferenceSession.ReturnType>;
    (session as { run: unknown }).run = async (feeds: ort.InferenceSession.FeedsType) => {
      const out = await run(feeds);
      vaeOutputs.push(Object.values(out)[0]!.data as Float32Array);
      return out;
    };
    return session;
  },
};

const spec = await detectModel(path.join(await fixtureModelsDir(['tiny-sd']), 'tiny-sd'));
const model = (await loadImageModel(spec, watching)) as ExecutorModel<ImagePayload, ImageResult>;
t.teardown(() => model.dispose());
const ctx: RunContext = { jobId: 'j', cancelled: () => false, throwIfCancelled: () => {}, emit: () => {}, observeRun: () => {}, observeBatch: () => {} };
const payload: ImagePayload = { prompt: 'a red square', negativePrompt: '', width: 64, height: 64, steps: 2, guidanceScale: 7.5, scheduler: 'euler', seed: 1, n: 1, init: null };

t.test('the warm-up zeroes its own VAE output', async (t) => {
  await model.warmUp();
  t.ok(vaeOutputs.length > 0 && vaeOutputs.every((data) => data.every((v) => v === 0)));
});

t.test("a run's VAE output is intact until release, and zero after it", async (t) => {
  const outcome = await model.run(payload, ctx);
  const planes = vaeOutputs.at(-1)!;
  t.ok(planes.some((v) => v !== 0), 'not zeroed on the latency path');
  t.equal(outcome.result.images[0]!.length, 64 * 64 * 3);
  t.type(outcome.release, 'function');
  outcome.release!();
  t.ok(planes.every((v) => v === 0), 'zeroed by release');
});
