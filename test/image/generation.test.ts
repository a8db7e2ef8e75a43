import t from 'tap';
import { channelMeans, halvesPng, imageHarness, meanAbsDiff, pixels } from './harness.js';

const harness = await imageHarness();
t.teardown(() => harness.close());

const base = { width: 128, height: 128, steps: 4, seed: 7 };
const firstImage = async (input: Record<string, unknown>): Promise<Uint8Array> => {
  const job = await harness.run({ ...base, ...input });
  return (await pixels(job.outputs.get('image-0.png')!.data)).rgb;
};

t.test('"a red square" gives an image whose red channel has the highest mean', async (t) => {
  const [r, g, b] = channelMeans(await firstImage({ prompt: 'a red square' }));
  t.ok(r > g + 20 && r > b + 20, `means ${r}, ${g}, ${b}`);
});

t.test('"a blue circle" gives an image whose blue channel has the highest mean', async (t) => {
  const [r, g, b] = channelMeans(await firstImage({ prompt: 'A Blue circle' }));
  t.ok(b > r + 20 && b > g + 20, `means ${r}, ${g}, ${b}`);
});

t.test('the same seed gives the same image bit for bit, and the seed is reported', async (t) => {
  const a = await harness.run({ ...base, prompt: 'a green square', seed: 1234 });
  const b = await harness.run({ ...base, prompt: 'a green square', seed: 1234 });
  t.same(a.outputs.get('image-0.png')!.data, b.outputs.get('image-0.png')!.data);
  t.same(a.seeds, [1234]);
});

t.test('samplers that add noise at every step (euler_a, lcm) repeat bit for bit too', async (t) => {
  for (const scheduler of ['euler_a', 'lcm']) {
    const input = { ...base, prompt: 'a green square', scheduler, seed: 77 };
    t.same((await harness.run(input)).outputs.get('image-0.png')!.data, (await harness.run(input)).outputs.get('image-0.png')!.data, scheduler);
  }
});

t.test('a different seed gives a different image', async (t) => {
  t.notSame(await firstImage({ prompt: 'a green square', seed: 1 }), await firstImage({ prompt: 'a green square', seed: 2 }));
});

t.test('a job without a seed picks one and reports it, so it can be repeated', async (t) => {
  const job = await harness.run({ width: 64, height: 64, steps: 2, prompt: 'a red square' });
  t.equal(job.seeds.length, 1);
  const again = await harness.run({ width: 64, height: 64, steps: 2, prompt: 'a red square', seed: job.seeds[0] });
  t.same(again.outputs.get('image-0.png')!.data, job.outputs.get('image-0.png')!.data);
});

t.test('n images come from one UNet run a step (guidance pair included), image i as if made alone with seed + i', async (t) => {
  const job = await harness.run({ ...base, prompt: 'a yellow square', n: 3, guidance_scale: 5 });
  t.same([...job.outputs.keys()], ['image-0.png', 'image-1.png', 'image-2.png']);
  t.equal(job.runs.filter((g) => g === 'unet').length, 4);
  t.same(job.runs.filter((g) => g !== 'unet'), ['text_encoder', 'vae_decoder']);
  const alone = await harness.run({ ...base, prompt: 'a yellow square', n: 1, guidance_scale: 5, seed: base.seed + 2 });
  t.same(job.outputs.get('image-2.png')!.data, alone.outputs.get('image-0.png')!.data);
});

t.test('every scheduler draws the prompt', async (t) => {
  for (const scheduler of ['euler', 'euler_a', 'ddim', 'lcm', 'pndm']) {
    const [r, g, b] = channelMeans(await firstImage({ prompt: 'a red square', scheduler }));
    t.ok(r > g + 20 && r > b + 20, `${scheduler}: means ${r}, ${g}, ${b}`);
  }
});

t.test('a negative prompt changes the guided image', async (t) => {
  const plain = await firstImage({ prompt: 'a red square', guidance_scale: 3 });
  const negative = await firstImage({ prompt: 'a red square', negative_prompt: 'a blue square', guidance_scale: 3 });
  t.ok(meanAbsDiff(plain, negative) > 5);
});

t.test('a progress event comes after each denoising step', async (t) => {
  const job = await harness.run({ ...base, prompt: 'a red square', steps: 5 });
  t.same(job.events, [1, 2, 3, 4, 5].map((step) => ({ event: 'progress', data: { step, total: 5, stage: 'denoise' } })));
});

t.test('pndm runs the UNet once more than steps, and its first run, which completes no step, reports none', async (t) => {
  const job = await harness.run({ ...base, prompt: 'a red square', steps: 5, scheduler: 'pndm' });
  t.same(job.events, [1, 2, 3, 4, 5].map((step) => ({ event: 'progress', data: { step, total: 5, stage: 'denoise' } })));
  t.equal(job.runs.filter((g) => g === 'unet').length, 6);
  const init = await halvesPng(128, 128);
  const image = await harness.run({ ...base, prompt: 'a red square', scheduler: 'pndm', steps: 4, strength: 0.5, init_image: init.toString('base64') });
  t.same(image.events, [1, 2].map((step) => ({ event: 'progress', data: { step, total: 2, stage: 'denoise' } })), '⌊4 × 0.5⌋ steps');
  t.equal(image.runs.filter((g) => g === 'unet').length, 3);
});

