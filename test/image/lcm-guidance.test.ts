// An LCM distilled with guidance (SimianLuo/LCM_Dreamshaper_v7: unet/config.json time_cond_proj_dim 256) is
// exported by Optimum with a UNet input `timestep_cond` [batch, 256]; diffusers' LatentConsistencyModelPipeline
// feeds it get_guidance_scale_embedding(guidance_scale − 1) and runs no classifier-free guidance.
import t from 'tap';
import { guidanceEmbedding } from '../../src/pipelines/diffusion/guidance.js';
import { channelMeans, imageHarness, pixels } from './harness.js';

// Reference values: numpy, written from get_guidance_scale_embedding's lines in diffusers'
// pipeline_latent_consistency_text2img.py (w × 1000; exp(arange(half) × −ln(10⁴)/(half − 1)); sin ‖ cos; a zero
// pad for an odd width), not from this code, each operation rounded to float32 as torch holds it, exp correctly
// rounded. (numpy's and torch's own float32 exp can be an ulp off, which at w × 1000 = 7000 moves an entry by 2e-4.)
t.test("the guidance embedding is diffusers' get_guidance_scale_embedding", async (t) => {
  const close = (actual: ArrayLike<number>, expected: number[]): void => {
    t.equal(actual.length, expected.length);
    expected.forEach((e, i) => t.ok(Math.abs(actual[i]! - e) < 1e-6, `[${i}] ${actual[i]} ≈ ${e}`));
  };
  close(guidanceEmbedding(7, 16, 1), [
    0.5068854093551636, -0.7069665193557739, 0.902342677116394, -0.06035919114947319, -0.9918175339698792, -0.2971353232860565,
    0.507495641708374, 0.6442176103591919, 0.8620134592056274, 0.7072470188140869, 0.4310193359851837, -0.9981766939163208,
    0.127663716673851, -0.9548353552818298, -0.8616543412208557, 0.7648422122001648,
  ]);
  const wide = guidanceEmbedding(7.5, 256, 2);
  close([0, 1, 127, 128, 255].map((i) => wide[256 + i]!), [-0.8512359261512756, 0.8421311974525452, 0.6816387176513672, -0.5247832536697388, 0.731688916683197]);
  close(guidanceEmbedding(0.5, 5, 1), [-0.4677717983722687, 0.049979161471128464, -0.8838492631912231, 0.9987502694129944, 0]);
});

// The fixture's UNet reads w back from the embedding and draws the prompt's colour at strength clip(w, 0, 1).
t.test('a UNet that takes timestep_cond is fed the embedding of guidance_scale − 1 and runs unguided', async (t) => {
  const harness = await imageHarness('tiny-sd-lcm-guidance');
  t.teardown(() => harness.close());
  const info = harness.model.metadata.info as { scheduler: string; guidance_embedding: boolean };
  t.equal(info.scheduler, 'lcm', 'its LCMScheduler config makes lcm the default');
  t.equal(info.guidance_embedding, true);

  const guided = await harness.run({ prompt: 'a red square', width: 128, height: 128, steps: 4, guidance_scale: 8, seed: 3 });
  const { rgb } = await pixels(guided.outputs.get('image-0.png')!.data);
  const centre = rgb.subarray((64 * 128 + 64) * 3, (64 * 128 + 64) * 3 + 3);
  t.ok(centre[0]! > centre[1]! + 60 && centre[0]! > centre[2]! + 60, `centre ${[...centre]} is red`);

  // guidance_scale 1 embeds w = 0: the fixture then draws nothing but its grey background
  const unguided = await harness.run({ prompt: 'a red square', width: 128, height: 128, steps: 4, guidance_scale: 1, seed: 3 });
  const [r, g, b] = channelMeans((await pixels(unguided.outputs.get('image-0.png')!.data)).rgb);
  t.ok(Math.abs(r - g) < 8 && Math.abs(r - b) < 8, `means ${r}, ${g}, ${b} are grey`);
});

t.test("such a model refuses a negative prompt, as diffusers' LCM pipelines take none", async (t) => {
  const harness = await imageHarness('tiny-sd-lcm-guidance');
  t.teardown(() => harness.close());
  await t.rejects(harness.run({ prompt: 'a red square', negative_prompt: 'blue', steps: 4 }), { name: 'ApiError', field: 'input.negative_prompt' } as never);
});
