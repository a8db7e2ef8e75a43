// UNets this pipeline cannot feed are refused when the model loads, naming what is wrong, rather than failing
// inside ONNX Runtime on every job: SDXL's (extra text_embeds and time_ids inputs) and inpainting ones (9 channels in).
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { GraphBuilder, serializeModel, tensor } from '../../scripts/fixtures/onnx-builder.js';
import { Unet } from '../../src/pipelines/diffusion/unet.js';

/** A UNet-shaped graph: `sample` passed through to `out_sample`, the other inputs declared and unused. */
async function unetSession(options: { channelsIn?: number; extraInputs?: string[] } = {}): Promise<ort.InferenceSession> {
  const g = new GraphBuilder('unet_shape');
  const channelsIn = options.channelsIn ?? 4;
  g.input('sample', 'float32', ['batch', channelsIn, 'height', 'width']);
  g.input('timestep', 'int64', [1]);
  g.input('encoder_hidden_states', 'float32', ['batch', 77, 8]);
  for (const name of options.extraInputs ?? []) g.input(name, 'float32', ['batch', 6]);
  const ints = (v: number): string => g.constant(tensor('int64', [1], [v]));
  g.node('Slice', ['sample', ints(0), ints(4), ints(1)], ['out_sample']);
  g.output('out_sample', 'float32', ['batch', 4, 'height', 'width']);
  const dir = await mkdtemp(path.join(tmpdir(), 'unet-inputs-'));
  try {
    const file = path.join(dir, 'model.onnx');
    await writeFile(file, serializeModel(g));
    return await ort.InferenceSession.create(file, { logSeverityLevel: 3 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

t.test('a UNet with the inputs of SD 1.x/2.x loads', async (t) => {
  const unet = new Unet(await unetSession());
  t.equal(unet.guidanceEmbeddingDim, null);
  t.equal(unet.sampleRank, 4);
});

t.test('an SDXL UNet (text_embeds, time_ids) is refused, naming the input it cannot feed', async (t) => {
  const session = await unetSession({ extraInputs: ['text_embeds', 'time_ids'] });
  t.throws(() => new Unet(session), /input text_embeds is not one this pipeline feeds/);
});

t.test('an inpainting UNet (9 channels in, 4 out) is refused', async (t) => {
  const session = await unetSession({ channelsIn: 9 });
  t.throws(() => new Unet(session), /sample has 9 channels and out_sample 4; inpainting UNets/);
});