t.test('a cancel stops the job between steps', async (t) => {
  const events: number[] = [];
  await t.rejects(
    harness.run({ ...base, prompt: 'a red square', steps: 10 }, { onEvent: (e, abort) => (events.push((e.data as { step: number }).step), e.event === 'progress' && (e.data as { step: number }).step === 2 && abort()) }),
    { name: 'JobCanceledError' },
  );
  t.same(events, [1, 2]);
});

t.test('image-to-image at low strength keeps the init image', async (t) => {
  const init = await halvesPng(128, 128);
  const original = (await pixels(init)).rgb;
  const input = { prompt: 'a red square', init_image: init.toString('base64'), steps: 20, guidance_scale: 1 };
  const kept = meanAbsDiff(await firstImage({ ...input, strength: 0.2 }), original);
  const redrawn = meanAbsDiff(await firstImage({ ...input, strength: 1 }), original);
  // the blue/yellow halves against a red square on grey: 0 if kept exactly, about 80 if ignored
  t.ok(kept < 35 && kept < redrawn / 2, `mean abs diff ${kept} at strength 0.2, ${redrawn} at strength 1`);
});

t.test('image-to-image at strength 0 gives back the init image, with every sampler that skips steps', async (t) => {
  const init = await halvesPng(128, 128);
  const original = (await pixels(init)).rgb;
  for (const scheduler of ['euler', 'euler_a', 'ddim', 'pndm']) {
    const kept = meanAbsDiff(await firstImage({ prompt: 'a red square', init_image: init.toString('base64'), steps: 10, guidance_scale: 1, scheduler, strength: 0 }), original);
    // the VAE round trip only: ddim's addNoise past its last step made NaN, a black image (a diff of about 130)
    t.ok(kept < 10, `${scheduler}: mean abs diff ${kept}`);
  }
});

t.test('lcm image-to-image runs all its steps, on the timesteps the strength keeps, as diffusers does', async (t) => {
  const init = await halvesPng(128, 128);
  const job = await harness.run({ ...base, prompt: 'a red square', scheduler: 'lcm', steps: 4, strength: 0.5, init_image: init.toString('base64') });
  t.same(job.events, [1, 2, 3, 4].map((step) => ({ event: 'progress', data: { step, total: 4, stage: 'denoise' } })));
  t.equal(job.runs.filter((g) => g === 'unet').length, 4);
});

t.test('image-to-image at strength 1 ignores the init image', async (t) => {
  const init = await halvesPng(128, 128);
  const fromImage = await firstImage({ prompt: 'a red square', init_image: `data:image/png;base64,${init.toString('base64')}`, strength: 1 });
  const fromText = await firstImage({ prompt: 'a red square' });
  t.ok(meanAbsDiff(fromImage, (await pixels(init)).rgb) > 60);
  const [r, g, b] = channelMeans(fromImage);
  t.ok(r > g && r > b, `means ${r}, ${g}, ${b}`);
  t.ok(meanAbsDiff(fromImage, fromText) < 30, `diff from text-to-image ${meanAbsDiff(fromImage, fromText)}`);
});

t.test('an init image from a multipart part is used, resized to the job size', async (t) => {
  const init = await halvesPng(300, 200);
  const job = await harness.run({ ...base, prompt: 'a photo', init_image: 'file:init', strength: 0.1, steps: 20 }, { uploads: { init } });
  const { rgb, width } = await pixels(job.outputs.get('image-0.png')!.data);
  t.equal(width, 128);
  t.ok(rgb[2]! > rgb[0]!, 'the left edge stays blue');
});

t.test('a prompt longer than the text encoder takes is truncated as CLIP does', async (t) => {
  const words = Array.from({ length: 75 }, () => 'red').join(' ');
  const kept = await harness.run({ ...base, prompt: words });
  const longer = await harness.run({ ...base, prompt: `${words} blue blue blue` });
  t.same(kept.outputs.get('image-0.png')!.data, longer.outputs.get('image-0.png')!.data);
  t.same(longer.result, { seed: base.seed, truncated_prompt_tokens: 3 });
});

t.test('jpeg and webp outputs are written with their content types', async (t) => {
  const jpeg = await harness.run({ ...base, prompt: 'a red square', format: 'jpeg', quality: 80 });
  t.equal(jpeg.outputs.get('image-0.jpeg')!.contentType, 'image/jpeg');
  const webp = await harness.run({ ...base, prompt: 'a red square', format: 'webp' });
  t.equal(webp.outputs.get('image-0.webp')!.contentType, 'image/webp');
  const [r, g, b] = channelMeans((await pixels(webp.outputs.get('image-0.webp')!.data)).rgb);
  t.ok(r > g && r > b);
});
