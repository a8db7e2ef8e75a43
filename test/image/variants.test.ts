import t from 'tap';
import { parseImageInput } from '../../src/pipelines/image/image-input.js';
import { channelMeans, halvesPng, imageHarness, pixels } from './harness.js';

// Each variant differs from tiny-sd in one thing real exports differ in; each must load and draw the prompt.
const VARIANTS = {
  'tiny-sd-ids-int64': 'input_ids declared int64',
  'tiny-sd-timestep-float': 'a float timestep of shape [1]',
  'tiny-sd-timestep-scalar': 'a float scalar timestep',
  'tiny-sd-vae-parameters': 'a VAE encoder that outputs latent_parameters (mean and log-variance)',
  'tiny-sd-vae-variance': 'latent_parameters with a log-variance of −2, whose samples show in the image',
  'tiny-sd-tokenizer-json': 'tokenizer.json instead of vocab.json + merges.txt',
  'tiny-sd-vae-scaling': 'a VAE scaling factor of 0.13025',
  'tiny-sd-fp16': 'float16 inputs and outputs in every graph',
  'tiny-sd-pndm': "SD 1.5's PNDMScheduler config, which runs pndm",
  'tiny-sd-thresholding': 'a scheduler config with thresholding on, which euler does not take',
};

for (const [name, difference] of Object.entries(VARIANTS)) {
  t.test(`${name} (${difference}) loads, draws the prompt and takes an init image`, async (t) => {
    const harness = await imageHarness(name);
    t.teardown(() => harness.close());
    const text = await harness.run({ prompt: 'a red square', width: 128, height: 128, steps: 4, seed: 5 });
    const [r, g, b] = channelMeans((await pixels(text.outputs.get('image-0.png')!.data)).rgb);
    t.ok(r > g + 20 && r > b + 20, `means ${r}, ${g}, ${b}`);
    const init = await halvesPng(128, 128);
    const image = await harness.run({ prompt: 'a photo', width: 128, height: 128, steps: 20, strength: 0.1, guidance_scale: 1, seed: 5, init_image: init.toString('base64') });
    const { rgb } = await pixels(image.outputs.get('image-0.png')!.data);
    const left = rgb.subarray((64 * 128 + 4) * 3, (64 * 128 + 4) * 3 + 3);
    const right = rgb.subarray((64 * 128 + 123) * 3, (64 * 128 + 123) * 3 + 3);
    t.ok(left[2]! > left[0]! + 60 && right[0]! > right[2]! + 60, `left ${[...left]}, right ${[...right]}`);
  });
}

t.test('tiny-sd-thresholding refuses the samplers whose class takes thresholding, naming input.scheduler', async (t) => {
  const harness = await imageHarness('tiny-sd-thresholding');
  t.teardown(() => harness.close());
  for (const scheduler of ['ddim', 'lcm']) {
    t.throws(() => parseImageInput({ prompt: 'a red square', scheduler, steps: 4 }, harness.parseContext()), { field: 'input.scheduler', message: /thresholding true is not implemented/ }, scheduler);
  }
  t.ok(parseImageInput({ prompt: 'a red square', scheduler: 'euler_a', steps: 4 }, harness.parseContext()), 'euler_a does not take it');
});

t.test("tiny-sd-pndm's jobs run pndm unless they name another sampler", async (t) => {
  const harness = await imageHarness('tiny-sd-pndm');
  t.teardown(() => harness.close());
  t.equal((harness.model.metadata.info as { scheduler: string }).scheduler, 'pndm');
  const input = { prompt: 'a red square', width: 64, height: 64, steps: 4, seed: 3 };
  const plain = await harness.run(input);
  t.equal(plain.runs.filter((g) => g === 'unet').length, 5, 'steps + 1 UNet runs');
  t.same(plain.outputs.get('image-0.png')!.data, (await harness.run({ ...input, scheduler: 'pndm' })).outputs.get('image-0.png')!.data);
  t.notSame(plain.outputs.get('image-0.png')!.data, (await harness.run({ ...input, scheduler: 'euler' })).outputs.get('image-0.png')!.data);
});
