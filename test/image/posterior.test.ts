import t from 'tap';
import { halvesPng, imageHarness, meanAbsDiff, pixels } from './harness.js';

// tiny-sd-vae-variance's encoder outputs latent_parameters with a log-variance of −2, so which noise drew an image's
// sample of that distribution shows in its pixels (tiny-sd-vae-parameters' −30 would hide it).
const harness = await imageHarness('tiny-sd-vae-variance');
t.teardown(() => harness.close());
const init = (await halvesPng(64, 64)).toString('base64');
const job = { prompt: 'a photo', width: 64, height: 64, steps: 10, strength: 0.3, guidance_scale: 1, init_image: init };
const image = async (input: Record<string, unknown>, index = 0): Promise<Buffer> =>
  (await harness.run({ ...job, ...input })).outputs.get(`image-${index}.png`)!.data;

t.test("at strength 0 an image is its sample of the encoder's distribution, decoded: another seed, another sample", async (t) => {
  const [a, b] = [await image({ strength: 0, seed: 1 }), await image({ strength: 0, seed: 2 })];
  const diff = meanAbsDiff((await pixels(a)).rgb, (await pixels(b)).rgb);
  t.ok(diff > 1, `mean abs diff ${diff}`);
});

t.test('image i of an image-to-image batch is the image a job with n: 1 and seed + i makes', async (t) => {
  const batch = await harness.run({ ...job, seed: 7, n: 3 });
  for (const i of [0, 1, 2]) t.same(batch.outputs.get(`image-${i}.png`)!.data, await image({ seed: 7 + i }), `image ${i}`);
});
